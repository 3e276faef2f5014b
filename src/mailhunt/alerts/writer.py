"""Alerts from detections: deterministic ids, upserts, evidence links.

An alert's id is a hash of (rule id, entity, time bucket). Running detection again, or
re-ingesting records already stored, yields the same ids: the alert is updated in place (its
evidence may grow), never doubled.
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic
from mailhunt.store.db import Store, quote_identifier

_ID_SQL = (
    "substr(sha256(? || '|' || entity || '|' || "
    "strftime(bucket AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')), 1, 32)"
)


def write_alerts(store: Store, analytic: Analytic, detections: str) -> tuple[int, int]:
    """Upsert the alerts for the detections table; return (detections, new alerts)."""
    table = quote_identifier(detections)
    connection = store.connection
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE _alert_rows AS SELECT {_ID_SQL} AS id, * FROM {table}",
        [analytic.id],
    )
    found_row = connection.execute("SELECT count(*) FROM _alert_rows").fetchone()
    new_row = connection.execute(
        "SELECT count(*) FROM _alert_rows r WHERE NOT EXISTS "
        "(SELECT 1 FROM alerts a WHERE a.id = r.id)"
    ).fetchone()
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE _previous AS SELECT id, created_at FROM alerts "
        "WHERE id IN (SELECT id FROM _alert_rows)"
    )
    connection.execute("DELETE FROM alerts WHERE id IN (SELECT id FROM _alert_rows)")
    connection.execute(
        "INSERT INTO alerts SELECT r.id, ?, ?, CASE WHEN r.severity IN "
        "('informational','low','medium','high','critical') THEN r.severity ELSE ? END, "
        "?, r.entity, r.summary, r.tenant_ids, r.mailboxes, r.users, r.app_ids, "
        "list_filter(r.client_ips, lambda ip: ip IS NOT NULL), r.first_seen, r.last_seen, "
        "len(r.event_ids), coalesce(p.created_at, now()) "
        "FROM _alert_rows r LEFT JOIN _previous p USING (id)",
        [analytic.id, analytic.title, analytic.severity, analytic.technique],
    )
    connection.execute(
        "INSERT INTO alert_evidence SELECT DISTINCT id, unnest(event_ids) FROM _alert_rows "
        "ON CONFLICT DO NOTHING"
    )
    connection.execute("DROP TABLE _alert_rows")
    connection.execute("DROP TABLE IF EXISTS _previous")
    return int(found_row[0]) if found_row else 0, int(new_row[0]) if new_row else 0
