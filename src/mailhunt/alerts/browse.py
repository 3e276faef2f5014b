"""Browsing alerts: filtered, newest first, a page at a time (keyset, not OFFSET), and counted
per day and severity for charts.

A page is read with ``browse_alerts``: the filters are ANDed (severity at or above, rule,
tenant, mailbox, application, user among the alert's lists, compared lower-cased; a client
address inside a network; a time range; words found in the title, summary or entity); the
page after another starts strictly after its last alert in the order ``first_seen DESC, id
DESC``, so a page costs the same wherever it is. The cursor is that last alert's
``(first_seen, id)``, written as opaque text (``cursor_text``/``parse_cursor``). Every value
is a bound parameter; the SQL text is fixed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from mailhunt.alerts.query import Alert, _alert, _allowed
from mailhunt.alerts.suppressions import ip_keys_sql, network
from mailhunt.errors import InputError
from mailhunt.store.db import Store

MAX_PAGE = 500
_V4_MAPPED = 0xFFFF_0000_0000
_V4_SPAN = (_V4_MAPPED, _V4_MAPPED + 0xFFFF_FFFF)


@dataclass(frozen=True)
class AlertFilter:
    """What alerts to list; None (or empty) means any."""

    min_severity: str = "informational"
    rule_id: str | None = None
    tenant_id: str | None = None
    mailbox: str | None = None
    app_id: str | None = None
    user: str | None = None
    ip: str | None = None  # an address or CIDR network
    since: datetime | None = None  # alerts whose last record is at or after
    until: datetime | None = None  # alerts whose first record is before
    text: str | None = None  # words in the title, summary or entity (case-insensitive)
    include_suppressed: bool = False


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: its last alert's first_seen and id."""

    first_seen: datetime
    id: str


@dataclass(frozen=True)
class AlertPage:
    """One page of alerts, the cursor of the next page (None on the last) and how many alerts
    the filter matches in all."""

    alerts: list[Alert]
    next_cursor: str | None
    total: int


@dataclass(frozen=True)
class SeverityDay:
    """How many alerts (or incidents) of one severity started on one day."""

    day: date
    severity: str
    count: int


def cursor_text(cursor: Cursor) -> str:
    payload = orjson.dumps([cursor.first_seen.isoformat(), cursor.id])
    return base64.urlsafe_b64encode(payload).decode("ascii")


def parse_cursor(text: str) -> Cursor:
    """The cursor a page gave; InputError when the text is not one."""
    try:
        first, ident = orjson.loads(base64.urlsafe_b64decode(text.encode("ascii")))
        return Cursor(datetime.fromisoformat(first), str(ident))
    except (ValueError, TypeError, UnicodeError, binascii.Error, orjson.JSONDecodeError):
        raise InputError("the page cursor is not one this server gave") from None


_COLUMNS = """
a.id, a.rule_id, a.title, a.severity, a.technique, a.entity, a.summary,
a.tenant_ids, a.mailboxes, a.users, a.app_ids, a.client_ips,
a.first_seen, a.last_seen, a.event_count, a.created_at,
coalesce((SELECT list_sort(list(e.record_id)) FROM alert_evidence e
          WHERE e.alert_id = a.id), []) AS event_ids,
coalesce(a.techniques, [a.technique]) AS techniques,
CAST(a.why AS VARCHAR) AS why, a.suppressed_by, m.campaign_id
"""


def _among(column: str, name: str) -> str:
    return (
        f"(${name} IS NULL OR list_contains(list_transform({column}, lambda x: lower(x)), "
        f"lower(${name})))"
    )


_WHERE = f"""
list_contains($severities, a.severity) AND ($suppressed OR a.suppressed_by IS NULL)
AND ($rule IS NULL OR a.rule_id = $rule)
AND {_among("a.tenant_ids", "tenant")} AND {_among("a.mailboxes", "mailbox")}
AND {_among("a.app_ids", "app")} AND {_among("a.users", "user")}
AND ($since IS NULL OR a.last_seen >= $since) AND ($until IS NULL OR a.first_seen < $until)
AND ($text IS NULL OR contains(lower(concat_ws(' ', a.title, a.summary, a.entity, a.rule_id)),
                               lower($text)))
AND (NOT $by_ip OR a.id IN (
    SELECT k FROM ({ip_keys_sql("SELECT id AS k, unnest(client_ips) AS ip FROM alerts")})
    WHERE ip_key BETWEEN CAST($low AS UHUGEINT) AND CAST($high AS UHUGEINT)
      AND ($v4 OR NOT ip_key BETWEEN CAST($v4_low AS UHUGEINT) AND CAST($v4_high AS UHUGEINT))))
"""

_PAGE = f"""
SELECT {_COLUMNS}
FROM alerts a LEFT JOIN campaign_members m ON m.alert_id = a.id
WHERE {_WHERE}
  AND ($after IS NULL OR a.first_seen < $after OR (a.first_seen = $after AND a.id < $after_id))
ORDER BY a.first_seen DESC, a.id DESC
LIMIT $limit
"""

_TOTAL = f"SELECT count(*) FROM alerts a WHERE {_WHERE}"
_NAMES = tuple(dict.fromkeys(re.findall(r"\$([a-z_0-9]+)", _PAGE)))


# the count binds the page's parameters but the cursor and limit, which come last
_TOTAL_PARAMETERS = len(set(re.findall(r"\$([a-z_0-9]+)", _TOTAL)))
assert _NAMES[_TOTAL_PARAMETERS:] == ("after", "after_id", "limit")  # noqa: S101


def _numbered(sql: str) -> str:
    """The SQL with each ``$name`` written as its position (Store.query binds a list)."""
    for number, name in enumerate(_NAMES, start=1):
        sql = re.sub(rf"\${name}\b", f"${number}", sql)
    return sql


def _bind(params: dict[str, Any]) -> list[Any]:
    return [params.get(name) for name in _NAMES]


def _clean(value: str | None) -> str | None:
    stripped = value.strip() if value is not None else None
    return stripped or None


def _params(given: AlertFilter) -> dict[str, Any]:
    cidr = _clean(given.ip)
    low = high = "0"
    v4 = True
    if cidr is not None:
        found = ipaddress.ip_network(network(cidr))
        v4 = found.version == 4
        shift = _V4_MAPPED if v4 else 0
        low = str(int(found.network_address) + shift)
        high = str(int(found.broadcast_address) + shift)
    if given.since and given.until and given.since >= given.until:
        raise InputError("since must be before until")
    return {
        "severities": _allowed(given.min_severity),
        "suppressed": given.include_suppressed,
        "rule": _clean(given.rule_id),
        "tenant": _clean(given.tenant_id),
        "mailbox": _clean(given.mailbox),
        "app": _clean(given.app_id),
        "user": _clean(given.user),
        "since": given.since,
        "until": given.until,
        "text": _clean(given.text),
        "by_ip": cidr is not None,
        "low": low,
        "high": high,
        "v4": v4,
        "v4_low": str(_V4_SPAN[0]),
        "v4_high": str(_V4_SPAN[1]),
    }


def browse_alerts(
    store: Store, given: AlertFilter, *, after: Cursor | None = None, limit: int = 50
) -> AlertPage:
    """A page of at most ``limit`` alerts the filter matches, newest first, after ``after``."""
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"a page holds 1 to {MAX_PAGE} alerts")
    params = _params(given)
    params |= {
        "after": after.first_seen if after else None,
        "after_id": after.id if after else None,
        "limit": limit + 1,
    }
    total = store.scalar(_numbered(_TOTAL), _bind(params)[:_TOTAL_PARAMETERS])
    rows = store.query(_numbered(_PAGE), _bind(params))
    alerts = [_alert(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = alerts[-1] if alerts else None
    return AlertPage(
        alerts,
        cursor_text(Cursor(last.first_seen, last.id)) if more and last else None,
        total,
    )


def get_alert(store: Store, alert_id: str) -> Alert:
    """One alert by id (suppressed or not); InputError when none has it."""
    rows = store.query(
        f"SELECT {_COLUMNS} FROM alerts a LEFT JOIN campaign_members m ON m.alert_id = a.id "
        "WHERE a.id = ?",
        [alert_id],
    )
    if not rows:
        raise InputError(f"no alert {alert_id!r}")
    return _alert(rows[0])


_PER_DAY = {
    "alerts": "SELECT CAST(first_seen AS DATE) AS day, severity, count(*) FROM alerts "
    "WHERE suppressed_by IS NULL GROUP BY ALL ORDER BY 1, 2",
    "incidents": "SELECT CAST(first_seen AS DATE) AS day, severity, count(*) FROM incidents "
    "WHERE merged_into IS NULL AND len(alert_ids) > 0 GROUP BY ALL ORDER BY 1, 2",
}


def severity_per_day(store: Store, what: str) -> list[SeverityDay]:
    """Alerts (not suppressed) or live incidents per day of their first record and severity."""
    return [SeverityDay(*row) for row in store.query(_PER_DAY[what])]


def alerts_per_rule(store: Store) -> dict[str, int]:
    """How many alerts (not suppressed) each rule raised."""
    rows = store.query(
        "SELECT rule_id, count(*) FROM alerts WHERE suppressed_by IS NULL GROUP BY 1 ORDER BY 1"
    )
    return {str(rule): int(count) for rule, count in rows}
