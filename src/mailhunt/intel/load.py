"""Reading indicator lists into rows of the ``indicators`` table.

Three shapes are read:

- mailhunt's own JSON (``intel/data/*.json``): the published Storm-0558 indicators, each list
  citing its source.
- STIX 2.1 bundles (``stix2``): ``indicator`` objects whose pattern compares an observable
  with ``=`` (``[ipv4-addr:value = '203.0.113.7']``, ORs of such comparisons; parsed with
  ``stix2-patterns``, never by hand), and cyber observables given as objects (``ipv4-addr``,
  ``domain-name``, ``email-addr``). Patterns mailhunt cannot match (ranges, ``MATCHES``,
  sequences with ``FOLLOWEDBY``, other object types) are counted as skipped, never guessed.
- CSV with a header holding ``type`` (or ``kind``) and ``value``, optionally
  ``description`` and ``reference``.

What is matched (``ioc-match``): ``ip`` (client addresses of audit records and sign-ins),
``domain`` (the domain of a user or mailbox), ``email`` (a user or mailbox), ``app_id``
(application or client application ids), ``user_agent`` (contained in the client string,
case-insensitively); ``signing_key`` is kept for reference (no log mailhunt reads carries the
key of a token).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from mailhunt.errors import InputError
from mailhunt.store.db import Store, utc_now

KINDS = ("ip", "domain", "email", "app_id", "user_agent", "signing_key")
BUILTIN = "storm-0558"
_MAX_BYTES = 64 * 1024 * 1024

# STIX object path -> indicator kind
_STIX_PATHS = {
    ("ipv4-addr", "value"): "ip",
    ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain",
    ("email-addr", "value"): "email",
    ("user-account", "user_id"): "email",
    ("network-traffic", "extensions.http-request-ext.request_header.User-Agent"): "user_agent",
    ("software", "x_app_id"): "app_id",
}
_KIND_WORDS = {
    "ip": "ip", "ipv4": "ip", "ipv6": "ip", "ip-address": "ip", "ipv4-addr": "ip",
    "ipv6-addr": "ip", "domain": "domain", "domain-name": "domain", "email": "email",
    "email-addr": "email", "upn": "email", "app_id": "app_id", "appid": "app_id",
    "application": "app_id", "user_agent": "user_agent", "useragent": "user_agent",
    "user-agent": "user_agent", "signing_key": "signing_key", "thumbprint": "signing_key",
}  # fmt: skip
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Indicator:
    """One indicator, normalised."""

    kind: str
    value: str
    description: str | None = None
    reference: str | None = None
    first_seen: date | None = None
    last_seen: date | None = None


@dataclass(frozen=True)
class IndicatorList:
    """Indicators read from one source, and how many entries were skipped (and why)."""

    source: str
    indicators: tuple[Indicator, ...]
    skipped: dict[str, int]


def normalise(kind: str, value: str) -> str | None:
    """The value as stored and matched, or None when it is not a valid ``kind``."""
    text = value.strip().replace("[.]", ".")
    check = _CHECKS.get(kind)
    return check(text) if text and check else None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "ip": _ip,
    "app_id": lambda t: t.lower() if _GUID.fullmatch(t.lower()) else None,
    "email": lambda t: t.lower() if "@" in t else None,
    "domain": lambda t: t.lower().rstrip(".") or None,
    "signing_key": lambda t: t.lower(),
    "user_agent": lambda t: t.lower(),
}


def _indicator(kind: str, value: str, **fields: Any) -> Indicator | None:
    normal = normalise(kind, value)
    return None if normal is None else Indicator(kind, normal, **fields)


def builtin_lists() -> list[IndicatorList]:
    """The indicator lists shipped with mailhunt (``intel/data``)."""
    folder = resources.files("mailhunt.intel").joinpath("data")
    return [
        _own_json(json.loads(entry.read_text("utf-8")), entry.name[:-5])
        for entry in sorted(folder.iterdir(), key=str)
        if entry.name.endswith(".json")
    ]


def _own_json(document: dict[str, Any], default_name: str) -> IndicatorList:
    reference = document.get("source")
    rows, skipped = [], 0
    for item in document.get("indicators", []):
        found = _indicator(
            str(item.get("kind", "")),
            str(item.get("value", "")),
            description=item.get("description"),
            reference=reference,
            first_seen=_day(item.get("first_seen")),
            last_seen=_day(item.get("last_seen")),
        )
        if found is None:
            skipped += 1
        else:
            rows.append(found)
    name = str(document.get("name") or default_name)
    return IndicatorList(name, tuple(rows), {"invalid value": skipped} if skipped else {})


def _day(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def read_indicator_file(path: Path) -> IndicatorList:
    """An indicator list from a STIX 2.1 bundle (.json) or a CSV file; InputError (one line)
    when the file is neither."""
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise InputError(f"{path.name}: indicator file larger than {_MAX_BYTES} bytes")
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path.name}: {error.strerror}") from None
    text = data.decode("utf-8-sig", errors="replace")
    if text.lstrip().startswith("{"):
        return _stix(text, path.name)
    return _csv(text, path.name)


def _stix(text: str, source: str) -> IndicatorList:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InputError(f"{source}: not JSON ({error})") from None
    if document.get("type") != "bundle":
        if "indicators" in document:
            return _own_json(document, source)
        raise InputError(f'{source}: not a STIX 2.1 bundle (no "type": "bundle")')
    skipped: dict[str, int] = {}
    rows = [found for raw in document.get("objects") or [] for found in _stix_object(raw, skipped)]
    return IndicatorList(source, tuple(rows), skipped)


def _stix_object(raw: Any, skipped: dict[str, int]) -> Iterator[Indicator]:
    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    kind_of = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "email-addr": "email"}
    try:
        import stix2  # (only a STIX file needs it: 0.3 s of every start)

        parsed = stix2.parse(raw, allow_custom=True, version="2.1")
    except Exception:  # noqa: BLE001 - stix2 raises many types for one bad object
        skip("invalid STIX object")
        return
    object_type = str(parsed.get("type", ""))
    if object_type in kind_of:
        found = _indicator(kind_of[object_type], str(parsed.get("value", "")))
        if found is None:
            skip("invalid value")
        else:
            yield found
        return
    if object_type != "indicator":
        return
    if parsed.get("pattern_type", "stix") != "stix":
        skip(f"pattern type {parsed.get('pattern_type')}")
        return
    yield from _pattern(parsed, skip)


def _pattern(parsed: Any, skip: Any) -> Iterator[Indicator]:
    try:
        from stix2patterns.v21.pattern import Pattern  # (see stix2 above)

        data = Pattern(str(parsed["pattern"])).inspect()
    except Exception:  # noqa: BLE001 - the pattern grammar's errors
        skip("unparsable pattern")
        return
    if data.qualifiers or data.observation_ops - {"OR"}:
        skip("pattern with qualifiers or FOLLOWEDBY/AND")
        return
    fields = {
        "description": parsed.get("description") or parsed.get("name"),
        "reference": parsed.get("id"),
        "first_seen": _stix_day(parsed.get("valid_from")),
        "last_seen": _stix_day(parsed.get("valid_until")),
    }
    for object_type, comparisons in data.comparisons.items():
        for path, operator, literal in comparisons:
            kind = _STIX_PATHS.get((object_type, ".".join(str(p) for p in path)))
            if kind is None or operator != "=" or not _quoted(literal):
                skip("comparison mailhunt cannot match")
                continue
            found = _indicator(kind, literal[1:-1].replace("\\'", "'"), **fields)
            if found is None:
                skip("invalid value")
            else:
                yield found


def _quoted(literal: object) -> bool:
    return isinstance(literal, str) and len(literal) >= 2 and literal[0] == literal[-1] == "'"


def _stix_day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return _day(value)


def _csv(text: str, source: str) -> IndicatorList:
    reader = csv.DictReader(io.StringIO(text))
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    kind_column = header.get("type") or header.get("kind")
    value_column = header.get("value") or header.get("indicator")
    if kind_column is None or value_column is None:
        raise InputError(
            f"{source}: neither a STIX 2.1 bundle nor a CSV with 'type' and 'value' columns"
        )
    rows: list[Indicator] = []
    skipped: dict[str, int] = {}
    for row in reader:
        kind = _KIND_WORDS.get((row.get(kind_column) or "").strip().lower())
        description_column = header.get("description")
        reference_column = header.get("reference")
        found = (
            None
            if kind is None
            else _indicator(
                kind,
                row.get(value_column) or "",
                description=(row.get(description_column) if description_column else None),
                reference=(row.get(reference_column) if reference_column else None),
            )
        )
        if found is None:
            reason = "unknown type" if kind is None else "invalid value"
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            rows.append(found)
    return IndicatorList(source, tuple(rows), skipped)


def store_indicators(store: Store, lists: Iterable[IndicatorList]) -> int:
    """Store the lists, each replacing what was stored under its source before; the number
    of indicators stored."""
    now = utc_now()
    stored = 0
    with store.transaction():
        for listing in lists:
            store.run("DELETE FROM indicators WHERE source = ?", [listing.source])
            unique = {(i.kind, i.value): i for i in listing.indicators}
            rows = [
                {
                    "source": listing.source,
                    "kind": i.kind,
                    "value": i.value,
                    "description": i.description,
                    "reference": i.reference,
                    "first_seen": i.first_seen,
                    "last_seen": i.last_seen,
                    "imported_at": now,
                }
                for i in unique.values()
            ]
            store.insert_rows("indicators", rows)
            stored += len(rows)
    return stored
