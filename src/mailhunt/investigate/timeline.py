"""The timeline of a mailbox, a user, an address (or network) or an application: every record
of the store that concerns it, in time order, with sessions reconstructed and what was new
marked.

What each selector takes (``events`` and ``signins``):

- ``mailbox UPN``: records acting on the mailbox (``mailbox_upn``, whoever the actor), the
  owner's sign-ins and the owner's operations that name no mailbox, and cmdlets or directory
  changes naming the mailbox's address in their object or a parameter (an alias alone is not
  resolved).
- ``user UPN``: records whose actor is the user (``actor_upn``, ``user_upn`` of a sign-in).
- ``ip ADDRESS|CIDR``: records whose client address lies in the network (compared as numbers,
  so ``2001:db8::1`` and ``2001:0db8:0:0::1`` are one address; IPv4-mapped IPv6 is IPv4).
- ``app ID``: records of the application, as the client holding the token (``client_app_id``)
  or the resource accessed (``app_id``), and its sign-ins.

Each row says what (kind, operation, result; for mail access the messages listed, folders and
Bind or Sync), who (actor, mailbox), where (address, country and ASN from ``ip_info`` when
``detect --geoip`` enriched it, else a sign-in's own country), with what (application id, its
name as sign-ins give it or as Microsoft lists its own clients, user agent), its session and
its record id (``mailhunt show``).

**Sessions**: records sharing an Entra session id (sign-ins and the mail access their tokens
made), else an Exchange session id, else the same principal, address, application and client
with no pause longer than ``gap_minutes`` (30 by default).

**New entities**: for each row, which of its address, application, client, country and ASN
the principal (the mailbox or user selected; for an address or an application, the mailbox
acted on, else the actor) shows for the first time in the whole store, not only within the
range shown: one pass of window functions over the principals' history.

Every value from a user or a log is a bound parameter (timeline_sql.py).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from mailhunt.alerts.suppressions import network
from mailhunt.errors import InputError
from mailhunt.investigate.timeline_sql import ROWS_SQL, SESSIONS_SQL, timeline_sql
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

SelectorKind = Literal["mailbox", "user", "ip", "app"]
SELECTOR_KINDS: tuple[SelectorKind, ...] = ("mailbox", "user", "ip", "app")
DEFAULT_GAP_MINUTES = 30
ENTITIES = ("ip", "app", "client", "country", "asn")  # what new_entities may name
_V4_MAPPED = 0xFFFF_0000_0000


@dataclass(frozen=True)
class Selector:
    """What a timeline is of: ``kind`` and its value, normalised (a lower-cased UPN or
    application id; a network as canonical text, an address being a /32 or /128)."""

    kind: SelectorKind
    value: str

    @property
    def flag(self) -> str:
        return f"--{self.kind}"


@dataclass(frozen=True)
class TimelineRow:
    """One record of the timeline."""

    time: datetime
    kind: str  # signin, mail_access, send, inbox_rule, admin or other
    operation: str | None
    result: str | None
    tenant_id: str | None
    actor: str | None
    mailbox: str | None
    client_ip: str | None
    country: str | None
    asn: int | None
    as_org: str | None
    app_id: str | None
    app_name: str | None
    client: str | None  # user agent or ClientInfoString
    access_type: str | None  # Bind or Sync (mail access)
    messages: int | None  # messages the mail access lists (None for other kinds)
    folders: tuple[str, ...]  # folders the mail access lists
    throttled: bool | None
    object_id: str | None
    session: int  # the session's number in this timeline (Timeline.sessions)
    session_kind: str  # entra, exchange or inferred
    session_id: str | None  # the Entra or Exchange session id
    principal: str | None  # whose history new_entities was judged against
    new_entities: tuple[str, ...]  # of ENTITIES: first seen for the principal in the store
    record_id: str
    source: str | None


@dataclass(frozen=True)
class Session:
    """Records of one session: an Entra or Exchange session id, or an inferred one."""

    number: int
    kind: str  # entra, exchange or inferred
    session_id: str | None
    first_time: datetime
    last_time: datetime
    records: int
    principals: tuple[str, ...]
    client_ips: tuple[str, ...]
    countries: tuple[str, ...]
    asns: tuple[int, ...]
    app_ids: tuple[str, ...]
    app_names: tuple[str, ...]
    clients: tuple[str, ...]
    kinds: tuple[str, ...]
    messages: int  # messages its mail access lists
    new_entities: tuple[str, ...]


@dataclass(frozen=True)
class Timeline:
    """A timeline: its records in time order and their sessions, by number."""

    selector: Selector
    since: datetime | None
    until: datetime | None
    gap_minutes: int
    rows: tuple[TimelineRow, ...]
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class TimelineView:
    """What the timeline renderers are given: the timeline, and whether to show its sessions
    (one per line) rather than its records."""

    timeline: Timeline
    sessions: bool = False


# -- what a user gives ----------------------------------------------------------------------------


def selector(
    *,
    mailbox: str | None = None,
    user: str | None = None,
    ip: str | None = None,
    app: str | None = None,
) -> Selector:
    """The one selector given, normalised; InputError (one line) when none or several are
    given, or the value is empty or not an address or network."""
    given = {
        kind: value
        for kind, value in zip(SELECTOR_KINDS, (mailbox, user, ip, app), strict=True)
        if value is not None
    }
    if len(given) != 1:
        raise InputError("give exactly one of --mailbox, --user, --ip, --app")
    [(kind, value)] = given.items()
    text = value.strip()
    if not text:
        raise InputError(f"--{kind} is empty")
    if kind == "ip":
        return Selector(kind, network(text))
    return Selector(kind, text.lower())


def moment(text: str, flag: str) -> datetime:
    """--since/--until: an ISO 8601 date (00:00 UTC) or time (UTC unless it says otherwise)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        found = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{flag} {text!r} is not an ISO 8601 date (2024-04-01) or time (2024-04-01T09:30Z)"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


# -- the timeline ---------------------------------------------------------------------------------


def timeline(
    store: Store,
    chosen: Selector,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    gap_minutes: int = DEFAULT_GAP_MINUTES,
) -> Timeline:
    """The records ``chosen`` names from ``since`` (included) to ``until`` (excluded), in time
    order, with their sessions and the entities new to their principal."""
    if since is not None and until is not None and since >= until:
        raise InputError("--since must be before --until")
    if gap_minutes < 1:
        raise InputError("the session gap must be at least one minute")
    params = {"value": chosen.value, "since": since, "until": until, "gap_minutes": gap_minutes}
    if chosen.kind == "ip":
        del params["value"]
        params |= _network_bounds(chosen.value)
    with store.temp_table("_timeline_rows", timeline_sql(chosen.kind), params) as table:
        rows = tuple(_row(r) for r in store.query(ROWS_SQL.replace("{rows}", table)))
        sessions = tuple(_session(r) for r in store.query(SESSIONS_SQL.replace("{rows}", table)))
    log.info("timeline of %s: %d records, %d sessions", chosen.flag, len(rows), len(sessions))
    return Timeline(chosen, since, until, gap_minutes, rows, sessions)


def _network_bounds(text: str) -> dict[str, Any]:
    """The network as the integers it spans (IPv4 mapped into IPv6, as ip_keys_sql reads
    addresses), bound as text (a UHUGEINT has no Python binding)."""
    found = ipaddress.ip_network(text)
    low, high = int(found.network_address), int(found.broadcast_address)
    v4 = found.version == 4
    if v4:
        low, high = low + _V4_MAPPED, high + _V4_MAPPED
    return {"low": str(low), "high": str(high), "v4": v4}


def _row(values: tuple[Any, ...]) -> TimelineRow:
    fields = list(values)
    fields[16] = tuple(fields[16] or ())  # folders
    fields[23] = tuple(fields[23] or ())  # new_entities
    return TimelineRow(*fields)


def _session(values: tuple[Any, ...]) -> Session:
    number, kind, session_id, first_time, last_time, records = values[:6]
    lists = [tuple(v or ()) for v in values[6:14]]
    return Session(
        number,
        kind,
        session_id,
        first_time,
        last_time,
        records,
        principals=lists[0],
        client_ips=lists[1],
        countries=lists[2],
        asns=lists[3],
        app_ids=lists[4],
        app_names=lists[5],
        clients=lists[6],
        kinds=lists[7],
        messages=int(values[14]),
        new_entities=tuple(values[15] or ()),
    )
