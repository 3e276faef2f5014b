"""Deterministic identifiers, timestamps and address spellings drawn from a seeded ``Random``.

Nothing here touches the global ``random`` state or the clock: every value comes from the
``random.Random`` handed in, so the same seed always gives the same bytes.
"""

from __future__ import annotations

import base64
import random
import uuid
from datetime import datetime

_SERVER_PREFIXES = ("SA1PR12MB", "BN8PR12MB", "DM6PR11MB", "CH3PR10MB", "MW4PR04MB", "PH0PR13MB")


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def token_id(rng: random.Random) -> str:
    """An Entra ``uniqueTokenIdentifier``: 16 random bytes, base64url without padding."""
    raw = rng.getrandbits(128).to_bytes(16, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def exchange_id(rng: random.Random, prefix: str, length: int = 64) -> str:
    """An Exchange store id (folder ``LgAAAA...``, item ``RgAAAA...``) of ``length`` chars."""
    raw = rng.getrandbits(8 * length).to_bytes(length, "big")
    return (prefix + base64.b64encode(raw).decode("ascii"))[:length]


def puid(rng: random.Random) -> str:
    """A UAL ``UserKey`` passport id: 16 upper-case hex digits starting ``1003``."""
    return f"1003{rng.getrandbits(48):012X}"


def server_name(rng: random.Random) -> str:
    """An Exchange Online mailbox server name like ``SA1PR12MB7412``."""
    return f"{rng.choice(_SERVER_PREFIXES)}{rng.randint(1000, 9999)}"


def message_id(rng: random.Random, external_domain: str | None = None) -> str:
    """An Internet Message-ID, internal (Exchange Online) or from an external sender."""
    if external_domain is not None:
        local = base64.b32encode(rng.getrandbits(160).to_bytes(20, "big")).decode("ascii")
        return f"<{local.lower()}@{external_domain}>"
    server = server_name(rng)
    body = f"{rng.getrandbits(152):038X}"
    region = f"namprd{rng.randint(2, 19):02d}"
    return f"<{server}{body}@{server}.{region}.prod.outlook.com>"


def ual_time(moment: datetime) -> str:
    """A Management Activity API time: UTC, no zone suffix, no fraction."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def graph_time(moment: datetime) -> str:
    """A Microsoft Graph time: UTC with a ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_ip(rng: random.Random, address: str) -> str:
    """Spell an address as the UAL does: bare, ``v4:port`` or ``[v6]:port``."""
    if rng.random() < 0.5:
        return address
    port = rng.randint(1024, 65535)
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
