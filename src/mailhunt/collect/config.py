"""What to collect from whom: ``[collect]`` and ``[[collect.tenants]]`` in ``mailhunt.toml``,
or one tenant from environment variables.

::

    [collect]
    land = "landed"            # where raw content is kept (the records' evidence files)
    lookback_hours = 24        # Graph windows listed again for late sign-ins
    # endpoint = "http://127.0.0.1:8400"   # the local emulator (loopback only)

    [[collect.tenants]]
    name = "contoso"
    tenant_id = "00000000-0000-0000-0000-000000000000"
    client_id = "11111111-1111-1111-1111-111111111111"
    cloud = "global"           # global, gcc, gcc-high, dod
    client_secret_env = "CONTOSO_SECRET"      # or: certificate = "app.pem", thumbprint = "AB12.."
    feeds = ["Audit.Exchange", "Audit.AzureActiveDirectory", "Audit.General", "signins",
             "signins-noninteractive", "signins-serviceprincipal", "directory-audits"]

Environment (one tenant, when the file names none): MAILHUNT_TENANT_ID, MAILHUNT_CLIENT_ID,
MAILHUNT_CLIENT_SECRET or MAILHUNT_CERTIFICATE + MAILHUNT_THUMBPRINT, MAILHUNT_CLOUD,
MAILHUNT_ENDPOINT. A secret is held as :class:`Secret`, whose text is never its value.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mailhunt.collect.clouds import CLOUDS, Cloud
from mailhunt.errors import InputError

ACTIVITY_FEEDS = (
    "Audit.Exchange",
    "Audit.AzureActiveDirectory",
    "Audit.General",
    "Audit.SharePoint",
)
GRAPH_FEEDS = ("signins", "signins-noninteractive", "signins-serviceprincipal", "directory-audits")
DEFAULT_FEEDS = (*ACTIVITY_FEEDS[:3], *GRAPH_FEEDS)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


class Secret:
    """A credential: its text (str, repr, f-strings, logs) never shows the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class TenantConfig:
    """One tenant to collect from: its app registration, its cloud, its feeds."""

    name: str
    tenant_id: str
    client_id: str
    cloud: Cloud
    secret: Secret | None = None
    certificate_pem: Secret | None = None
    thumbprint: str | None = None
    publisher_id: str | None = None  # PublisherIdentifier (default: the tenant id)
    feeds: tuple[str, ...] = DEFAULT_FEEDS

    @property
    def publisher(self) -> str:
        return self.publisher_id or self.tenant_id

    def secrets(self) -> list[str]:
        """The values that must never be shown (for redaction)."""
        return [s.reveal() for s in (self.secret, self.certificate_pem) if s is not None]


@dataclass(frozen=True)
class CollectConfig:
    tenants: tuple[TenantConfig, ...]
    land: Path = Path("landed")
    lookback_hours: float = 24.0
    endpoint: str | None = None  # every cloud host answered by this address (the emulator)
    source: str = "environment"
    extra: Mapping[str, Any] = field(default_factory=dict)


def load(path: Path | None, environ: Mapping[str, str] = os.environ) -> CollectConfig:
    """The configuration from `path` (its [collect] section), else from the environment; a bad
    value is an InputError naming it (never its secret)."""
    section: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as stream:
                section = tomllib.load(stream).get("collect", {})
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"{path}: not valid TOML: {error}") from None
    where = str(path) if path else "environment"
    tables = section.get("tenants") or []
    tenants = tuple(_tenant(t, environ, f"{where}: tenant {n + 1}") for n, t in enumerate(tables))
    if not tenants:
        tenants = (_from_environment(environ),)
    names = [t.name for t in tenants]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: two tenants are named alike; give each its own name")
    endpoint = section.get("endpoint") or environ.get("MAILHUNT_ENDPOINT") or None
    if endpoint is not None:
        _check_endpoint(str(endpoint), where)
    return CollectConfig(
        tenants,
        Path(section.get("land", "landed")),
        float(section.get("lookback_hours", 24)),
        str(endpoint) if endpoint else None,
        where,
    )


def _tenant(table: Mapping[str, Any], environ: Mapping[str, str], where: str) -> TenantConfig:
    known = {
        "name", "tenant_id", "client_id", "cloud", "client_secret", "client_secret_env",
        "certificate", "thumbprint", "publisher_id", "feeds",
    }  # fmt: skip
    strange = sorted(set(table) - known)
    if strange:
        raise InputError(
            f"{where}: unknown setting {strange[0]!r} (known: {', '.join(sorted(known))})"
        )
    secret = table.get("client_secret")
    if table.get("client_secret_env"):
        env_name = str(table["client_secret_env"])
        secret = environ.get(env_name)
        if not secret:
            raise InputError(f"{where}: environment variable {env_name} is not set")
    certificate = None
    if table.get("certificate"):
        certificate = _read_key(Path(str(table["certificate"])), where)
    return _checked(
        where,
        name=str(table.get("name", table.get("tenant_id", ""))),
        tenant_id=str(table.get("tenant_id", "")),
        client_id=str(table.get("client_id", "")),
        cloud=str(table.get("cloud", "global")),
        secret=str(secret) if secret else None,
        certificate=certificate,
        thumbprint=str(table["thumbprint"]) if table.get("thumbprint") else None,
        publisher_id=str(table["publisher_id"]) if table.get("publisher_id") else None,
        feeds=tuple(str(f) for f in table.get("feeds", DEFAULT_FEEDS)),
    )


def _from_environment(environ: Mapping[str, str]) -> TenantConfig:
    if not environ.get("MAILHUNT_TENANT_ID"):
        raise InputError(
            "no tenant to collect from: give --config with [[collect.tenants]] or set "
            "MAILHUNT_TENANT_ID, MAILHUNT_CLIENT_ID and MAILHUNT_CLIENT_SECRET"
        )
    key = environ.get("MAILHUNT_CERTIFICATE")
    return _checked(
        "environment",
        name=environ.get("MAILHUNT_TENANT_NAME", environ["MAILHUNT_TENANT_ID"]),
        tenant_id=environ["MAILHUNT_TENANT_ID"],
        client_id=environ.get("MAILHUNT_CLIENT_ID", ""),
        cloud=environ.get("MAILHUNT_CLOUD", "global"),
        secret=environ.get("MAILHUNT_CLIENT_SECRET") or None,
        certificate=_read_key(Path(key), "environment") if key else None,
        thumbprint=environ.get("MAILHUNT_THUMBPRINT") or None,
        publisher_id=environ.get("MAILHUNT_PUBLISHER_ID") or None,
        feeds=DEFAULT_FEEDS,
    )


def _checked(where: str, **given: Any) -> TenantConfig:
    name, tenant_id, client_id = given["name"], given["tenant_id"], given["client_id"]
    if not _GUID.fullmatch(tenant_id):
        raise InputError(f"{where}: tenant_id must be the directory's GUID")
    if not _GUID.fullmatch(client_id):
        raise InputError(f"{where}: client_id must be the application's GUID")
    if not _NAME.fullmatch(name):
        name = tenant_id
    if given["cloud"] not in CLOUDS:
        raise InputError(f"{where}: unknown cloud {given['cloud']!r} (known: {', '.join(CLOUDS)})")
    if (given["secret"] is None) == (given["certificate"] is None):
        raise InputError(f"{where}: give a client secret or a certificate (one of them)")
    if given["certificate"] is not None and not given["thumbprint"]:
        raise InputError(f"{where}: a certificate needs its thumbprint")
    unknown = sorted(set(given["feeds"]) - {*ACTIVITY_FEEDS, *GRAPH_FEEDS})
    if unknown:
        raise InputError(f"{where}: unknown feed {unknown[0]!r}")
    return TenantConfig(
        name=name,
        tenant_id=tenant_id.lower(),
        client_id=client_id.lower(),
        cloud=CLOUDS[given["cloud"]],
        secret=Secret(given["secret"]) if given["secret"] else None,
        certificate_pem=given["certificate"],
        thumbprint=given["thumbprint"],
        publisher_id=given["publisher_id"],
        feeds=given["feeds"],
    )


def _read_key(path: Path, where: str) -> Secret:
    try:
        return Secret(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{where}: cannot read certificate key {path}") from None


def _check_endpoint(endpoint: str, where: str) -> None:
    """The endpoint override is for the local emulator: plain HTTP to loopback only."""
    parts = urlsplit(endpoint)
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if parts.scheme != "http" or not loopback or parts.port is None:
        raise InputError(f"{where}: endpoint must be http://127.0.0.1:PORT (the local emulator)")
