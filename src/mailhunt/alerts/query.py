"""Reading alerts back: typed rows with their evidence ids and campaign, for every renderer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    campaign_id: str | None = None  # the cross-tenant campaign it belongs to (campaign_members)


_SELECT = """
SELECT a.id, a.rule_id, a.title, a.severity, a.technique, a.entity, a.summary,
       a.tenant_ids, a.mailboxes, a.users, a.app_ids, a.client_ips,
       a.first_seen, a.last_seen, a.event_count, a.created_at,
       coalesce((SELECT list_sort(list(e.record_id)) FROM alert_evidence e
                 WHERE e.alert_id = a.id), []) AS event_ids,
       m.campaign_id
FROM alerts a LEFT JOIN campaign_members m ON m.alert_id = a.id
WHERE list_position(?, a.severity) IS NOT NULL
ORDER BY a.first_seen, a.id
"""


def list_alerts(store: Store, *, min_severity: str = "informational") -> list[Alert]:
    """Alerts at or above a severity (one of ``SEVERITIES``), oldest first."""
    if min_severity not in SEVERITY_RANK:
        raise InputError(f"unknown severity {min_severity!r} (one of {', '.join(SEVERITIES)})")
    allowed = list(SEVERITIES[SEVERITY_RANK[min_severity] :])
    return [Alert(*row) for row in store.query(_SELECT, [allowed])]
