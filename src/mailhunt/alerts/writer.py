"""Alerts from detections: deterministic ids, upserts, evidence links, why and suppressions.

An alert's id is a hash of (rule id, entity, time bucket), encoded as a JSON array before it is
hashed: the entity comes from log text, and parts joined by a separator would let two
entities share an id (``t|x`` + ``a`` and ``t`` + ``x|a``). Running detection again, or
re-ingesting records already stored, yields the same ids: the alert is updated in place (its
evidence may grow), never doubled.

Each alert keeps the detection's optional ``why`` column (a JSON object text saying which
baseline it broke and what was new; anything but a JSON object is dropped, with a warning) and
the analytic's ATT&CK ``techniques``. Detections are joined in SQL with the active
suppressions (:mod:`mailhunt.alerts.suppressions`): a matched one is stored with
``suppressed_by`` set, and counted as suppressed, not as a new alert. An alert already
suppressed keeps its suppression.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mailhunt.alerts.suppressions import ACTIVE, matches_sql
from mailhunt.detect.base import SEVERITIES, Analytic
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

# sha256 of the JSON text ["rule","entity","2024-04-11T00:00:00Z"] (compact, as DuckDB writes it)
_ID_SQL = (
    "substr(sha256(CAST(to_json([CAST(? AS VARCHAR), entity, "
    "strftime(bucket AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')]) AS VARCHAR)), 1, 32)"
)
_TEXT_TYPES = ("VARCHAR", "JSON")
_COLUMNS = (
    "id, rule_id, title, severity, technique, entity, summary, tenant_ids, mailboxes, users, "
    "app_ids, client_ips, first_seen, last_seen, event_count, created_at, why, techniques, "
    "suppressed_by"
)


@dataclass(frozen=True)
class Written:
    """What writing one analytic's detections did."""

    detections: int
    new: int  # alerts new to the store that no suppression holds
    suppressed: int  # detections a suppression holds (new or not)


def _why_sql(store: Store, detections: str) -> str:
    """SQL for the alert's ``why`` from the detection row ``r``: the JSON object it gave (as
    text, JSON, or a STRUCT/MAP made JSON), else NULL."""
    types = {str(row[0]): str(row[1]) for row in store.query(f"DESCRIBE {detections}")}
    if "why" not in types:
        return "CAST(NULL AS JSON)"
    given = "r.why" if types["why"] in _TEXT_TYPES else "to_json(r.why)"
    return (
        f"CASE WHEN json_valid({given}) AND json_type({given}) = 'OBJECT' "
        f"THEN CAST({given} AS JSON) END"
    )


def write_alerts(store: Store, analytic: Analytic, detections: str) -> Written:
    """Upsert the alerts for the detections table (a quoted name)."""
    if not store.scalar(f"SELECT count(*) FROM (FROM {detections} LIMIT 1)"):
        return Written(0, 0, 0)  # most analytics find nothing: skip the upsert's statements
    why = _why_sql(store, detections)
    with store.temp_table(
        "_alert_rows", f"SELECT {_ID_SQL} AS id, * FROM {detections}", [analytic.id]
    ) as rows:
        candidates = (
            "SELECT id, CAST($rule AS VARCHAR) AS rule_id, tenant_ids, app_ids, mailboxes, "
            f"users, client_ips FROM {rows}"
        )
        with (
            store.temp_table(
                "_alert_matches", matches_sql(candidates, ACTIVE), {"rule": analytic.id}
            ) as matches,
            store.temp_table(
                "_previous",
                f"SELECT id, created_at, suppressed_by FROM alerts "
                f"WHERE id IN (SELECT id FROM {rows})",
            ) as previous,
        ):
            joined = (
                f"FROM {rows} r LEFT JOIN {previous} p USING (id) LEFT JOIN {matches} m USING (id)"
            )
            found, new, suppressed, dropped = store.query(
                "SELECT count(*), "
                "count(*) FILTER (WHERE p.id IS NULL "
                "AND coalesce(p.suppressed_by, m.suppressed_by) IS NULL), "
                "count(coalesce(p.suppressed_by, m.suppressed_by)), "
                f"count(*) FILTER (WHERE ({why}) IS NULL) {joined}"
            )[0]
            store.run(f"DELETE FROM alerts WHERE id IN (SELECT id FROM {rows})")
            store.run(
                f"INSERT INTO alerts ({_COLUMNS}) SELECT r.id, $rule, $title, "
                "CASE WHEN list_contains($severities, r.severity) THEN r.severity "
                "ELSE $severity END, $technique, r.entity, r.summary, r.tenant_ids, "
                "r.mailboxes, r.users, r.app_ids, "
                "list_filter(r.client_ips, lambda ip: ip IS NOT NULL), r.first_seen, "
                "r.last_seen, len(r.event_ids), coalesce(p.created_at, now()), "
                f"{why}, $techniques, coalesce(p.suppressed_by, m.suppressed_by) {joined}",
                {
                    "rule": analytic.id,
                    "title": analytic.title,
                    "severities": list(SEVERITIES),
                    "severity": analytic.severity,
                    "technique": analytic.technique,
                    "techniques": list(analytic.techniques),
                },
            )
        store.run(
            f"INSERT INTO alert_evidence SELECT DISTINCT id, unnest(event_ids) FROM {rows} "
            "ON CONFLICT DO NOTHING"
        )
    if why != "CAST(NULL AS JSON)" and dropped:
        log.warning("%s: %d detection(s) without a JSON object in why", analytic.id, dropped)
    return Written(int(found), int(new), int(suppressed))
