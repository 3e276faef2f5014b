"""Shared pieces of the attacks that read mail with forged tokens from rented servers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from mailhunt.simulate import catalog, ual
from mailhunt.simulate.benign import Tenant, owner_of
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.people import User
from mailhunt.simulate.tokens import Record
from mailhunt.simulate.ual import Actor, Context, FolderRead, Token

TOKEN_REUSE = timedelta(minutes=60)


class ForgedSession:
    """An actor presenting tokens no sign-in issued (a forged signing key), as one client."""

    def __init__(
        self,
        rng: random.Random,
        tenant: Tenant,
        client: catalog.ClientProfile,
        ips: tuple[str, ...],
    ) -> None:
        self.rng = rng
        self.tenant = tenant
        self.client = client
        self.ips = ips
        self.records: list[tuple[datetime, Record]] = []
        self._token: Token | None = None

    def token_at(self, at: datetime) -> Token:
        """A forged token, reused for up to an hour; its session is as unknown as it is."""
        if self._token is None or at - self._token.issued_at > TOKEN_REUSE:
            issued = at - timedelta(minutes=self.rng.randint(1, 10))
            self._token = Token(
                token_id(self.rng),
                new_uuid(self.rng),
                issued,
                self.client.app_id,
                self.client.ual_app_id,
            )
        return self._token

    def access(
        self, victim: User, ip: str, at: datetime, access: str, folders: tuple[FolderRead, ...]
    ) -> None:
        """One MailItemsAccessed on ``victim``'s mailbox, impersonating its owner."""
        ctx = Context(
            record_id=new_uuid(self.rng),
            time=at,
            actor=Actor(victim.upn, victim.user_key, victim.sid),
            owner=owner_of(victim),
            logon_type=0,
            client_ip=render_ip(self.rng, ip),
            client_info=self.client.client_info,
            session_id=new_uuid(self.rng),
            app_id=self.client.ual_app_id,
            client_app_id=self.client.app_id,
            token=self.token_at(at),
        )
        record = ual.mail_items_accessed(
            ctx, self.tenant.tenant_id, self.tenant.domain, access, folders
        )
        self.records.append((at, record))
