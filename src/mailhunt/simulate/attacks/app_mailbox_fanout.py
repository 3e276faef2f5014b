"""An application reads many mailboxes with its own permission, within an hour or two.

An application the tenant has never used (an illicit consent grant, or a stolen client secret
of an app registration holding Mail.Read application permission) signs in as itself (a
service-principal sign-in from a rented server issues its app-only token: the token is genuine)
and reads 8-12 mailboxes one after another through Graph: a few Binds of recent mail in each,
and a Sync of the Inbox of some. UAL names the application as the actor (UserType 5) and the
records carry no Entra session. A token lives an hour; a longer run signs in again.

References:
https://learn.microsoft.com/graph/auth-limit-mailbox-access
https://learn.microsoft.com/entra/identity/monitoring-health/concept-sign-ins
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.benign import owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import INBOX, Message
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.signins import ServicePrincipal, service_principal_signin
from mailhunt.simulate.tokens import Record
from mailhunt.simulate.ual import Actor, Context, FolderRead, Token

KIND = "app-mailbox-fanout"
APP_ONLY_USER_TYPE = 5  # UserType: Application
_TOKEN_LIFETIME = timedelta(minutes=60)
_NAMES = ("Mail Insights Connector", "Secure Inbox Sync", "DocuFlow Mail Import")
_HOSTING = catalog.Place("Amsterdam", "North Holland", "NL", 52.3676, 4.9041)


class Reader:
    """Writes the application's sign-ins and mail reads and returns the ground truth."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.rng = scene.rng(KIND)
        infra = scene.actor_rng(KIND)
        self.app = ServicePrincipal(
            new_uuid(infra), infra.choice(_NAMES), new_uuid(infra), catalog.vps_ip(infra), _HOSTING
        )
        self.ual: list[tuple[datetime, Record]] = []
        self.signins: list[tuple[datetime, Record]] = []
        self.messages: dict[str, None] = {}
        self.session = new_uuid(self.rng)
        self._token: Token | None = None

    def run(self) -> Intrusion:
        scene = self.scene
        victims = self._victims()
        at = scene.tenant.midnight(scene.day) + timedelta(seconds=self.rng.randint(3_600, 18_000))
        for victim in victims:
            for _ in range(self.rng.randint(1, 3)):
                at += timedelta(seconds=self.rng.randint(20, 120))
                self._bind(victim, at)
            if self.rng.random() < 0.5:
                at += timedelta(seconds=self.rng.randint(10, 60))
                folder = FolderRead(INBOX, scene.store.folder_id(victim.upn, INBOX))
                self._emit(victim, at, "Sync", (folder,))
            at += timedelta(seconds=self.rng.randint(30, 240))
        scene.sink.ual.extend(self.ual)
        for moment, signin in self.signins:
            scene.add_signin(moment, signin, app_only=True)
        times = [moment for moment, _ in self.ual + self.signins]
        return Intrusion(
            kind=KIND,
            tenant_id=scene.tenant.tenant_id,
            app_id=self.app.app_id,
            client_app_id=self.app.app_id,
            client_ips=(self.app.ip,),
            mailboxes=tuple(sorted(victim.upn for victim in victims)),
            record_ids=tuple(r["id"] for _, r in self.signins) + self._ual_ids(),
            internet_message_ids=tuple(self.messages),
            first_seen=min(times),
            last_seen=max(times),
            key_record_ids=self._ual_ids(),
        )

    def _ual_ids(self) -> tuple[str, ...]:
        return tuple(record["Id"] for _, record in self.ual)

    def _victims(self) -> list[User]:
        present = [u for u in self.scene.cast.users if u.start_day <= self.scene.day]
        return self.rng.sample(present, min(len(present), self.rng.randint(8, 12)))

    def _token_at(self, at: datetime) -> Token:
        """The app-only token: a service-principal sign-in issues a new one every hour."""
        if self._token is None or at - self._token.issued_at > _TOKEN_LIFETIME:
            issued = at - timedelta(seconds=self.rng.randint(2, 30))
            self._token = Token(token_id(self.rng), None, issued, self.app.app_id, None)
            tenant_id = self.scene.tenant.tenant_id
            signin = service_principal_signin(
                self.rng, tenant_id, issued, self._token.token_id, self.app
            )
            self.signins.append((issued, signin))
        return self._token

    def _bind(self, victim: User, at: datetime) -> None:
        store = self.scene.store
        pool = store.recent(victim.upn, self.scene.day, 7, first_day=victim.start_day)
        picked = self.rng.sample(pool, min(len(pool), self.rng.randint(2, 6)))
        by_folder: dict[str, list[Message]] = {}
        for message in picked:
            by_folder.setdefault(message.folder, []).append(message)
            self.messages[message.internet_message_id] = None
        folders = tuple(
            FolderRead(path, store.folder_id(victim.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        self._emit(victim, at, "Bind", folders)

    def _emit(
        self, victim: User, at: datetime, access: str, folders: tuple[FolderRead, ...]
    ) -> None:
        ctx = Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=Actor(self.app.name, self.app.app_id, victim.sid, APP_ONLY_USER_TYPE),
            owner=owner_of(victim),
            logon_type=0,
            client_ip=render_ip(self.rng, self.app.ip),
            client_info=catalog.REST_CLIENT_INFO,
            session_id=self.session,
            app_id=catalog.GRAPH_APP_ID,
            client_app_id=self.app.app_id,
            token=self._token_at(at),
        )
        tenant = self.scene.tenant
        record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, access, folders)
        self.ual.append((at, record))


def inject(scene: Scene) -> Intrusion:
    return Reader(scene).run()


ATTACK = AttackKind(
    name=KIND,
    summary="an application new to the tenant, signing in as itself from a rented server, reads "
    "8-12 mailboxes with app-only tokens within an hour or two",
    inject=inject,
    expected=("app-mailbox-fanout", "mailbox-first-seen-app"),
)
