"""A tiny hand-built store for the Sigma tests: a few events and sign-ins whose values hold
what quoting must survive (quotes, backslashes, %, _, regex metacharacters, NUL), and a
helper that converts one rule and returns the record ids it matches."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mailhunt.sigma.compiler import CONVERTED, Compiled, checking_store, compile_rule
from mailhunt.sigma.loader import load_file
from mailhunt.store.db import Store

T0 = datetime(2024, 4, 11, 9, 0, tzinfo=UTC)
TENANT = "0b5f4a8e-1c2d-4e3f-9a8b-7c6d5e4f3a2b"
UAL = "m365-ual-json"
SIGNINS = "entra-signins-graph"

# base64 of "ps" in UTF-16LE, and "xsecret!" (base64offset finds "secret" in it)
WIDE_B64 = base64.b64encode("ps".encode("utf-16-le")).decode()
OFFSET_B64 = base64.b64encode(b"xsecret!").decode()


def _event(record_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_id": record_id,
        "time": T0,
        "tenant_id": TENANT,
        "source": UAL,
        "workload": "Exchange",
        "record_type": 1,
        "operation": None,
        "result": None,
        "actor_upn": None,
        "mailbox_upn": None,
        "client_ip": None,
        "user_agent": None,
        "object_id": None,
        "parameters": None,
    }
    row.update(values)
    return row


EVENTS = [
    _event(
        "e1",
        operation="New-InboxRule",
        result="Succeeded",
        actor_upn="alice@contoso.com",
        mailbox_upn="alice@contoso.com",
        client_ip="10.1.2.3",
        user_agent="Mozilla/5.0 (Windows NT 10.0)",
        object_id="Alice\\Inbox rule 'x'",
        parameters=[{"name": "ForwardTo", "value": "evil@x.com"}],
    ),
    _event(
        "e2",
        operation="MailItemsAccessed",
        record_type=50,
        actor_upn="bob@contoso.com",
        mailbox_upn="carol@contoso.com",
        client_ip="192.168.5.6",
        user_agent="python-requests/2.31",
        object_id="100%_done",
    ),
    _event(
        "e3",
        operation="Set-Mailbox",
        result="Failed",
        client_ip="2001:db8::1",
        user_agent="It's a \\path\\ with (?i) [x]",
        object_id="a\x00b",
        parameters=[{"name": "ForwardingSmtpAddress", "value": "smtp:evil@x.com"}],
    ),
    _event(
        "e4",
        operation="Add-MailboxPermission",
        result="Succeeded",
        user_agent="cmd /enc AAAA",
        object_id=WIDE_B64 + " " + OFFSET_B64,
    ),
    # an Entra directory audit: the same store table, another log source
    _event(
        "d1",
        source="azure-monitor-audit-logs",
        workload="AzureActiveDirectory",
        operation="Add member to role",
        result="success",
    ),
]

SIGNIN_ROWS = [
    {
        "record_id": "s1",
        "time": T0,
        "tenant_id": TENANT,
        "source": SIGNINS,
        "user_upn": "alice@contoso.com",
        "user_agent": "azurehound/2.0",
        "client_ip": "10.1.2.3",
        "error_code": 0,
        "interactive": True,
    },
    {
        "record_id": "s2",
        "time": T0,
        "tenant_id": TENANT,
        "source": SIGNINS,
        "user_upn": "bob@contoso.com",
        "user_agent": None,
        "client_ip": "203.0.113.9",
        "error_code": 50053,
        "interactive": False,
    },
]


def fill(store: Store) -> Store:
    """The world's rows stored."""
    store.insert_rows("events", EVENTS)
    store.insert_rows("signins", SIGNIN_ROWS)
    return store


def rule_text(
    detection: dict[str, Any],
    *,
    product: str = "m365",
    service: str = "audit",
    rule_id: str | None = None,
    level: str = "high",
    tags: tuple[str, ...] = ("attack.persistence", "attack.t1098.002"),
) -> str:
    """A Sigma rule's YAML; ``detection`` holds the condition (default: ``sel``)."""
    body = dict(detection)
    body.setdefault("condition", "sel")
    rule = {
        "title": "Test rule",
        "id": rule_id or str(uuid.uuid4()),
        "status": "test",
        "logsource": {"product": product, "service": service},
        "detection": body,
        "level": level,
        "tags": list(tags),
    }
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True)


def compile_text(tmp_path: Path, text: str) -> Compiled:
    """The one rule of ``text`` compiled."""
    path = tmp_path / f"rule-{uuid.uuid4().hex[:8]}.yml"
    path.write_text(text, "utf-8")
    (loaded,) = load_file(path)
    with checking_store() as store:
        return compile_rule(loaded, store)


def matches(store: Store, tmp_path: Path, detection: dict[str, Any], **rule: Any) -> set[str]:
    """Record ids the rule matches in the store (it must convert)."""
    compiled = compile_text(tmp_path, rule_text(detection, **rule))
    assert compiled.status == CONVERTED, compiled.reason
    return {row[0] for row in store.query(f"SELECT record_id FROM ({compiled.query})")}
