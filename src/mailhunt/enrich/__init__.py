"""IP enrichment: country, autonomous system and network kind of the client addresses stored.

``enrich_ips(store, paths)`` reads MaxMind-format ``.mmdb`` databases the user supplies
(GeoLite2-Country, GeoLite2-City, GeoLite2-ASN, DB-IP Lite country and ASN, GeoIP2
Anonymous-IP, ISP, Connection-Type or Enterprise, IPinfo's free databases) with ``maxminddb``, a
local file reader: nothing is ever looked up over the network. The distinct client addresses of
``events`` and ``signins`` that ``ip_info`` does not hold yet are collected by one query, looked
up per address (never per event) in every database given, their answers merged, and written to
``ip_info`` by one Arrow insert. An address no database knows anything about gets no row (it is
looked up again next time, when a better database may be given).

Without any database ``ip_info`` stays empty and the analytics that use it fall back on IP
prefixes (/24 for IPv4, /48 for IPv6) and say that enrichment was off.

References:
https://dev.maxmind.com/geoip/docs/databases (record shapes: country, city, ASN, anonymous IP)
https://db-ip.com/db/lite.php (DB-IP Lite: the same shapes, CC BY 4.0)
https://maxmind.github.io/MaxMind-DB/ (the file format)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import maxminddb

from mailhunt.enrich import kinds
from mailhunt.errors import InputError
from mailhunt.store.db import Store

__all__ = ["EnrichSummary", "IpInfo", "enrich_ips", "lookup", "open_databases"]

# Addresses of events and sign-ins that ip_info does not hold yet: one query.
_NEW_ADDRESSES = """
SELECT ip FROM (
    SELECT client_ip AS ip FROM events WHERE client_ip IS NOT NULL
    UNION
    SELECT client_ip AS ip FROM signins WHERE client_ip IS NOT NULL
) AS seen
WHERE ip NOT IN (SELECT ip FROM ip_info)
ORDER BY ip
"""


@dataclass(frozen=True)
class IpInfo:
    """What the databases say about one address."""

    ip: str
    country: str | None
    asn: int | None
    as_org: str | None
    network_kind: str | None


@dataclass(frozen=True)
class EnrichSummary:
    """One enrichment: the databases read (their types), addresses looked up and stored."""

    databases: tuple[str, ...]
    looked_up: int
    enriched: int


def open_databases(paths: Sequence[Path]) -> list[maxminddb.Reader]:
    """Each database opened (into memory: a few hundred look-ups per run at most); an
    InputError naming the file when one is missing or not a MaxMind DB."""
    readers: list[maxminddb.Reader] = []
    try:
        for path in paths:
            try:
                readers.append(maxminddb.open_database(str(path), maxminddb.MODE_MEMORY))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
                reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
                raise InputError(f"cannot read GeoIP database {path}: {reason}") from None
    except InputError:
        for reader in readers:
            reader.close()
        raise
    return readers


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _country(record: Mapping[str, object]) -> str | None:
    for key in ("country", "registered_country"):
        value = record.get(key)
        if isinstance(value, Mapping) and _text(value.get("iso_code")):
            return str(value["iso_code"]).upper()
        if key == "country" and _text(value) and len(str(value)) == 2:  # IPinfo: "country": "DE"
            return str(value).upper()
    code = _text(record.get("country_code"))  # IPinfo Lite
    return code.upper() if code else None


def _asn(record: Mapping[str, object]) -> tuple[int | None, str | None]:
    traits = record.get("traits")
    places = [record, traits] if isinstance(traits, Mapping) else [record]
    for place in places:
        number = place.get("autonomous_system_number")
        if isinstance(number, int) and not isinstance(number, bool):
            return number, _text(place.get("autonomous_system_organization"))
    text = _text(record.get("asn"))  # IPinfo: "asn": "AS20473", "as_name": "..."
    if text and text.upper().startswith("AS") and text[2:].isdigit():
        return int(text[2:]), _text(record.get("as_name"))
    return None, None


def lookup(readers: Sequence[maxminddb.Reader], ip: str) -> IpInfo | None:
    """The merged answer of every database for ``ip`` (the first database that knows a field
    gives it; the most specific network kind wins); None when none knows anything."""
    country: str | None = None
    asn: int | None = None
    org: str | None = None
    stated: list[str | None] = []
    for reader in readers:
        try:
            record = reader.get(ip)
        except ValueError:  # not an address, or IPv6 in an IPv4-only database
            continue
        if not isinstance(record, Mapping):
            continue
        country = country or _country(record)
        number, name = _asn(record)
        if asn is None and number is not None:
            asn, org = number, name
        stated.append(kinds.from_record(record))
    kind = kinds.strongest(*stated, kinds.from_asn(asn, org))
    if country is None and asn is None and kind is None:
        return None
    return IpInfo(ip, country, asn, org, kind)


def enrich_ips(
    store: Store, paths: Sequence[Path], *, now: datetime | None = None
) -> EnrichSummary:
    """Look up the stored client addresses not enriched yet in the databases at ``paths`` and
    write what they say to ``ip_info`` (one transaction, one insert)."""
    readers = open_databases(paths)
    try:
        types = tuple(str(reader.metadata().database_type) for reader in readers)
        with store.transaction():
            addresses = [str(row[0]) for row in store.query(_NEW_ADDRESSES)]
            found = [info for ip in addresses if (info := lookup(readers, ip)) is not None]
            when = now or datetime.now(UTC)
            store.insert_columns(
                "ip_info",
                {
                    "ip": [i.ip for i in found],
                    "country": [i.country for i in found],
                    "asn": [i.asn for i in found],
                    "as_org": [i.as_org for i in found],
                    "network_kind": [i.network_kind for i in found],
                    "enriched_at": [when] * len(found),
                },
            )
    finally:
        for reader in readers:
            reader.close()
    return EnrichSummary(types, len(addresses), len(found))
