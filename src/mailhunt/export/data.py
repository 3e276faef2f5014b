"""What an export reads from the store besides the alerts themselves: for each finding, its
evidence records grouped by access context (client IP, application, user agent), with how
many records, when, and the Entra sessions and tokens they carried. One query for every
finding (no query per record); the exporters build STIX indicators and OCSF evidences from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.investigate.incidents import blast_radius, list_incidents
from mailhunt.investigate.model import BlastRadius
from mailhunt.store.db import Store


@dataclass(frozen=True)
class AccessContext:
    """Evidence records of one finding that share client IP, application and user agent."""

    client_ip: str | None
    app_id: str | None  # the client application holding the token (events), or signing in
    user_agent: str | None
    records: int
    first_seen: datetime
    last_seen: datetime
    session_ids: list[str] = field(default_factory=list)  # Entra session ids
    token_ids: list[str] = field(default_factory=list)  # unique token ids (UTI)


@dataclass(frozen=True)
class AlertFinding:
    """An alert with the access contexts of its evidence."""

    alert: Alert
    access: list[AccessContext]


# Evidence of the given alerts (events and sign-ins), grouped per alert and context; only the
# records of one tenant when $2 is not NULL (a tenant's notice).
_CONTEXTS = """
WITH chosen AS (SELECT unnest($1::VARCHAR[]) AS alert_id),
evidence AS (
    SELECT x.alert_id, e.client_ip, coalesce(e.client_app_id, e.app_id) AS app_id,
           e.user_agent, e.aad_session_id AS session_id, e.token_id, e.time
    FROM alert_evidence x JOIN chosen USING (alert_id) JOIN events e ON e.record_id = x.record_id
    WHERE $2::VARCHAR IS NULL OR e.tenant_id = $2
    UNION ALL
    SELECT x.alert_id, s.client_ip, s.app_id, s.user_agent, s.session_id, s.unique_token_id,
           s.time
    FROM alert_evidence x JOIN chosen USING (alert_id) JOIN signins s ON s.record_id = x.record_id
    WHERE $2::VARCHAR IS NULL OR s.tenant_id = $2
)
SELECT alert_id, client_ip, app_id, user_agent, count(*), min(time), max(time),
       list_sort(coalesce(list(DISTINCT session_id) FILTER (session_id IS NOT NULL), [])),
       list_sort(coalesce(list(DISTINCT token_id) FILTER (token_id IS NOT NULL), []))
FROM evidence
GROUP BY ALL
ORDER BY alert_id, min(time), client_ip NULLS FIRST, app_id NULLS FIRST, user_agent NULLS FIRST
"""


def access_contexts(
    store: Store, alert_ids: list[str], tenant_id: str | None = None
) -> dict[str, list[AccessContext]]:
    """The access contexts of each alert's evidence, oldest first (only the records of
    ``tenant_id`` when given)."""
    found: dict[str, list[AccessContext]] = defaultdict(list)
    for alert_id, *values in store.query(_CONTEXTS, [alert_ids, tenant_id]):
        found[alert_id].append(_context(values))
    return found


def _context(values: list[Any]) -> AccessContext:
    ip, app, agent, records, first, last, sessions, tokens = values
    return AccessContext(ip, app, agent, records, first, last, list(sessions), list(tokens))


def read_alert_findings(store: Store) -> list[AlertFinding]:
    """Every alert no suppression holds, oldest first, with its access contexts."""
    alerts = list_alerts(store)
    contexts = access_contexts(store, [a.id for a in alerts])
    return [AlertFinding(a, contexts.get(a.id, [])) for a in alerts]


@dataclass(frozen=True)
class IncidentFinding:
    """An incident with its blast radius and its alerts (each with its access contexts)."""

    radius: BlastRadius
    alerts: list[AlertFinding]


def read_incident_findings(store: Store) -> list[IncidentFinding]:
    """Every live incident, oldest first, with its blast radius and alerts (suppressed ones
    included: an incident holds what it holds). One query per incident for its radius."""
    incidents = list_incidents(store)
    alerts = {a.id: a for a in list_alerts(store, include_suppressed=True)}
    wanted = [a for i in incidents for a in i.alert_ids if a in alerts]
    contexts = access_contexts(store, list(dict.fromkeys(wanted)))
    return [
        IncidentFinding(
            blast_radius(store, incident.id),
            [
                AlertFinding(alerts[a], contexts.get(a, []))
                for a in incident.alert_ids
                if a in alerts
            ],
        )
        for incident in incidents
    ]
