"""One actor reads mail in several tenants with forged tokens, from the same infrastructure.

The actor of a campaign (its infrastructure drawn from ``Scene.actor_rng``, so every tenant
simulated with the same campaign seed sees the same) rents three servers in one /24 of a
hosting provider and runs one tool: a client application id no tenant registered, calling
Exchange Web Services, whose ClientInfoString carries the tool's user agent. In each tenant
(its own choices from ``Scene.rng``) it reads one or two mailboxes, the executive's first, with
tokens no sign-in issued (forged, as Storm-0558's were: the token's UniqueTokenId and
AADSessionId match no sign-in), from one or two of its servers: a few Binds of recent mail and
a Sync of a folder, on the attack day. Each tenant alone sees a small forged-token read; only
side by side do the tenants show one actor (``cross-tenant-campaign``).

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.benign import owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import INBOX, SENT, Message
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.tokens import Record
from mailhunt.simulate.ual import Actor, Context, FolderRead, Token

KIND = "cross-tenant-campaign"
_TOKEN_LIFETIME = timedelta(minutes=60)
# /16s of a hosting provider renting virtual servers by the hour (Vultr's, as catalog.vps_ip).
_HOSTING = ("45.32", "45.63", "66.42", "108.61", "155.138")
# The tool's user agent, carried in the EWS ClientInfoString ("Client=WebServices;<agent>;").
_AGENTS = (
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "ExchangeServicesClient/15.00.0913.015",
    "curl/8.4.0",
)


class _Infrastructure:
    """What every tenant of the campaign sees: addresses, application, client string."""

    def __init__(self, scene: Scene) -> None:
        infra = scene.actor_rng(KIND)
        network = f"{infra.choice(_HOSTING)}.{infra.randint(0, 255)}"
        hosts = infra.sample(range(2, 254), 3)
        self.ips = tuple(f"{network}.{host}" for host in hosts)
        self.client_app_id = new_uuid(infra)
        self.client_info = f"Client=WebServices;{infra.choice(_AGENTS)};"


class CampaignReader:
    """One tenant's part of the campaign: its reads and their ground truth."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.rng = scene.rng(KIND)
        self.infra = _Infrastructure(scene)
        count = self.rng.randint(1, 2)
        self.ips = tuple(self.rng.sample(self.infra.ips, count))
        self.records: list[tuple[datetime, Record]] = []
        self.messages: dict[str, None] = {}
        self._token: Token | None = None

    def run(self) -> Intrusion:
        victims = self._victims()
        day = self.scene.day
        at = self.scene.tenant.midnight(day) + timedelta(seconds=self.rng.randint(600, 28_800))
        for index, victim in enumerate(victims):
            ip = self.ips[index % len(self.ips)]
            session = new_uuid(self.rng)
            for _ in range(self.rng.randint(2, 4)):
                at += timedelta(seconds=self.rng.randint(5, 90))
                self._bind(victim, ip, session, at)
            at += timedelta(seconds=self.rng.randint(5, 60))
            path = self.rng.choice((INBOX, SENT))
            folder = FolderRead(path, self.scene.store.folder_id(victim.upn, path))
            self._emit(self._context(victim, ip, session, at), "Sync", (folder,))
            at += timedelta(seconds=self.rng.randint(60, 600))
        self.scene.sink.ual.extend(self.records)
        times = [moment for moment, _ in self.records]
        ids = tuple(record["Id"] for _, record in self.records)
        return Intrusion(
            kind=KIND,
            tenant_id=self.scene.tenant.tenant_id,
            app_id=self.infra.client_app_id,
            client_app_id=self.infra.client_app_id,
            client_ips=self.ips,
            mailboxes=tuple(sorted(victim.upn for victim in victims)),
            record_ids=ids,
            internet_message_ids=tuple(self.messages),
            first_seen=min(times),
            last_seen=max(times),
            key_record_ids=ids,
        )

    def _victims(self) -> list[User]:
        """The executive, and sometimes one other whose mailbox exists by the attack day."""
        cast, day = self.scene.cast, self.scene.day
        executive = cast.by_upn(cast.personas.executive)
        others = [u for u in cast.users if u is not executive and u.start_day <= day]
        if others and self.rng.random() < 0.5:
            return [executive, self.rng.choice(others)]
        return [executive]

    def _token_at(self, at: datetime) -> Token:
        """A forged token: reused for up to an hour, issued by no sign-in."""
        if self._token is None or at - self._token.issued_at > _TOKEN_LIFETIME:
            issued = at - timedelta(minutes=self.rng.randint(1, 10))
            self._token = Token(
                token_id(self.rng),
                new_uuid(self.rng),
                issued,
                self.infra.client_app_id,
                catalog.EXCHANGE_APP_ID,
            )
        return self._token

    def _context(self, victim: User, ip: str, session: str, at: datetime) -> Context:
        return Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=Actor(victim.upn, victim.user_key, victim.sid),
            owner=owner_of(victim),
            logon_type=0,
            client_ip=render_ip(self.rng, ip),
            client_info=self.infra.client_info,
            session_id=session,
            app_id=catalog.EXCHANGE_APP_ID,
            client_app_id=self.infra.client_app_id,
            token=self._token_at(at),
        )

    def _bind(self, victim: User, ip: str, session: str, at: datetime) -> None:
        store = self.scene.store
        pool = store.recent(victim.upn, self.scene.day, 7, first_day=victim.start_day)
        picked = self.rng.sample(pool, min(len(pool), self.rng.randint(2, 5)))
        by_folder: dict[str, list[Message]] = {}
        for message in picked:
            by_folder.setdefault(message.folder, []).append(message)
            self.messages[message.internet_message_id] = None
        folders = tuple(
            FolderRead(path, store.folder_id(victim.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        self._emit(self._context(victim, ip, session, at), "Bind", folders)

    def _emit(self, ctx: Context, access: str, folders: tuple[FolderRead, ...]) -> None:
        tenant = self.scene.tenant
        record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, access, folders)
        self.records.append((ctx.time, record))


def inject(scene: Scene) -> Intrusion:
    return CampaignReader(scene).run()


ATTACK = AttackKind(
    name=KIND,
    summary="one actor, from three servers of one hosting /24 and one tool (an unregistered "
    "client application id calling EWS), reads 1-2 mailboxes per tenant with forged tokens",
    inject=inject,
    expected=("cross-tenant-campaign", "token-without-signin", "mailbox-first-seen-app"),
    single_tenant=False,
)
