"""Theft that trips MailItemsAccessed throttling: one mailbox read so fast its audit goes blind.

The attacker holds a forged token (no sign-in issued it: its ``UniqueTokenId`` and
``AADSessionId`` match nothing in the sign-in logs), impersonates the owner of one mailbox
(``UserId`` = owner, ``LogonType`` 0) and, from 00:15-01:30 UTC (Storm-0558's working hours),
pulls its mail through Graph from a rented server: Bind records every 6-20 seconds, each
listing 1-5 messages from the mailbox's last eight months, newest first.

Exchange Online audits at most 1,000 MailItemsAccessed records of a mailbox in 24 hours: the
record that passes the limit carries ``IsThrottled`` True in its OperationProperties, and for
the next 24 hours no Bind of that mailbox is audited, by anyone (the owner's own reads vanish
from the log too: they are removed from the tenant here); Sync records go on. So after the
throttled record the log shows only the attacker's Syncs of whole folders, though its reading
goes on unseen.

Reference: https://learn.microsoft.com/purview/audit-log-investigate-accounts (throttling of
MailItemsAccessed audit records).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.benign import actor_of, owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import DELETED, INBOX, SENT, Message
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.tokens import Record
from mailhunt.simulate.ual import Context, FolderRead, Token

KIND = "throttled-theft"
THROTTLE_LIMIT = 1_000  # MailItemsAccessed records per mailbox in 24 hours
BLIND = timedelta(hours=24)
_TOKEN_LIFETIME = timedelta(minutes=60)
_HISTORY_DAYS = 240
_SYNCED = (INBOX, SENT, "\\Archive", "\\Inbox\\Projects", DELETED)


class Thief:
    """Writes the attacker's records for one victim mailbox and returns the ground truth."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.rng = scene.rng(KIND)
        infra = scene.actor_rng(KIND)
        self.client_app_id = new_uuid(infra)
        self.ip = catalog.vps_ip(infra)
        self.session = new_uuid(self.rng)
        self.records: list[tuple[datetime, Record]] = []
        self.messages: dict[str, None] = {}
        self._token: Token | None = None
        self._exchange_session = new_uuid(self.rng)

    def run(self) -> Intrusion:
        scene = self.scene
        victim = self._victim()
        at = scene.tenant.midnight(scene.day) + timedelta(seconds=self.rng.randint(900, 5_400))
        audited = self._audited_before(victim, at)
        pool = self._pool(victim)
        throttled_at: datetime | None = None
        while pool and throttled_at is None:
            batch = [pool.pop() for _ in range(min(len(pool), self.rng.randint(1, 5)))]
            audited += 1
            throttled = audited > THROTTLE_LIMIT
            self._bind(victim, at, batch, throttled=throttled)
            throttled_at = at if throttled else None
            at += timedelta(seconds=self.rng.randint(6, 20))
        if throttled_at is not None:
            self._blind(victim, throttled_at)
            for path in _SYNCED:  # the reading goes on; only the folder syncs are audited
                at += timedelta(seconds=self.rng.randint(60, 600))
                self._emit(victim, at, "Sync", (FolderRead(path, self._folder(victim, path)),))
        scene.sink.ual.extend(self.records)
        times = [moment for moment, _ in self.records]
        return Intrusion(
            kind=KIND,
            tenant_id=scene.tenant.tenant_id,
            app_id=self.client_app_id,
            client_app_id=self.client_app_id,
            client_ips=(self.ip,),
            mailboxes=(victim.upn,),
            record_ids=tuple(record["Id"] for _, record in self.records),
            internet_message_ids=tuple(self.messages),
            first_seen=min(times),
            last_seen=max(times),
        )

    def _victim(self) -> User:
        """Someone with a full history: not the executive, not a new starter."""
        cast = self.scene.cast
        candidates = [u for u in cast.users[1:] if u.start_day == 0]
        return self.rng.choice(candidates or list(cast.users))

    def _audited_before(self, victim: User, at: datetime) -> int:
        """MailItemsAccessed records of the victim's mailbox already audited in the 24 hours
        before ``at`` (they count towards the throttling limit)."""
        return sum(
            1
            for moment, record in self.scene.sink.ual
            if at - BLIND <= moment < at
            and record.get("Operation") == "MailItemsAccessed"
            and record.get("MailboxOwnerUPN") == victim.upn
        )

    def _pool(self, victim: User) -> list[Message]:
        """The mailbox's mail of the last eight months, oldest first (popped newest first)."""
        store, day = self.scene.store, self.scene.day
        return [
            m for d in range(day - _HISTORY_DAYS, day + 1) for m in store.messages(victim.upn, d)
        ]

    def _folder(self, victim: User, path: str) -> str:
        return self.scene.store.folder_id(victim.upn, path)

    def _token_at(self, at: datetime) -> Token:
        if self._token is None or at - self._token.issued_at > _TOKEN_LIFETIME:
            issued = at - timedelta(minutes=self.rng.randint(1, 5))
            self._token = Token(
                token_id(self.rng), self.session, issued, self.client_app_id, catalog.GRAPH_APP_ID
            )
            self._exchange_session = new_uuid(self.rng)
        return self._token

    def _bind(self, victim: User, at: datetime, batch: list[Message], *, throttled: bool) -> None:
        by_folder: dict[str, list[Message]] = {}
        for message in batch:
            by_folder.setdefault(message.folder, []).append(message)
            self.messages[message.internet_message_id] = None
        folders = tuple(
            FolderRead(path, self._folder(victim, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        self._emit(victim, at, "Bind", folders, throttled=throttled)

    def _emit(
        self,
        victim: User,
        at: datetime,
        access: str,
        folders: tuple[FolderRead, ...],
        *,
        throttled: bool = False,
    ) -> None:
        token = self._token_at(at)
        ctx = Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=actor_of(victim),
            owner=owner_of(victim),
            logon_type=0,
            client_ip=render_ip(self.rng, self.ip),
            client_info=catalog.REST_CLIENT_INFO,
            session_id=self._exchange_session,
            app_id=catalog.GRAPH_APP_ID,
            client_app_id=self.client_app_id,
            token=token,
        )
        tenant = self.scene.tenant
        record = ual.mail_items_accessed(
            ctx, tenant.tenant_id, tenant.domain, access, folders, throttled=throttled
        )
        self.records.append((at, record))

    def _blind(self, victim: User, since: datetime) -> None:
        """No Bind of the victim's mailbox is audited for 24 hours: drop the tenant's own."""
        sink = self.scene.sink
        sink.ual[:] = [
            (moment, record)
            for moment, record in sink.ual
            if not (since < moment < since + BLIND and _is_bind_of(record, victim.upn))
        ]


def _is_bind_of(record: Record, upn: str) -> bool:
    if record.get("Operation") != "MailItemsAccessed" or record.get("MailboxOwnerUPN") != upn:
        return False
    properties = {p.get("Name"): p.get("Value") for p in record.get("OperationProperties", ())}
    return properties.get("MailAccessType") == "Bind"


def inject(scene: Scene) -> Intrusion:
    return Thief(scene).run()


ATTACK = AttackKind(
    name=KIND,
    summary="a forged token pulls one mailbox's mail through Graph at night until Exchange "
    "throttles its MailItemsAccessed auditing (IsThrottled): 24 hours of Bind go unaudited",
    inject=inject,
    expected=(
        "throttled-blind-window",
        "mail-read-volume-anomaly",
        "token-without-signin",
        "mailbox-first-seen-app",
    ),
)
