"""Where tokens come from: every token a benign client presents was issued by a sign-in.

``TokenBroker`` keeps one live token per (user, client). A token is reused while it is younger
than its lifetime (60-89 minutes) and the client stays on the same address; otherwise a new
sign-in is recorded (interactive for a first use, a new country, and now and then; otherwise a
non-interactive refresh in the same Entra session) and its ``uniqueTokenIdentifier`` and
``sessionId`` become the ``AppAccessContext`` of the records that follow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from mailhunt.simulate import ual
from mailhunt.simulate.catalog import ClientProfile, Endpoint
from mailhunt.simulate.ids import new_uuid, token_id
from mailhunt.simulate.people import User
from mailhunt.simulate.signins import SignInSpec, user_signin
from mailhunt.simulate.ual import Token

Record = dict[str, Any]


@dataclass
class Sink:
    """Everything generated so far, each record with its time (for sorting into daily files)."""

    ual: list[tuple[datetime, Record]] = field(default_factory=list)
    signins: list[tuple[datetime, Record]] = field(default_factory=list)
    app_signins: list[tuple[datetime, Record]] = field(default_factory=list)


@dataclass(frozen=True)
class _Live:
    token: Token
    expires: datetime
    ip: str
    country: str
    issued_on: date

    def usable(self, at: datetime, ip: str) -> bool:
        """Whether the token is valid at ``at`` and was issued to the same address."""
        return self.token.issued_at <= at < self.expires and ip == self.ip


class TokenBroker:
    """Issues (and records the sign-ins of) the tokens benign clients use."""

    def __init__(self, rng: random.Random, tenant_id: str, sink: Sink) -> None:
        self._rng = rng
        self._tenant_id = tenant_id
        self._sink = sink
        self._live: dict[tuple[str, str], _Live] = {}
        self._sessions: dict[tuple[str, str], str] = {}

    def token(self, user: User, client: ClientProfile, endpoint: Endpoint, at: datetime) -> Token:
        """The token ``user``'s ``client`` presents at ``at`` from ``endpoint``."""
        key = (user.upn, client.key)
        live = self._live.get(key)
        if live is not None and live.usable(at, endpoint.ip):
            return live.token
        interactive = self._interactive(key, live, endpoint, at)
        issued = at - timedelta(seconds=self._rng.randint(2, 40))
        if interactive:
            self._sessions[key] = new_uuid(self._rng)
        spec = SignInSpec(
            issued, user, client, endpoint, self._sessions[key], token_id(self._rng), interactive
        )
        if interactive and self._rng.random() < 0.1:
            self._failed_first(spec)
        self._record(spec)
        token = Token(
            token_id=spec.token_id,
            session_id=spec.session_id,
            issued_at=issued,
            client_app_id=client.app_id if client.ual_app_id is not None else None,
            api_id=client.ual_app_id,
        )
        lifetime = timedelta(minutes=self._rng.randint(60, 89))
        if live is None or issued >= live.token.issued_at:
            self._live[key] = _Live(
                token, issued + lifetime, endpoint.ip, endpoint.place.country, issued.date()
            )
        return token

    def _interactive(
        self, key: tuple[str, str], live: _Live | None, endpoint: Endpoint, at: datetime
    ) -> bool:
        if key not in self._sessions or live is None:
            return True
        if live.country != endpoint.place.country:
            return True
        first_today = live.issued_on != at.date()
        chance = 0.35 if key[1] == "owa" and first_today else 0.03
        return self._rng.random() < chance

    def _failed_first(self, spec: SignInSpec) -> None:
        code = self._rng.choice((50126, 50074, 50140))
        earlier = spec.time - timedelta(seconds=self._rng.randint(20, 120))
        failed = SignInSpec(
            earlier,
            spec.user,
            spec.client,
            spec.endpoint,
            spec.session_id,
            token_id(self._rng),
            True,
            code,
        )
        self._sink.signins.append((earlier, user_signin(self._rng, self._tenant_id, failed)))

    def _record(self, spec: SignInSpec) -> None:
        signin = user_signin(self._rng, self._tenant_id, spec)
        self._sink.signins.append((spec.time, signin))
        if spec.interactive:
            logged = ual.user_logged_in(new_uuid(self._rng), signin)
            self._sink.ual.append((spec.time, logged))
