"""Suppressions: what a user chose not to be alerted on, and the SQL that matches detections to
them.

A suppression names any of a rule, a tenant, an application, a mailbox, a user and a client
network (an address or a CIDR), with a reason (required) and an optional expiry. A detection
matches it when every field given matches: the rule is that rule, the tenant is among its
``tenant_ids``, the application among its ``app_ids``, the mailbox among its ``mailboxes``, the
user among its ``users``, and one of its ``client_ips`` lies inside the network. Note what
"among" means: an alert listing four mailboxes is suppressed by a suppression naming one of
them.

A matched detection is still stored (``alerts.suppressed_by`` = the suppression's id, the
oldest when several match): counted by ``detect`` and ``alerts``, listed only with
``--include-suppressed``. An alert once suppressed stays so when detection runs again, even after
its suppression expired: the expiry ends the suppression for new detections, it does not bring
back what was triaged. Removing a suppression matches the alerts it held against the others
again; adding one applies it to the alerts already stored.

Matching is one SQL statement joining the detections with the suppressions (few rows each: a
nested-loop join of the two). Client networks are matched by integer arithmetic in SQL, since
DuckDB's inet extension may not be installable offline: an address, IPv4 or IPv6 text, becomes
a 128-bit integer (IPv4 as its IPv4-mapped IPv6 address, ``::ffff:a.b.c.d``, so both families
share one number line), and an address is inside ``network/prefix`` when both agree on the
first ``prefix`` bits and are of one family (``::/0`` holds no IPv4 address; an IPv4 address
written IPv4-mapped, ``::ffff:10.1.2.3``, is IPv4). Text that is not an address matches no
network (an IPv6 zone id and brackets are read without them). Only the addresses of
detections whose other fields already matched a suppression with a network are parsed.
"""

from __future__ import annotations

import getpass
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mailhunt.errors import InputError
from mailhunt.store.db import Store

# ::ffff:0.0.0.0, where IPv4 addresses sit on the IPv6 number line
_V4_MAPPED = 0xFFFF_0000_0000
_V4_PREFIX = 96  # an IPv4 prefix length n is n + 96 bits of its mapped address
# an address ending in a dotted quad (IPv4, or IPv6 with an embedded IPv4 tail): the head
# before it (with its last colon) and the four octets
_DOTTED = r"^(.*:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$"
_PARTS = "['head', 'a', 'b', 'c', 'd']"
_WRAPPING = r"^\[|\]$|%.*$"  # brackets around an IPv6 address, and its zone id


def ip_keys_sql(relation: str) -> str:
    """SQL giving ``(k, ip_key)`` for a relation of ``(k, ip)`` rows: the address as a
    UHUGEINT (IPv4 mapped into IPv6), NULL when the text is not an address. Each step is a
    column of its own layer, computed once."""
    octet = "try_cast(m.{} AS UTINYINT)::UBIGINT"
    v4 = " + ".join(f"{octet.format(part)} * {2 ** (8 * (3 - n))}" for n, part in enumerate("abcd"))
    return f"""
SELECT k, CASE
        WHEN NOT contains(t, ':') THEN CAST({_V4_MAPPED} AS UHUGEINT) + v4
        WHEN len(groups) = 8 AND NOT list_contains(groups, '')
        THEN try_cast('0x' || array_to_string(list_transform(groups, lambda g: lpad(g, 4, '0')),
                                              '') AS UHUGEINT)
    END AS ip_key
FROM (
    SELECT k, t, v4, CASE
            WHEN NOT regexp_full_match(v6, '[0-9a-f]{{0,4}}(:[0-9a-f]{{0,4}}){{2,8}}') THEN NULL
            WHEN len(halves) = 1 THEN string_split(v6, ':')
            WHEN len(halves) = 2 AND len(head) + len(tail) <= 7
            THEN head || list_transform(range(8 - len(head) - len(tail)), lambda i: '0') || tail
        END AS groups
    FROM (
        SELECT *,
               CASE WHEN halves[1] = '' THEN []::VARCHAR[] ELSE string_split(halves[1], ':')
               END AS head,
               CASE WHEN coalesce(halves[2], '') = '' THEN []::VARCHAR[]
                    ELSE string_split(halves[2], ':') END AS tail
        FROM (
            SELECT k, t, v4, v6, string_split(v6, '::') AS halves
            FROM (
                SELECT k, t, v4,
                       CASE WHEN m.head <> '' AND v4 IS NOT NULL
                            THEN m.head || printf('%x:%x', v4 // 65536, v4 % 65536)
                            ELSE t END AS v6
                FROM (
                    SELECT k, t, m, {v4} AS v4
                    FROM (
                        SELECT k, t, regexp_extract(t, '{_DOTTED}', {_PARTS}) AS m
                        FROM (
                            SELECT k, lower(regexp_replace(trim(ip), '{_WRAPPING}', '', 'g')) AS t
                            FROM ({relation})
                        )
                    )
                )
            )
        )
    )
)"""


def _lowered(column: str) -> str:
    return f"list_transform({column}, lambda x: lower(x)) AS {column}"


def matches_sql(candidates: str, suppressions: str) -> str:
    """SQL giving ``(id, suppressed_by)`` for each candidate a suppression matches (the lowest
    suppression id). `candidates` is a relation with ``id, rule_id, tenant_ids, app_ids,
    mailboxes, users, client_ips`` (detection rows or alerts), `suppressions` one of
    suppressions rows. Both are SQL text written in this code base; values are bound by the
    caller."""
    return f"""
WITH given AS ({candidates}),
cand AS (  -- lists lower-cased once (suppressions hold lower-cased values)
    SELECT id, rule_id, {_lowered("tenant_ids")}, {_lowered("app_ids")},
           {_lowered("mailboxes")}, {_lowered("users")}, client_ips
    FROM given
),
sup AS ({suppressions}),
pairs AS (
    SELECT c.id, s.id AS sid, s.cidr
    FROM cand c JOIN sup s
      ON (s.rule_id IS NULL OR s.rule_id = c.rule_id)
     AND (s.tenant_id IS NULL OR list_contains(c.tenant_ids, s.tenant_id))
     AND (s.app_id IS NULL OR list_contains(c.app_ids, s.app_id))
     AND (s.mailbox IS NULL OR list_contains(c.mailboxes, s.mailbox))
     AND (s.user_upn IS NULL OR list_contains(c.users, s.user_upn))
),
networks AS (
    SELECT id AS k, split_part(cidr, '/', 1) AS ip,
           CAST(split_part(cidr, '/', 2) AS INTEGER)
             + CASE WHEN contains(cidr, ':') THEN 0 ELSE {_V4_PREFIX} END AS prefix
    FROM sup WHERE cidr IS NOT NULL
),
network_keys AS (  -- each network as the range of integers it holds, low .. low | host
    SELECT sid, v4, (net >> shift) << shift AS low,
           ((net >> shift) << shift) | CASE WHEN shift = 128 THEN ~CAST(0 AS UHUGEINT)
                                            ELSE (CAST(1 AS UHUGEINT) << shift) - 1 END AS high
    FROM (
        SELECT n.k AS sid, CAST(128 - n.prefix AS UHUGEINT) AS shift, key.ip_key AS net,
               n.prefix >= {_V4_PREFIX} AND (key.ip_key >> 32) = 65535 AS v4
        FROM networks n JOIN ({ip_keys_sql("SELECT k, ip FROM networks")}) key USING (k)
    )
),
addresses AS (
    SELECT DISTINCT k, ip FROM (
        SELECT c.id AS k, unnest(c.client_ips) AS ip FROM cand c
        WHERE c.id IN (SELECT id FROM pairs WHERE cidr IS NOT NULL)
    )
),
address_keys AS ({ip_keys_sql("SELECT k, ip FROM addresses")}),
inside AS (  -- a range join; an IPv6 network holds no IPv4 address
    SELECT DISTINCT a.k AS id, n.sid
    FROM address_keys a JOIN network_keys n ON a.ip_key BETWEEN n.low AND n.high
    WHERE ((a.ip_key >> 32) = 65535) = n.v4
),
matched AS (
    SELECT id, sid FROM pairs WHERE cidr IS NULL
    UNION ALL
    SELECT p.id, p.sid FROM pairs p JOIN inside i ON i.id = p.id AND i.sid = p.sid
)
SELECT id, min(sid) AS suppressed_by FROM matched GROUP BY id
"""


# Suppressions that apply to new detections now.
ACTIVE = "SELECT * FROM suppressions WHERE expires_at IS NULL OR expires_at > now()"
# Alerts as candidates of matches_sql.
ALERT_CANDIDATES = (
    "SELECT id, rule_id, tenant_ids, app_ids, mailboxes, users, client_ips FROM alerts"
)


# -- what a user gives ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressionRequest:
    """What ``mailhunt suppress add`` was given, normalised (see :func:`request`)."""

    reason: str
    rule_id: str | None = None
    tenant_id: str | None = None
    app_id: str | None = None
    mailbox: str | None = None
    user_upn: str | None = None
    cidr: str | None = None
    expires_at: datetime | None = None


def network(text: str) -> str:
    """An address or CIDR as the canonical network text ('10.0.0.0/8', '2001:db8::/32'; an
    address is a /32 or /128; an IPv4-mapped IPv6 network is written as IPv4); InputError when
    it is neither. Host bits set are allowed and cleared ('10.1.2.3/8' is '10.0.0.0/8')."""
    try:
        found = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InputError(f"--ip {text!r} is not an IP address or CIDR network") from None
    if isinstance(found, ipaddress.IPv6Network) and found.prefixlen >= _V4_PREFIX:
        mapped = found.network_address.ipv4_mapped
        if mapped is not None:
            found = ipaddress.ip_network(f"{mapped}/{found.prefixlen - _V4_PREFIX}")
    return str(found)


_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def expiry(text: str, now: datetime) -> datetime:
    """--expires: a duration from now ('12h', '30d', '2w'), a date ('2025-06-30': the
    suppression ends as that day begins, UTC) or an ISO 8601 time (UTC unless it says
    otherwise); it must be in the future. InputError saying why otherwise."""
    duration = _DURATION.match(text)
    moment = now + int(duration[1]) * _UNITS[duration[2].lower()] if duration else _moment(text)
    if moment <= now:
        raise InputError(f"--expires {text!r} is not in the future")
    return moment


def _moment(text: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"--expires {text!r} is not a duration (12h, 30d, 2w), a date (2025-06-30) or an "
            "ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _given(value: str | None) -> str | None:
    stripped = value.strip() if value is not None else None
    return stripped or None


def request(
    *,
    reason: str,
    rule_id: str | None = None,
    tenant_id: str | None = None,
    app_id: str | None = None,
    mailbox: str | None = None,
    user_upn: str | None = None,
    ip: str | None = None,
    expires: str | None = None,
    known_rules: tuple[str, ...] = (),
    now: datetime | None = None,
) -> SuppressionRequest:
    """A suppression as given on the command line, checked and normalised (identifiers
    lower-cased, the network canonical, the expiry a UTC time); InputError naming the
    problem. At least one field must be given: a suppression of everything is refused."""
    if not reason.strip():
        raise InputError("--reason must say why (it is kept with the suppression)")
    rule = _given(rule_id)
    if rule is not None and known_rules and rule not in known_rules:
        raise InputError(f"--rule {rule!r} is no rule (known: {', '.join(known_rules)})")
    fields = {
        "tenant_id": _given(tenant_id),
        "app_id": _given(app_id),
        "mailbox": _given(mailbox),
        "user_upn": _given(user_upn),
    }
    lowered = {name: value.lower() if value else None for name, value in fields.items()}
    cidr = network(ip) if _given(ip) is not None and ip is not None else None
    if rule is None and cidr is None and not any(lowered.values()):
        raise InputError(
            "give at least one of --rule, --tenant, --app, --mailbox, --user, --ip "
            "(a suppression of everything is refused)"
        )
    moment = now or datetime.now(UTC)
    return SuppressionRequest(
        reason=reason.strip(),
        rule_id=rule,
        cidr=cidr,
        expires_at=expiry(expires, moment) if expires is not None else None,
        **lowered,
    )


def os_user() -> str:
    """Who adds a suppression: the operating-system user ('unknown' when none can be told)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


# -- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    """One stored suppression, with whether it applies now and how many alerts it holds."""

    id: int
    created_at: datetime
    created_by: str
    rule_id: str | None
    tenant_id: str | None
    app_id: str | None
    mailbox: str | None
    user_upn: str | None
    cidr: str | None
    reason: str
    expires_at: datetime | None
    active: bool
    alerts: int  # alerts it suppresses


_COLUMNS = (
    "id, created_at, created_by, rule_id, tenant_id, app_id, mailbox, user_upn, cidr, reason, "
    "expires_at"
)


def add_suppression(store: Store, given: SuppressionRequest, *, created_by: str) -> tuple[int, int]:
    """Store the suppression and apply it to the stored alerts no suppression holds yet, in one
    transaction: (its id, the alerts it now suppresses)."""
    with store.transaction():
        number = store.scalar("SELECT coalesce(max(id), 0) + 1 FROM suppressions")
        store.run(
            f"INSERT INTO suppressions ({_COLUMNS}) VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                number,
                created_by,
                given.rule_id,
                given.tenant_id,
                given.app_id,
                given.mailbox,
                given.user_upn,
                given.cidr,
                given.reason,
                given.expires_at,
            ],
        )
        held = _apply(
            store,
            f"{ALERT_CANDIDATES} WHERE suppressed_by IS NULL",
            "SELECT * FROM suppressions WHERE id = $number",
            {"number": number},
        )
    return number, held


def remove_suppression(store: Store, number: int) -> tuple[int, int]:
    """Delete the suppression; the alerts it held are matched against the active ones again.
    Returns (alerts it held, of them now listed); InputError when there is no such
    suppression."""
    with store.transaction():
        if not store.scalar("SELECT count(*) FROM suppressions WHERE id = ?", [number]):
            raise InputError(f"no suppression {number} (mailhunt suppress list shows them)")
        store.run("DELETE FROM suppressions WHERE id = ?", [number])
        with store.temp_table(
            "_held", "SELECT id FROM alerts WHERE suppressed_by = ?", [number]
        ) as held:
            count = store.scalar(f"SELECT count(*) FROM {held}")
            store.run("UPDATE alerts SET suppressed_by = NULL WHERE suppressed_by = ?", [number])
            again = _apply(
                store, f"{ALERT_CANDIDATES} WHERE id IN (SELECT id FROM {held})", ACTIVE, {}
            )
    return count, count - again


def _apply(store: Store, candidates: str, suppressions: str, params: dict[str, object]) -> int:
    """Set suppressed_by on the candidate alerts the suppressions match; how many."""
    with store.temp_table("_suppressed", matches_sql(candidates, suppressions), params) as found:
        store.run(
            f"UPDATE alerts SET suppressed_by = f.suppressed_by FROM {found} f "
            "WHERE alerts.id = f.id"
        )
        return store.scalar(f"SELECT count(*) FROM {found}")


def list_suppressions(store: Store) -> list[Suppression]:
    """Every stored suppression, oldest first."""
    rows = store.query(
        f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))}, "
        "s.expires_at IS NULL OR s.expires_at > now() AS active, "
        "(SELECT count(*) FROM alerts a WHERE a.suppressed_by = s.id) AS alerts "
        "FROM suppressions s ORDER BY s.id"
    )
    return [Suppression(*row) for row in rows]
