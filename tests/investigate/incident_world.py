"""A small hand-built store for the incident tests: events, sign-ins and alerts written
straight into the tables (no ingest, no analytics), so each test states exactly what links
what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mailhunt.store.db import Store

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TENANT_A = "aaaaaaaa-0000-0000-0000-000000000001"
TENANT_B = "bbbbbbbb-0000-0000-0000-000000000002"
EVIL_APP = "11111111-2222-3333-4444-555555555555"
OUTLOOK = "5d661950-3475-41cd-a2c3-d671a3162bc1"
EVIL_IP = "203.0.113.66"
HOME_IP = "198.51.100.7"


def day(n: float, hour: int = 9) -> datetime:
    return T0 + timedelta(days=n, hours=hour - 9)


def read(
    record_id: str,
    when: datetime,
    mailbox: str,
    *,
    tenant: str = TENANT_A,
    actor: str | None = None,
    app: str | None = OUTLOOK,
    ip: str = HOME_IP,
    aad: str | None = None,
    session: str | None = None,
    token: str | None = None,
    access: str = "Bind",
    messages: tuple[tuple[str, str], ...] = (),
    throttled: bool = False,
) -> dict[str, Any]:
    """A MailItemsAccessed row; ``messages`` are (folder, Internet Message-ID); a Sync lists
    its folders with no message id."""
    items = [{"folder_path": f, "internet_message_id": m, "size_bytes": 1000} for f, m in messages]
    return {
        "record_id": record_id,
        "time": when,
        "tenant_id": tenant,
        "operation": "MailItemsAccessed",
        "actor_upn": actor or mailbox,
        "mailbox_upn": mailbox,
        "client_app_id": app,
        "client_ip": ip,
        "aad_session_id": aad,
        "session_id": session,
        "token_id": token,
        "access_type": access,
        "throttled": throttled,
        "message_items": items,
        "item_count": len(items),
        "source": "test",
    }


def admin(
    record_id: str,
    when: datetime,
    operation: str,
    actor: str,
    *,
    tenant: str = TENANT_A,
    ip: str = EVIL_IP,
    parameters: tuple[tuple[str, str], ...] = (),
    object_id: str | None = None,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "time": when,
        "tenant_id": tenant,
        "operation": operation,
        "actor_upn": actor,
        "client_ip": ip,
        "object_id": object_id,
        "parameters": [{"name": n, "value": v} for n, v in parameters],
        "message_items": [],
        "source": "test",
    }


def add_events(store: Store, rows: list[dict[str, Any]]) -> None:
    names = sorted({k for row in rows for k in row})
    store.insert_columns("events", {n: [row.get(n) for row in rows] for n in names})


def add_alert(
    store: Store,
    alert_id: str,
    evidence: list[str],
    *,
    rule: str = "token-without-signin",
    severity: str = "high",
    when: datetime = T0,
    tenants: tuple[str, ...] = (TENANT_A,),
    suppressed_by: int | None = None,
) -> None:
    store.insert_rows(
        "alerts",
        [
            {
                "id": alert_id,
                "rule_id": rule,
                "title": f"{rule} fired",
                "severity": severity,
                "technique": "T1114.002",
                "entity": f'["{alert_id}"]',
                "summary": "test",
                "tenant_ids": list(tenants),
                "mailboxes": [],
                "users": [],
                "app_ids": [],
                "client_ips": [],
                "first_seen": when,
                "last_seen": when,
                "event_count": len(evidence),
                "created_at": when,
                "suppressed_by": suppressed_by,
            }
        ],
    )
    store.insert_rows("alert_evidence", [{"alert_id": alert_id, "record_id": r} for r in evidence])


def owner_history(store: Store, mailbox: str, *, tenant: str = TENANT_A) -> list[str]:
    """Thirty days of the owner's own Outlook reads from home, before and during the tests'
    window (days -30 .. 9): habitual access."""
    rows = [
        read(
            f"own-{mailbox[:3]}-{n}",
            day(n - 30, 8),
            mailbox,
            tenant=tenant,
            aad=f"own-session-{n}",
            messages=(("\\Inbox", f"<own-{mailbox[:3]}-{n}@x>"),),
        )
        for n in range(40)
    ]
    add_events(store, rows)
    return [r["record_id"] for r in rows]
