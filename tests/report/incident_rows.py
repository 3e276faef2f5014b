"""Incident tables filled from alerts by plain SQL, for the report tests: the report reads
incidents as the incident build stores them (mailhunt.investigate.incidents), and these tests need
incidents whose every stored text is chosen (an XSS payload) whatever the build would group.

``store_incident`` makes one incident of the given alerts: its records are the alerts' evidence,
its mailboxes, messages, Syncs, blind windows and actions derived from those records (an action:
any other operation by the same actors), its title, assignee and a note as given. Its alerts
stay with the incidents the build made of them (``incident_alerts``): an extra incident, for
what the report shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailhunt.store.db import Store

_RECORDS = """
INSERT INTO incident_records
SELECT $id, e.record_id, 'events', e.tenant_id, e.time, e.mailbox_upn, e.actor_upn, e.operation,
       e.client_ip, 'evidence'
FROM events e
WHERE e.record_id IN (SELECT record_id FROM alert_evidence WHERE list_contains($alerts, alert_id))
"""

_MAILBOXES = """
INSERT INTO incident_mailboxes
SELECT $id, e.tenant_id, e.mailbox_upn, min(e.time), max(e.time), count(*),
       coalesce(sum(len(e.message_items)) FILTER (WHERE e.access_type = 'Bind'), 0),
       count(*) FILTER (WHERE e.access_type = 'Bind'),
       count(*) FILTER (WHERE e.access_type = 'Sync'),
       count(*) FILTER (WHERE e.access_type = 'Sync'), 0, 0,
       count(*) FILTER (WHERE e.throttled)
FROM events e JOIN incident_records r ON r.record_id = e.record_id AND r.incident_id = $id
WHERE e.mailbox_upn IS NOT NULL AND e.tenant_id IS NOT NULL
GROUP BY e.tenant_id, e.mailbox_upn
"""

_MESSAGES = """
INSERT INTO incident_messages
SELECT $id, m.tenant_id, m.mailbox_upn, m.folder_path, m.internet_message_id,
       any_value(m.size_bytes), 'Re: ' || m.internet_message_id, min(m.time), max(m.time),
       count(*), list_sort(list(m.record_id))
FROM mail_items m JOIN incident_records r ON r.record_id = m.record_id AND r.incident_id = $id
WHERE m.internet_message_id IS NOT NULL
GROUP BY ALL
"""

_SYNCS = """
INSERT INTO incident_syncs
SELECT $id, m.tenant_id, m.mailbox_upn, m.folder_path, min(m.time), max(m.time), count(*), 0,
       list_sort(list(m.record_id))
FROM mail_items m JOIN incident_records r ON r.record_id = m.record_id AND r.incident_id = $id
WHERE m.internet_message_id IS NULL
GROUP BY ALL
"""

_BLIND = """
INSERT INTO incident_blind_windows
SELECT DISTINCT $id, b.tenant_id, b.mailbox_upn, b.window_start, b.window_end, b.reason, b.record_id
FROM blind_windows b JOIN incident_mailboxes m
  ON m.incident_id = $id AND m.mailbox_upn = b.mailbox_upn
"""

_ACTIONS = """
INSERT INTO incident_actions
SELECT $id, e.record_id, coalesce(e.tenant_id, ''), e.time,
       CASE WHEN e.operation ILIKE '%InboxRule%' THEN 'inbox-rule'
            WHEN e.operation = 'Send' THEN 'send' ELSE 'other' END,
       e.operation, e.actor_upn, e.mailbox_upn, e.object_id, e.parameters
FROM events e
WHERE e.operation <> 'MailItemsAccessed'
  AND e.actor_upn IN (SELECT actor_upn FROM incident_records WHERE incident_id = $id)
"""

_INCIDENT = """
INSERT INTO incidents
SELECT $id, $title, $severity, 'investigating', $assignee,
       list_sort(list(DISTINCT tenant_id) FILTER (WHERE tenant_id IS NOT NULL)),
       list_sort(list(DISTINCT mailbox_upn) FILTER (WHERE mailbox_upn IS NOT NULL)),
       list_sort(list(DISTINCT actor_upn) FILTER (WHERE actor_upn IS NOT NULL)),
       (SELECT list_sort(list(DISTINCT a)) FROM (SELECT unnest(app_ids) AS a FROM alerts
        WHERE list_contains($alerts, id))),
       list_sort(list(DISTINCT client_ip) FILTER (WHERE client_ip IS NOT NULL)),
       list_sort($alerts), NULL, min(time), max(time), count(*),
       (SELECT count(*) FROM incident_messages WHERE incident_id = $id), $at, $at, NULL
FROM incident_records WHERE incident_id = $id
"""


def store_incident(
    store: Store,
    incident_id: str,
    alert_ids: list[str],
    *,
    title: str,
    severity: str = "high",
    assignee: str | None = None,
    note: tuple[str, str] | None = None,  # (author, text)
    at: datetime,
) -> None:
    """One incident of ``alert_ids``, its blast radius derived from their evidence."""
    key: dict[str, Any] = {"id": incident_id, "alerts": alert_ids}
    for sql in (_RECORDS, _MAILBOXES, _MESSAGES, _SYNCS, _BLIND, _ACTIONS):
        store.run(sql, key if "$alerts" in sql else {"id": incident_id})
    store.run(
        _INCIDENT,
        key | {"title": title, "severity": severity, "assignee": assignee, "at": at},
    )
    if note:
        store.insert_rows(
            "incident_notes",
            [
                {
                    "incident_id": incident_id,
                    "noted_at": at,
                    "author": note[0],
                    "kind": "note",
                    "text": note[1],
                }
            ],
        )
