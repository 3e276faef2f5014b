"""Alerts from detections: deterministic ids, upserts, evidence links.

An alert's id is a hash of (rule id, entity, time bucket), encoded as a JSON array before it is
hashed: the entity comes from log text, and parts joined by a separator would let two
entities share an id (``t|x`` + ``a`` and ``t`` + ``x|a``). Running detection again, or
re-ingesting records already stored, yields the same ids: the alert is updated in place (its
evidence may grow), never doubled.
"""

from __future__ import annotations

from mailhunt.detect.base import SEVERITIES, Analytic
from mailhunt.store.db import Store

# sha256 of the JSON text ["rule","entity","2024-04-11T00:00:00Z"] (compact, as DuckDB writes it)
_ID_SQL = (
    "substr(sha256(CAST(to_json([CAST(? AS VARCHAR), entity, "
    "strftime(bucket AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')]) AS VARCHAR)), 1, 32)"
)


def write_alerts(store: Store, analytic: Analytic, detections: str) -> tuple[int, int]:
    """Upsert the alerts for the detections table (a quoted name); return (detections, new
    alerts)."""
    with store.temp_table(
        "_alert_rows", f"SELECT {_ID_SQL} AS id, * FROM {detections}", [analytic.id]
    ) as rows:
        found = store.scalar(f"SELECT count(*) FROM {rows}")
        new = store.scalar(
            f"SELECT count(*) FROM {rows} r WHERE NOT EXISTS (SELECT 1 FROM alerts a "
            "WHERE a.id = r.id)"
        )
        with store.temp_table(
            "_previous", f"SELECT id, created_at FROM alerts WHERE id IN (SELECT id FROM {rows})"
        ) as previous:
            store.run(f"DELETE FROM alerts WHERE id IN (SELECT id FROM {rows})")
            store.run(
                f"INSERT INTO alerts SELECT r.id, ?, ?, CASE WHEN list_contains(?, r.severity) "
                "THEN r.severity ELSE ? END, ?, r.entity, r.summary, r.tenant_ids, r.mailboxes, "
                "r.users, r.app_ids, list_filter(r.client_ips, lambda ip: ip IS NOT NULL), "
                "r.first_seen, r.last_seen, len(r.event_ids), coalesce(p.created_at, now()) "
                f"FROM {rows} r LEFT JOIN {previous} p USING (id)",
                [
                    analytic.id,
                    analytic.title,
                    list(SEVERITIES),
                    analytic.severity,
                    analytic.technique,
                ],
            )
        store.run(
            f"INSERT INTO alert_evidence SELECT DISTINCT id, unnest(event_ids) FROM {rows} "
            "ON CONFLICT DO NOTHING"
        )
    return found, new
