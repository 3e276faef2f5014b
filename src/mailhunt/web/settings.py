"""What ``mailhunt serve`` was given: the store, where it listens, the token, who writes."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def new_token() -> str:
    """A random access token (32 bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class Settings:
    """The server's settings; ``author`` is who the store's journal says made a change."""

    db: Path
    token: str
    host: str = "127.0.0.1"
    port: int = 8000
    author: str = "web"

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The Host header values accepted: the bound host and port (and, bound to a loopback
        address, the loopback names), so a name an attacker points at 127.0.0.1 is refused."""
        names = {_bracketed(self.host).lower()}
        if _is_loopback(self.host):
            names |= set(LOOPBACK_NAMES)
        hosts = {f"{name}:{self.port}" for name in names}
        if self.port == 80:
            hosts |= names
        return frozenset(hosts)

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.allowed_hosts)

    @property
    def csrf_token(self) -> str:
        """The token every write carries: derived from the access token, so it is the same
        for the server's life and tells nothing of the access token."""
        return hmac.new(self.token.encode(), b"mailhunt-csrf", hashlib.sha256).hexdigest()

    @property
    def cookie_name(self) -> str:
        return f"mailhunt_token_{self.port}"
