"""Benign activity: people reading and sending mail, delegates, an admin script, an archiver.

Everything here draws from one ``Random`` that the intrusion never touches, so the benign data
is the same whether or not an intrusion is injected.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.catalog import CLIENTS, ClientProfile, Endpoint
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import DELETED, INBOX, SENT, MailStore, Message
from mailhunt.simulate.people import Cast, User
from mailhunt.simulate.signins import app_signin
from mailhunt.simulate.tokens import Sink, TokenBroker
from mailhunt.simulate.ual import Actor, Context, FolderRead, Owner, Token

_CLIENT_WEIGHTS = {"desktop": 0.6, "owa": 0.25, "mobile": 0.3}


@dataclass(frozen=True)
class Tenant:
    """The fixed facts of the tenant being simulated."""

    tenant_id: str
    domain: str
    first_day: date
    days: int

    def midnight(self, day: int) -> datetime:
        moment = datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC)
        return moment + timedelta(days=day)

    def weekend(self, day: int) -> bool:
        return (self.first_day + timedelta(days=day)).weekday() >= 5


def owner_of(user: User) -> Owner:
    """The mailbox of ``user``."""
    return Owner(user.upn, user.mailbox_guid, user.sid, user.server)


def actor_of(user: User) -> Actor:
    """``user`` as the actor of a record."""
    return Actor(user.upn, user.user_key, user.sid)


@dataclass(frozen=True)
class _Visit:
    """Who opens which mailbox, with which client, from where, with which LogonType."""

    user: User
    owner: User
    client: ClientProfile
    endpoint: Endpoint
    logon_type: int = 0


@dataclass(frozen=True)
class _Step:
    """One planned piece of a user's day: ``kind`` is own, delegate, script or a rule name."""

    at: datetime
    order: int
    kind: str
    visit: _Visit


class BenignActivity:
    """Generates the whole benign tenant into a ``Sink``."""

    def __init__(self, seed: int, tenant: Tenant, cast: Cast, store: MailStore) -> None:
        self.rng = random.Random(f"{seed}/benign")
        self.tenant = tenant
        self.cast = cast
        self.store = store
        self.sink = Sink()
        self.broker = TokenBroker(self.rng, tenant.tenant_id, self.sink)
        self.travel = Endpoint(catalog.travel_ip(self.rng), catalog.TRAVEL_PLACE)
        self._exchange_sessions: dict[tuple[str, str, int], str] = {}
        self._rules = self._plan_rules()

    def run(self) -> Sink:
        for day in range(self.tenant.days):
            self._archiver_night(day)
            for user in self.cast.users:
                self._user_day(user, day)
        return self.sink

    # -- planning -----------------------------------------------------------------------------

    def _plan_rules(self) -> dict[tuple[str, int], str]:
        """A few ordinary users create an inbox rule once."""
        ordinary = self.cast.users[6:-1] or self.cast.users[1:2]
        picks = self.rng.sample(ordinary, min(3, len(ordinary)))
        names = ("Newsletters", "Move vendor mail", "Notifications")
        return {
            (user.upn, self.rng.randrange(self.tenant.days)): name
            for user, name in zip(picks, names, strict=False)
        }

    def _endpoint(self, user: User, day: int) -> Endpoint:
        if user.upn == self.cast.personas.traveller and day in self.cast.personas.travel_days:
            return self.travel
        if not self.tenant.weekend(day) and self.rng.random() < user.office_ratio:
            return user.office
        return user.home

    def _active(self, user: User, day: int) -> bool:
        if day in (user.start_day, user.mobile_from_day):
            return True
        return self.rng.random() < (0.2 if self.tenant.weekend(day) else 0.93)

    def _burst_times(self, user: User, day: int) -> list[datetime]:
        midnight = self.tenant.midnight(day)
        if self.tenant.weekend(day):
            hours = [self.rng.uniform(9.0, 20.0) for _ in range(self.rng.randint(1, 2))]
        else:
            count = self.rng.randint(3, 6)
            hours = [user.start_hour + self.rng.uniform(0.0, 9.5) for _ in range(count)]
        return [midnight + timedelta(seconds=int(h * 3600)) for h in sorted(hours)]

    def _pick_client(self, user: User, day: int, first: bool) -> ClientProfile:
        if first and day > 0 and day == user.mobile_from_day and user.uses("mobile", day):
            return CLIENTS["mobile"]
        keys = [key for key in _CLIENT_WEIGHTS if user.uses(key, day)]
        weights = [_CLIENT_WEIGHTS[key] for key in keys]
        return CLIENTS[self.rng.choices(keys, weights)[0]]

    # -- one user's day -----------------------------------------------------------------------

    def _user_day(self, user: User, day: int) -> None:
        """Plan the user's day, then play it in time order (tokens are issued as time goes)."""
        if day < user.start_day or not self._active(user, day):
            return
        endpoint = self._endpoint(user, day)
        times = self._burst_times(user, day)
        plan: list[_Step] = []
        for index, at in enumerate(times):
            client = self._pick_client(user, day, index == 0)
            where = endpoint
            if client.key == "mobile" and endpoint is not self.travel and self.rng.random() < 0.5:
                where = user.phone_net
            plan.append(_Step(at, len(plan), "own", _Visit(user, user, client, where)))
        plan += self._extras(user, day, endpoint, times[0], len(plan))
        for step in sorted(plan, key=lambda s: (s.at, s.order)):
            self._play(step, day)

    def _extras(
        self, user: User, day: int, endpoint: Endpoint, first: datetime, order: int
    ) -> list[_Step]:
        personas = self.cast.personas
        weekday = not self.tenant.weekend(day)
        steps: list[_Step] = []
        if user.upn in personas.delegates and (day == 0 or (weekday and self.rng.random() < 0.75)):
            at = self._later(first, self.rng.randint(20, 300), day)
            keys = [key for key in ("desktop", "owa") if user.uses(key, day)]
            client = CLIENTS[self.rng.choice(keys)]
            manager = self.cast.by_upn(personas.executive)
            visit = _Visit(user, manager, client, endpoint, 2)
            steps.append(_Step(at, order + 1, "delegate", visit))
        if user.upn == personas.graph_cli_user and weekday and self.rng.random() < 0.35:
            at = self._later(first, self.rng.randint(30, 400), day)
            visit = _Visit(user, user, CLIENTS["graph-cli"], endpoint)
            steps.append(_Step(at, order + 2, "script", visit))
        rule = self._rules.get((user.upn, day))
        if rule is not None:
            visit = _Visit(user, user, CLIENTS["owa"], endpoint)
            steps.append(_Step(first + timedelta(minutes=7), order + 3, rule, visit))
        return steps

    def _play(self, step: _Step, day: int) -> None:
        if step.kind == "own":
            self._own_burst(step.visit, step.at, day)
        elif step.kind in ("delegate", "script"):
            self._reads(step.visit, step.at, day)
        else:
            self._inbox_rule(step.visit, step.at, step.kind)

    def _later(self, first: datetime, minutes: int, day: int) -> datetime:
        """``minutes`` after ``first``, but early enough for the activity to end the same day."""
        latest = self.tenant.midnight(day) + timedelta(hours=22)
        return min(first + timedelta(minutes=minutes), latest)

    def _exchange_session(self, user: User, client: ClientProfile, ordinal: int) -> str:
        key = (user.upn, client.key, ordinal)
        if key not in self._exchange_sessions:
            self._exchange_sessions[key] = new_uuid(self.rng)
        return self._exchange_sessions[key]

    def _context(self, visit: _Visit, at: datetime) -> Context:
        user, client, endpoint = visit.user, visit.client, visit.endpoint
        token: Token | None = self.broker.token(user, client, endpoint, at)
        if client.ual_app_id is None and self.rng.random() < 0.15:
            token = None  # some Outlook desktop records carry no AppAccessContext
        return Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=actor_of(user),
            owner=owner_of(visit.owner),
            logon_type=visit.logon_type,
            client_ip=render_ip(self.rng, endpoint.ip),
            client_info=client.client_info,
            session_id=self._exchange_session(user, client, at.date().toordinal()),
            app_id=client.ual_app_id,
            client_app_id=client.app_id if client.ual_app_id is not None else None,
            token=token,
        )

    def _own_burst(self, visit: _Visit, at: datetime, day: int) -> None:
        at = self._reads(visit, at, day)
        if self.rng.random() < 0.12:
            at += timedelta(seconds=self.rng.randint(5, 90))
            self._delete(visit, at, day)
        if self.rng.random() < 0.35:
            at += timedelta(seconds=self.rng.randint(30, 600))
            self._send(visit, at, day)

    def _reads(self, visit: _Visit, at: datetime, day: int) -> datetime:
        """1-4 MailItemsAccessed records; returns the time of the last one."""
        for _ in range(self.rng.randint(1, 4)):
            at += timedelta(seconds=self.rng.randint(20, 600))
            ctx = self._context(visit, at)
            access, folders = self._what_read(visit.owner, visit.client, day)
            record = ual.mail_items_accessed(
                ctx, self.tenant.tenant_id, self.tenant.domain, access, folders
            )
            self.sink.ual.append((at, record))
        return at

    def _what_read(
        self, owner: User, client: ClientProfile, day: int
    ) -> tuple[str, tuple[FolderRead, ...]]:
        if client.key in ("desktop", "mobile") and self.rng.random() < 0.15:
            return "Sync", (FolderRead(INBOX, self.store.folder_id(owner.upn, INBOX)),)
        pool = self.store.recent(owner.upn, day, 2, first_day=owner.start_day)
        picked = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 4)))
        by_folder: dict[str, list[Message]] = {}
        for message in picked:
            by_folder.setdefault(message.folder, []).append(message)
        folders = tuple(
            FolderRead(path, self.store.folder_id(owner.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        return "Bind", folders

    def _send(self, visit: _Visit, at: datetime, day: int) -> None:
        user = visit.user
        sent = [m for m in self.store.messages(user.upn, day) if m.folder == SENT]
        if not sent:
            return
        ctx = self._context(visit, at)
        message = self.rng.choice(sent)
        folder_id = self.store.folder_id(user.upn, SENT)
        record = ual.send(ctx, self.tenant.tenant_id, self.tenant.domain, message, folder_id)
        self.sink.ual.append((at, record))

    def _delete(self, visit: _Visit, at: datetime, day: int) -> None:
        user = visit.user
        inbox = [m for m in self.store.messages(user.upn, day) if m.folder == INBOX]
        if not inbox:
            return
        ctx = self._context(visit, at)
        folder_id = self.store.folder_id(user.upn, INBOX)
        picked = self.rng.sample(inbox, min(len(inbox), self.rng.randint(1, 3)))
        items = tuple((message, folder_id) for message in picked)
        deleted = self.store.folder_id(user.upn, DELETED)
        record = ual.move_to_deleted(ctx, self.tenant.tenant_id, self.tenant.domain, items, deleted)
        self.sink.ual.append((at, record))

    def _inbox_rule(self, visit: _Visit, at: datetime, rule: str) -> None:
        ctx = self._context(visit, at)
        sender = f"news@{self.rng.choice(catalog.EXTERNAL_DOMAINS)}"
        record = ual.new_inbox_rule(ctx, self.tenant.tenant_id, self.tenant.domain, rule, sender)
        self.sink.ual.append((at, record))

    # -- the nightly archiver -----------------------------------------------------------------

    def _archiver_night(self, day: int) -> None:
        """App-only Sync of Inbox and Sent Items of every mailbox, with one app sign-in."""
        issued = self.tenant.midnight(day) + timedelta(hours=2, seconds=self.rng.randint(0, 900))
        token = Token(
            token_id(self.rng), None, issued, catalog.ARCHIVER_APP_ID, catalog.GRAPH_APP_ID
        )
        signin = app_signin(self.rng, self.tenant.tenant_id, issued, token.token_id)
        self.sink.app_signins.append((issued, signin))
        session = new_uuid(self.rng)
        at = issued
        for user in self.cast.users:
            if day < user.start_day:
                continue
            at += timedelta(seconds=self.rng.randint(3, 40))
            self._archive_mailbox(user, at, token, session)

    def _archive_mailbox(self, user: User, at: datetime, token: Token, session: str) -> None:
        actor = Actor(catalog.ARCHIVER_NAME, catalog.ARCHIVER_APP_ID, user.sid, 5)
        ctx = Context(
            new_uuid(self.rng),
            at,
            actor,
            owner_of(user),
            0,
            render_ip(self.rng, catalog.ARCHIVER_IP),
            catalog.REST_CLIENT_INFO,
            session,
            catalog.GRAPH_APP_ID,
            catalog.ARCHIVER_APP_ID,
            token,
        )
        folders = tuple(
            FolderRead(path, self.store.folder_id(user.upn, path)) for path in (INBOX, SENT)
        )
        record = ual.mail_items_accessed(
            ctx, self.tenant.tenant_id, self.tenant.domain, "Sync", folders
        )
        self.sink.ual.append((at, record))
