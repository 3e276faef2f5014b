"""What kind of network an address belongs to: hosting, vpn, tor, proxy or residential.

Three sources, strongest first: the flags of an anonymous-IP or enterprise database when the
user supplied one (GeoIP2-Anonymous-IP: ``is_tor_exit_node``, ``is_anonymous_vpn``,
``is_public_proxy``, ``is_residential_proxy``, ``is_hosting_provider``; GeoIP2 Enterprise/
Insights: ``traits.user_type``; GeoIP2 Connection-Type: ``connection_type``), then the curated
list of autonomous systems in ``network_kinds.csv`` (each line cites its source), then
keywords in the AS organisation's name ("hosting", "cloud", "vpn", ...). Unknown stays
unknown (None): GeoLite2 and DB-IP Lite carry no such flags.

References:
https://dev.maxmind.com/geoip/docs/databases/anonymous-ip
https://dev.maxmind.com/geoip/docs/databases/connection-type
https://dev.maxmind.com/geoip/docs/databases/enterprise
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

KINDS = ("tor", "vpn", "proxy", "hosting", "residential")
# When databases disagree the more specific, more suspicious kind wins.
RANK = {kind: rank for rank, kind in enumerate(KINDS)}

_FLAGS = (
    ("is_tor_exit_node", "tor"),
    ("is_anonymous_vpn", "vpn"),
    ("is_public_proxy", "proxy"),
    ("is_residential_proxy", "proxy"),
    ("is_hosting_provider", "hosting"),
)
_USER_TYPES = {
    "hosting": "hosting",
    "residential": "residential",
    "cellular": "residential",
    "cable/dsl": "residential",
}
_VPN_WORDS = re.compile(r"\bvpn\b", re.IGNORECASE)
_HOSTING_WORDS = re.compile(
    r"hosting|\bhost\b|\bcloud\b|data ?cent(er|re)|\bservers?\b|\bvps\b|colocation|"
    r"dedicated|\bcompute\b",
    re.IGNORECASE,
)


@cache
def curated() -> dict[int, str]:
    """The curated autonomous systems: ASN -> kind (``network_kinds.csv``)."""
    text = resources.files(__package__).joinpath("network_kinds.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {int(row["asn"]): row["kind"] for row in csv.DictReader(lines)}


def from_record(record: Mapping[str, object]) -> str | None:
    """The kind a database record states (flags, user type, connection type), if any."""
    traits = record.get("traits")
    places = [record, traits] if isinstance(traits, Mapping) else [record]
    for place in places:
        for flag, kind in _FLAGS:
            if place.get(flag) is True:
                return kind
    for place in places:
        for key in ("user_type", "connection_type"):
            value = place.get(key)
            if isinstance(value, str) and value.lower() in _USER_TYPES:
                return _USER_TYPES[value.lower()]
    return None


def from_asn(asn: int | None, organisation: str | None) -> str | None:
    """The kind the curated list, else the AS organisation's name, gives."""
    if asn is not None and asn in curated():
        return curated()[asn]
    if organisation:
        if _VPN_WORDS.search(organisation):
            return "vpn"
        if _HOSTING_WORDS.search(organisation):
            return "hosting"
    return None


def strongest(*kinds: str | None) -> str | None:
    """The most specific of the kinds found (tor > vpn > proxy > hosting > residential)."""
    found = [kind for kind in kinds if kind is not None]
    return min(found, key=RANK.__getitem__) if found else None
