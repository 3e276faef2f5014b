"""Alert renderers: the JSON Lines contract, CSV with formula guards, ISO 8601 UTC times."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mailhunt.alerts.query import Alert
from mailhunt.report.alerts import CSV_FIELDS, JSONL_FIELDS, iso_utc, to_csv, to_jsonl

CONTRACT = (
    "id",
    "rule_id",
    "title",
    "severity",
    "tenant_ids",
    "mailboxes",
    "users",
    "app_ids",
    "client_ips",
    "first_seen",
    "last_seen",
    "event_ids",
)
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
SEVERITIES = {"informational", "low", "medium", "high", "critical"}


def make_alert(**changes: object) -> Alert:
    values: dict[str, Any] = {
        "id": "5bc2615bb7dfa8b20c3e0a780fa8ca58",
        "rule_id": "mailbox-first-seen-app",
        "title": "Application reads a mailbox it never read before",
        "severity": "high",
        "technique": "T1114.002",
        "entity": "tenant|app",
        "summary": "Application app read 2 mailbox(es) it had not read before",
        "tenant_ids": ["tenant"],
        "mailboxes": ["alice@contoso.com", "bob@contoso.com"],
        "users": ["sp-1"],
        "app_ids": ["app"],
        "client_ips": ["45.77.191.159"],
        "first_seen": datetime(2024, 4, 11, 2, 13, tzinfo=UTC),
        "last_seen": datetime(2024, 4, 11, 4, 20, 1, 250000, tzinfo=timezone(timedelta(hours=2))),
        "event_count": 2,
        "created_at": datetime(2024, 4, 12, tzinfo=UTC),
        "event_ids": ["e1", "e2"],
    }
    values.update(changes)
    return Alert(**values)


def test_jsonl_contract_fields() -> None:
    assert set(CONTRACT) <= set(JSONL_FIELDS)
    text = to_jsonl([make_alert(), make_alert(id="other", severity="low")])
    lines = text.splitlines()
    assert len(lines) == 2
    assert text.endswith("\n")
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict)
        assert set(CONTRACT) <= set(record)
        assert record["severity"] in SEVERITIES
        assert ISO_Z.fullmatch(record["first_seen"])
        assert ISO_Z.fullmatch(record["last_seen"])
        for name in ("tenant_ids", "mailboxes", "users", "app_ids", "client_ips", "event_ids"):
            assert isinstance(record[name], list)
    first = json.loads(lines[0])
    assert first["first_seen"] == "2024-04-11T02:13:00Z"
    assert first["last_seen"] == "2024-04-11T02:20:01.250000Z"
    assert first["event_ids"] == ["e1", "e2"]


def test_jsonl_of_no_alerts_is_empty() -> None:
    assert to_jsonl([]) == ""


def test_iso_utc_converts_offsets_to_z() -> None:
    moment = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert iso_utc(moment) == "2024-01-01T06:00:00Z"


def test_csv_header_and_list_cells() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([make_alert()]))))
    assert rows[0] == list(CSV_FIELDS)
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["mailboxes"] == "alice@contoso.com;bob@contoso.com"
    assert record["first_seen"] == "2024-04-11T02:13:00Z"
    assert record["event_count"] == "2"


def test_csv_guards_formula_cells() -> None:
    alert = make_alert(
        mailboxes=["=cmd|' /c calc'!A0@evil.example", "bob@contoso.com"],
        summary="+SUM(1,2)",
        users=["-2+3"],
        app_ids=["@app"],
    )
    rows = list(csv.reader(io.StringIO(to_csv([alert]))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["mailboxes"] == "'=cmd|' /c calc'!A0@evil.example;bob@contoso.com"
    assert record["summary"] == "'+SUM(1,2)"
    assert record["users"] == "'-2+3"
    assert record["app_ids"] == "'@app"
    assert record["title"] == "Application reads a mailbox it never read before"


def test_jsonl_campaign_id_is_null_outside_a_campaign() -> None:
    alone, member = to_jsonl([make_alert(), make_alert(campaign_id="c" * 32)]).splitlines()
    assert json.loads(alone)["campaign_id"] is None
    assert json.loads(member)["campaign_id"] == "c" * 32
    assert JSONL_FIELDS[-1] == "campaign_id"  # added at the end: no field renamed or moved
