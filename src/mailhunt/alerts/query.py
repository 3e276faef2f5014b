"""Reading alerts back: typed rows with their evidence ids and campaign, for every
renderer. Suppressed alerts (``suppressed_by`` set) are left out unless asked for, and counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from mailhunt.detect.base import SEVERITIES, SEVERITY_RANK
from mailhunt.errors import InputError
from mailhunt.store.db import Store


@dataclass(frozen=True)
class Alert:
    """One alert as stored, with the record ids of its evidence."""

    id: str
    rule_id: str
    title: str
    severity: str
    technique: str
    entity: str
    summary: str
    tenant_ids: list[str]
    mailboxes: list[str]
    users: list[str]
    app_ids: list[str]
    client_ips: list[str]
    first_seen: datetime
    last_seen: datetime
    event_count: int
    created_at: datetime
    event_ids: list[str]
    techniques: list[str] = field(default_factory=list)  # every ATT&CK id, technique first
    why: dict[str, Any] | None = None  # the analytic's JSON object: baseline, new, ...
    suppressed_by: int | None = None  # the suppression holding it, if one does
    campaign_id: str | None = None  # the cross-tenant campaign it belongs to (campaign_members)


_SELECT = """
SELECT a.id, a.rule_id, a.title, a.severity, a.technique, a.entity, a.summary,
       a.tenant_ids, a.mailboxes, a.users, a.app_ids, a.client_ips,
       a.first_seen, a.last_seen, a.event_count, a.created_at,
       coalesce((SELECT list_sort(list(e.record_id)) FROM alert_evidence e
                 WHERE e.alert_id = a.id), []) AS event_ids,
       coalesce(a.techniques, [a.technique]) AS techniques,
       CAST(a.why AS VARCHAR) AS why, a.suppressed_by, m.campaign_id
FROM alerts a LEFT JOIN campaign_members m ON m.alert_id = a.id
WHERE list_position(?, a.severity) IS NOT NULL AND (? OR a.suppressed_by IS NULL)
ORDER BY a.first_seen, a.id
"""


def _allowed(min_severity: str) -> list[str]:
    if min_severity not in SEVERITY_RANK:
        raise InputError(f"unknown severity {min_severity!r} (one of {', '.join(SEVERITIES)})")
    return list(SEVERITIES[SEVERITY_RANK[min_severity] :])


_FIELDS = [f.name for f in fields(Alert)]


def _alert(row: tuple[Any, ...]) -> Alert:
    values = dict(zip(_FIELDS, row, strict=True))
    if values["why"] is not None:
        values["why"] = json.loads(values["why"])
    return Alert(**values)


def list_alerts(
    store: Store, *, min_severity: str = "informational", include_suppressed: bool = False
) -> list[Alert]:
    """Alerts at or above a severity (one of ``SEVERITIES``), oldest first; suppressed ones
    only when asked for."""
    return [
        _alert(row) for row in store.query(_SELECT, [_allowed(min_severity), include_suppressed])
    ]


def count_suppressed(store: Store, *, min_severity: str = "informational") -> int:
    """How many alerts at or above the severity a suppression holds."""
    return store.scalar(
        "SELECT count(*) FROM alerts WHERE list_position(?, severity) IS NOT NULL "
        "AND suppressed_by IS NOT NULL",
        [_allowed(min_severity)],
    )
