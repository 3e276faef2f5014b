"""A small hand-built store for the export tests: two alerts (one over two tenants, one with
a sign-in among its evidence), a suppressed one, the records behind them; every value fixed
(times, ids), so exports are golden. ``hostile`` puts a string in every attacker-controlled
field (IP aside where it must parse: a second, unparsable IP carries it)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from mailhunt.store.db import Store
from tests.helpers import OTHER_TENANT, OUTLOOK, ROGUE_APP, TENANT, at

ALERT_HIGH = "a1" * 16
ALERT_LOW = "b2" * 16
ALERT_SUPPRESSED = "c3" * 16
INCIDENT = "d4" * 16
ATTACKER_IP = "45.77.191.159"
ATTACKER_IP6 = "2001:db8::bad:1"
AGENT = "python-requests/2.31.0"
OWNER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Outlook/16.0"


def _event(n: int, minutes: int, mailbox: str, **fields: Any) -> dict[str, Any]:
    row = {
        "record_id": f"ev-{n:03d}",
        "time": at(10, 2, minutes),
        "tenant_id": TENANT,
        "workload": "Exchange",
        "operation": "MailItemsAccessed",
        "actor_upn": mailbox,
        "mailbox_upn": mailbox,
        "app_id": "00000002-0000-0ff1-ce00-000000000000",
        "client_app_id": ROGUE_APP,
        "client_ip": ATTACKER_IP,
        "user_agent": AGENT,
        "aad_session_id": "sess-1",
        "token_id": f"uti-{n}",
        "access_type": "Bind",
        "source": "m365-ual-json",
        "source_ref": f"/data/ual.jsonl:{n}",
    }
    row.update(fields)
    return row


def _alert(alert_id: str, **fields: Any) -> dict[str, Any]:
    row = {
        "id": alert_id,
        "rule_id": "token-without-signin",
        "title": "Mail read with a token no sign-in issued",
        "severity": "critical",
        "technique": "T1550.001",
        "entity": json.dumps([TENANT, ROGUE_APP]),
        "summary": "Application read 2 mailbox(es) with tokens no stored sign-in issued",
        "tenant_ids": [TENANT],
        "mailboxes": ["alice@contoso.com", "bob@contoso.com"],
        "users": ["alice@contoso.com", "bob@contoso.com"],
        "app_ids": [ROGUE_APP],
        "client_ips": [ATTACKER_IP],
        "first_seen": at(10, 2, 0),
        "last_seen": at(10, 2, 30),
        "event_count": 3,
        "created_at": at(11, 0, 0),
        "techniques": ["T1550.001", "T1114.002"],
        "why": json.dumps({"baseline": "sign-ins 2024-04-01..2024-04-11", "new": ["uti-1"]}),
        "suppressed_by": None,
    }
    row.update(fields)
    return row


def build(store: Store, hostile: str | None = None) -> None:
    """The world; with ``hostile``, that string in every attacker-controlled field."""
    h = hostile
    agent = h if h is not None else AGENT
    app = h if h is not None else ROGUE_APP
    mailbox = h if h is not None else "bob@contoso.com"
    events = [
        _event(1, 0, "alice@contoso.com", user_agent=agent, client_app_id=app),
        _event(2, 10, mailbox, user_agent=agent, client_app_id=app, token_id=h or "uti-2"),
        _event(3, 30, "alice@contoso.com", client_ip=ATTACKER_IP6, aad_session_id=h or "sess-2"),
        _event(4, 40, "carol@contoso.com", tenant_id=OTHER_TENANT, client_ip=h or "10.9.8.7"),
        _event(
            5,
            50,
            "alice@contoso.com",
            client_app_id=OUTLOOK,
            user_agent=OWNER_AGENT,
            client_ip="198.51.100.7",
            token_id=None,
            aad_session_id=None,
        ),
    ]
    store.insert_rows("events", events)
    store.insert_rows(
        "signins",
        [
            {
                "record_id": "si-001",
                "time": at(10, 3, 0),
                "tenant_id": OTHER_TENANT,
                "user_upn": "carol@contoso.com",
                "app_id": app,
                "app_name": h if h is not None else "Rogue reader",
                "client_ip": ATTACKER_IP,
                "user_agent": agent,
                "session_id": "sess-9",
                "unique_token_id": "uti-9",
                "interactive": False,
                "error_code": 0,
                "source": "entra-signins-graph",
                "source_ref": "/data/signins.json:1",
            }
        ],
    )
    high = _alert(
        ALERT_HIGH,
        mailboxes=["alice@contoso.com", mailbox],
        users=["alice@contoso.com", mailbox],
        app_ids=[app],
        client_ips=[ATTACKER_IP, ATTACKER_IP6],
        summary=f"Application {app} read 2 mailbox(es) with tokens no stored sign-in issued",
    )
    low = _alert(
        ALERT_LOW,
        rule_id="tenant-rare-app",
        title="Application rare in the tenant reads mail",
        severity="low",
        technique="T1114.002",
        techniques=["T1114.002"],
        tenant_ids=[OTHER_TENANT, TENANT],
        mailboxes=["carol@contoso.com"],
        users=["carol@contoso.com"],
        client_ips=[h or "10.9.8.7", ATTACKER_IP],
        first_seen=at(10, 2, 40),
        last_seen=at(10, 3, 0),
        event_count=2,
        created_at=at(11, 0, 5) + timedelta(microseconds=250000),
        why=None,
    )
    suppressed = _alert(ALERT_SUPPRESSED, severity="medium", suppressed_by=1, event_count=1)
    store.insert_rows("alerts", [high, low, suppressed])
    store.insert_rows(
        "alert_evidence",
        [
            *({"alert_id": ALERT_HIGH, "record_id": f"ev-00{n}"} for n in (1, 2, 3)),
            {"alert_id": ALERT_LOW, "record_id": "ev-004"},
            {"alert_id": ALERT_LOW, "record_id": "si-001"},
            {"alert_id": ALERT_SUPPRESSED, "record_id": "ev-005"},
        ],
    )

    _incident(store, mailbox, h)


def _incident(store: Store, mailbox: str, h: str | None) -> None:
    """One incident over the high alert and the suppressed one, two records, a message read,
    a synced folder, a blind window and a note (which exports leave out)."""
    store.insert_rows(
        "incidents",
        [
            {
                "id": INCIDENT,
                "title": h if h is not None else "Forged tokens read 2 mailboxes",
                "severity": "critical",
                "status": "investigating",
                "assignee": "analyst@contoso.com",
                "tenant_ids": [TENANT],
                "mailboxes": ["alice@contoso.com", mailbox],
                "users": ["alice@contoso.com", mailbox],
                "app_ids": [h or ROGUE_APP],
                "client_ips": [ATTACKER_IP, ATTACKER_IP6],
                "alert_ids": [ALERT_HIGH, ALERT_SUPPRESSED],
                "campaign_id": None,
                "first_seen": at(10, 2, 0),
                "last_seen": at(10, 2, 30),
                "event_count": 2,
                "message_count": 1,
                "created_at": at(11, 1, 0),
                "updated_at": at(11, 2, 0),
                "merged_into": None,
            }
        ],
    )
    store.insert_rows(
        "incident_alerts",
        [
            {"tenant_id": TENANT, "alert_id": a, "incident_id": INCIDENT}
            for a in (ALERT_HIGH, ALERT_SUPPRESSED)
        ],
    )
    store.insert_rows(
        "incident_records",
        [
            {
                "incident_id": INCIDENT,
                "record_id": f"ev-00{n}",
                "table_name": "events",
                "tenant_id": TENANT,
                "time": at(10, 2, minutes),
                "mailbox_upn": box,
                "actor_upn": box,
                "operation": "MailItemsAccessed",
                "client_ip": ATTACKER_IP,
                "link": link,
            }
            for n, minutes, box, link in (
                (1, 0, "alice@contoso.com", "evidence"),
                (2, 10, mailbox, "token"),
            )
        ],
    )
    store.insert_rows(
        "incident_messages",
        [
            {
                "incident_id": INCIDENT,
                "tenant_id": TENANT,
                "mailbox_upn": mailbox,
                "folder_path": h if h is not None else "\\Inbox",
                "internet_message_id": h if h is not None else "<ev-002@contoso.onmicrosoft.com>",
                "size_bytes": 2048,
                "subject": h if h is not None else "Q2 board minutes",
                "first_read": at(10, 2, 10),
                "last_read": at(10, 2, 10),
                "reads": 1,
                "record_ids": ["ev-002"],
            }
        ],
    )
    store.insert_rows(
        "incident_mailboxes",
        [
            {
                "incident_id": INCIDENT,
                "tenant_id": TENANT,
                "mailbox_upn": mailbox,
                "first_access": at(10, 2, 10),
                "last_access": at(10, 2, 10),
                "records": 1,
                "messages_read": 1,
                "bind_records": 1,
                "sync_records": 0,
                "folders_synced": 0,
                "messages_sent": 0,
                "changes": 0,
                "blind_windows": 1,
            }
        ],
    )
    store.insert_rows(
        "incident_blind_windows",
        [
            {
                "incident_id": INCIDENT,
                "tenant_id": TENANT,
                "mailbox_upn": mailbox,
                "window_start": at(10, 2, 20),
                "window_end": at(11, 2, 20),
                "reason": "MailItemsAccessed throttled",
                "record_id": "ev-003",
            }
        ],
    )
    store.insert_rows(
        "incident_notes",
        [
            {
                "incident_id": INCIDENT,
                "noted_at": at(11, 2, 0),
                "author": "analyst",
                "kind": "note",
                "text": "SECRET-NOTE: call the CISO first",
            }
        ],
    )
