"""A second backup product reads every mailbox every night, with its own permission.

A cloud backup service (an app registration holding Mail.Read application permission, its
service principal signing in with a client secret) backs up the tenant each night from
23:00-23:50 UTC, from two addresses of its provider's cloud: every mailbox in turn, with a Sync
of each backed-up folder and Binds of the messages that arrived since the night before (in
batches of up to 20). Each app-only token is issued by a service-principal sign-in and lives an
hour; the night's run signs in again when it needs to. It looks like an application reading
many mailboxes at night, which it is: the same every night, from day 0.

References:
https://learn.microsoft.com/graph/auth-v2-service
https://learn.microsoft.com/entra/identity/monitoring-health/concept-sign-ins
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.benign import owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import DELETED, INBOX, SENT, Message
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.signins import ServicePrincipal, service_principal_signin
from mailhunt.simulate.ual import Actor, Context, FolderRead, Token

NAME = "backup-app"
BACKUP = ServicePrincipal(
    app_id="8c2e4f61-93ab-4d7e-b150-6a2f9c3d8e47",
    name="Cloud Mail Backup",
    object_id="e4a91c37-5b08-4f2d-9c6e-31d7a8b2f095",
    ip="34.89.112.40",
    place=catalog.DATACENTER_PLACE,
)
_SECOND_IP = "34.89.117.203"
_FOLDERS = (INBOX, SENT, DELETED)
_TOKEN_LIFETIME = timedelta(minutes=60)
_BATCH = 20


class _Night:
    """One night's backup run."""

    def __init__(self, scene: Scene, rng: random.Random, day: int) -> None:
        self.scene = scene
        self.rng = rng
        self.day = day
        self.ip = rng.choice((BACKUP.ip, _SECOND_IP))
        self.session = new_uuid(rng)
        self.token: Token | None = None

    def run(self) -> None:
        at = self.scene.tenant.midnight(self.day) + timedelta(
            hours=23, seconds=self.rng.randint(0, 3_000)
        )
        for user in self.scene.cast.users:
            if self.day < user.start_day:
                continue
            for path in _FOLDERS:
                at += timedelta(seconds=self.rng.randint(2, 15))
                folder = (FolderRead(path, self.scene.store.folder_id(user.upn, path)),)
                self._emit(user, at, "Sync", folder)
            new = list(self.scene.store.messages(user.upn, self.day))
            for start in range(0, len(new), _BATCH):
                at += timedelta(seconds=self.rng.randint(3, 20))
                self._bind(user, at, new[start : start + _BATCH])

    def _token_at(self, at: datetime) -> Token:
        if self.token is None or at - self.token.issued_at > _TOKEN_LIFETIME:
            issued = at - timedelta(seconds=self.rng.randint(1, 20))
            self.token = Token(token_id(self.rng), None, issued, BACKUP.app_id, None)
            tenant_id = self.scene.tenant.tenant_id
            signin = service_principal_signin(
                self.rng, tenant_id, issued, self.token.token_id, BACKUP
            )
            signin["ipAddress"] = self.ip
            self.scene.add_signin(issued, signin, app_only=True)
        return self.token

    def _bind(self, user: User, at: datetime, messages: list[Message]) -> None:
        by_folder: dict[str, list[Message]] = {}
        for message in messages:
            by_folder.setdefault(message.folder, []).append(message)
        folders = tuple(
            FolderRead(path, self.scene.store.folder_id(user.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        self._emit(user, at, "Bind", folders)

    def _emit(self, user: User, at: datetime, access: str, folders: tuple[FolderRead, ...]) -> None:
        if at >= self.scene.tenant.midnight(self.scene.tenant.days):
            return  # the run goes on past the simulated period: not in these logs
        ctx = Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=Actor(BACKUP.name, BACKUP.app_id, user.sid, 5),
            owner=owner_of(user),
            logon_type=0,
            client_ip=render_ip(self.rng, self.ip),
            client_info=catalog.REST_CLIENT_INFO,
            session_id=self.session,
            app_id=catalog.GRAPH_APP_ID,
            client_app_id=BACKUP.app_id,
            token=self._token_at(at),
        )
        tenant = self.scene.tenant
        record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, access, folders)
        self.scene.add_ual(at, record)


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    for day in range(scene.tenant.days):
        _Night(scene, rng, day).run()


NOISE = NoiseKind(
    name=NAME,
    summary="a cloud backup product reads every mailbox nightly (23:00 UTC) with app-only tokens "
    "issued by service-principal sign-ins, from its provider's cloud addresses",
    plant=plant,
)
