"""Shared pieces of the noise sources that make users read their own mail: benign clients
whose tokens a ``TokenBroker`` issues (so every access has its sign-in, as in the benign day)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from mailhunt.simulate import ual
from mailhunt.simulate.benign import actor_of, owner_of
from mailhunt.simulate.catalog import ClientProfile, Endpoint
from mailhunt.simulate.ids import new_uuid, render_ip
from mailhunt.simulate.mailstore import Message
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.tokens import TokenBroker
from mailhunt.simulate.ual import Context, FolderRead


class OwnReader:
    """Writes a user's own mail access through their own clients, tokens from sign-ins."""

    def __init__(self, scene: Scene, rng: random.Random) -> None:
        self.scene = scene
        self.rng = rng
        self.broker = TokenBroker(rng, scene.tenant.tenant_id, scene.sink)

    def context(
        self, user: User, client: ClientProfile, endpoint: Endpoint, at: datetime
    ) -> Context:
        return Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=actor_of(user),
            owner=owner_of(user),
            logon_type=0,
            client_ip=render_ip(self.rng, endpoint.ip),
            client_info=client.client_info,
            session_id=new_uuid(self.rng),
            app_id=client.ual_app_id,
            client_app_id=client.app_id if client.ual_app_id is not None else None,
            token=self.broker.token(user, client, endpoint, at),
        )

    def emit(self, ctx: Context, access: str, folders: tuple[FolderRead, ...]) -> None:
        tenant = self.scene.tenant
        record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, access, folders)
        self.scene.add_ual(ctx.time, record)

    def bind(
        self, user: User, client: ClientProfile, endpoint: Endpoint, at: datetime, day: int
    ) -> None:
        """Read 1-4 recent messages."""
        store = self.scene.store
        pool = store.recent(user.upn, day, 2, first_day=user.start_day)
        picked = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 4)))
        by_folder: dict[str, list[Message]] = {}
        for message in picked:
            by_folder.setdefault(message.folder, []).append(message)
        folders = tuple(
            FolderRead(path, store.folder_id(user.upn, path), tuple(items))
            for path, items in sorted(by_folder.items())
        )
        if folders:
            self.emit(self.context(user, client, endpoint, at), "Bind", folders)

    def sync(
        self,
        user: User,
        client: ClientProfile,
        endpoint: Endpoint,
        at: datetime,
        paths: tuple[str, ...],
    ) -> datetime:
        """Sync whole folders, one record each; returns the time of the last."""
        for path in paths:
            at += timedelta(seconds=self.rng.randint(2, 30))
            folder = FolderRead(path, self.scene.store.folder_id(user.upn, path))
            self.emit(self.context(user, client, endpoint, at), "Sync", (folder,))
        return at
