"""The injected intrusion: Storm-0558 style mail reading with a forged token.

The attacker holds tokens no sign-in ever issued (their ``UniqueTokenId`` and ``AADSessionId``
match nothing in the sign-in logs), impersonates each mailbox owner (``UserId`` = owner,
``LogonType`` 0), calls Graph or the Outlook REST API from a client application id the tenant
has never seen, from rented servers, and both binds individual messages and syncs whole folders.
The attacker draws from its own ``Random``, so the benign data around it is unchanged.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.benign import Tenant, owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import INBOX, SENT, MailStore, Message
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.people import Cast, User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.tokens import Record
from mailhunt.simulate.ual import Actor, Context, FolderRead, Token

KIND = "forged-token-mail-read"
_TOKEN_LIFETIME = timedelta(minutes=60)


class Attacker:
    """Generates the attacker's MailItemsAccessed records and the ground truth."""

    def __init__(self, seed: int, tenant: Tenant, cast: Cast, store: MailStore) -> None:
        # its own stream, named as before attacks were modules: the demo's records are unchanged
        self.rng = random.Random(f"{seed}/intrusion")
        self.tenant = tenant
        self.cast = cast
        self.store = store
        self.client_app_id = new_uuid(self.rng)
        self.app_id = self.rng.choice((catalog.GRAPH_APP_ID, catalog.EXCHANGE_APP_ID))
        first_ip = catalog.vps_ip(self.rng)
        self.ips = (first_ip,) if self.rng.random() < 0.4 else (first_ip, catalog.vps_ip(self.rng))
        self.records: list[tuple[datetime, Record]] = []
        self.messages: dict[str, None] = {}
        self._token: Token | None = None

    def run(self, day: int) -> Intrusion:
        victims = self._victims(day)
        self._day(victims, day, full=True)
        if day + 1 < self.tenant.days:
            self._day(victims[:2], day + 1, full=False)
        times = [at for at, _ in self.records]
        return Intrusion(
            kind=KIND,
            tenant_id=self.tenant.tenant_id,
            app_id=self.client_app_id,
            client_app_id=self.client_app_id,
            client_ips=self.ips,
            mailboxes=tuple(sorted(victim.upn for victim in victims)),
            record_ids=tuple(record["Id"] for _, record in self.records),
            internet_message_ids=tuple(self.messages),
            first_seen=min(times),
            last_seen=max(times),
        )

    def _victims(self, day: int) -> list[User]:
        """The executive first, then 1-3 others whose mailbox exists by ``day``."""
        executive = self.cast.by_upn(self.cast.personas.executive)
        others = [u for u in self.cast.users if u is not executive and u.start_day <= day]
        picked = self.rng.sample(others, min(len(others), self.rng.randint(1, 3)))
        return [executive, *picked]

    def _token_at(self, at: datetime) -> Token:
        """A forged token: reused for up to an hour, issued by no sign-in."""
        if self._token is None or at - self._token.issued_at > _TOKEN_LIFETIME:
            issued = at - timedelta(minutes=self.rng.randint(1, 10))
            self._token = Token(
                token_id(self.rng), new_uuid(self.rng), issued, self.client_app_id, self.app_id
            )
        return self._token

    def _day(self, victims: list[User], day: int, *, full: bool) -> None:
        at = self.tenant.midnight(day) + timedelta(seconds=self.rng.randint(1_800, 72_000))
        for index, victim in enumerate(victims):
            ip = self.ips[index % len(self.ips)]
            session = new_uuid(self.rng)
            binds = self.rng.randint(2, 5) if full else self.rng.randint(1, 2)
            for _ in range(binds):
                at += timedelta(seconds=self.rng.randint(5, 90))
                self._bind(victim, ip, session, at, day)
            if full and (index == 0 or self.rng.random() < 0.5):
                at += timedelta(seconds=self.rng.randint(5, 60))
                self._sync(victim, ip, session, at)
            at += timedelta(seconds=self.rng.randint(30, 300))

    def _context(self, victim: User, ip: str, session: str, at: datetime) -> Context:
        return Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=Actor(victim.upn, victim.user_key, victim.sid),
            owner=owner_of(victim),
            logon_type=0,
            client_ip=render_ip(self.rng, ip),
            client_info=catalog.REST_CLIENT_INFO,
            session_id=session,
            app_id=self.app_id,
            client_app_id=self.client_app_id,
            token=self._token_at(at),
        )

    def _bind(self, victim: User, ip: str, session: str, at: datetime, day: int) -> None:
        pool = self.store.recent(victim.upn, day, 7, first_day=victim.start_day)
        picked = self.rng.sample(pool, min(len(pool), self.rng.randint(2, 6)))
        by_folder: dict[str, list[Message]] = {}
        for message in picked:
            by_folder.setdefault(message.folder, []).append(message)
            self.messages[message.internet_message_id] = None
        folders = tuple(
            FolderRead(path, self.store.folder_id(victim.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        self._emit(self._context(victim, ip, session, at), "Bind", folders)

    def _sync(self, victim: User, ip: str, session: str, at: datetime) -> None:
        path = self.rng.choice((INBOX, SENT))
        folders = (FolderRead(path, self.store.folder_id(victim.upn, path)),)
        self._emit(self._context(victim, ip, session, at), "Sync", folders)

    def _emit(self, ctx: Context, access: str, folders: tuple[FolderRead, ...]) -> None:
        record = ual.mail_items_accessed(
            ctx, self.tenant.tenant_id, self.tenant.domain, access, folders
        )
        self.records.append((ctx.time, record))


def inject(scene: Scene) -> Intrusion:
    attacker = Attacker(scene.seed, scene.tenant, scene.cast, scene.store)
    intrusion = attacker.run(scene.day)
    scene.sink.ual += attacker.records
    return intrusion


ATTACK = AttackKind(
    name=KIND,
    summary="forged tokens (no sign-in issued them) read the executive's and 1-3 other "
    "mailboxes through a client application the tenant never used, from rented servers",
    inject=inject,
    expected=("mailbox-first-seen-app", "token-without-signin"),
)
