"""telemetry-gap: each kind of blind spot is a coverage finding; covered logs give none."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mailhunt.cli import app
from mailhunt.detect.coverage import coverage_findings
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    OTHER_TENANT,
    OUTLOOK,
    TENANT,
    Record,
    at,
    mail_access,
    signin_record,
    ual_record,
    write_jsonl,
)

ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"


def silent(record: Record) -> Record:
    return {**record, "isInteractive": False}


def covered_days(days: range, tenant: str = TENANT) -> tuple[list[Record], list[Record]]:
    """Alice reads her mail every day; a sign-in (interactive and silent) every day."""
    ual = [
        mail_access(f"read-{tenant[:4]}-{d}", at(d), ALICE, OUTLOOK, tenant=tenant) for d in days
    ]
    signins = [
        silent(signin_record(f"s-{tenant[:4]}-{d}", at(d, 8), ALICE, OUTLOOK, tenant=tenant))
        for d in days
    ]
    signins.append(signin_record(f"i-{tenant[:4]}", at(0, 7), ALICE, OUTLOOK, tenant=tenant))
    return ual, signins


def findings(
    store: Store, tmp_path: Path, ual: list[Record], signins: list[Record]
) -> list[tuple[object, ...]]:
    write_jsonl(tmp_path / "ual.jsonl", ual)
    if signins:
        write_jsonl(tmp_path / "signins.jsonl", signins)
    summary = ingest(store, [tmp_path])
    assert summary.quarantined == 0
    return [(f.kind, f.tenant_id, f.mailbox, f.days, f.records) for f in coverage_findings(store)]


def test_covered_logs_give_no_finding(store: Store, tmp_path: Path) -> None:
    assert findings(store, tmp_path, *covered_days(range(5))) == []


def test_tenant_with_mail_access_but_no_signins(store: Store, tmp_path: Path) -> None:
    ual, signins = covered_days(range(5))
    other, _ = covered_days(range(3), tenant=OTHER_TENANT)
    assert findings(store, tmp_path, ual + other, signins) == [
        ("no-signin-logs", OTHER_TENANT, None, 3, 3)
    ]


def test_tenant_without_noninteractive_signins(store: Store, tmp_path: Path) -> None:
    ual, signins = covered_days(range(4))
    interactive = [{**s, "isInteractive": True} for s in signins]
    assert findings(store, tmp_path, ual, interactive) == [
        ("no-noninteractive-signins", TENANT, None, 4, 4)
    ]


def test_days_without_signins_inside_the_covered_period(store: Store, tmp_path: Path) -> None:
    ual, signins = covered_days(range(6))
    missing = {"s-7f1c-2", "s-7f1c-3"}
    kept = [s for s in signins if s["id"] not in missing]
    assert findings(store, tmp_path, ual, kept) == [("signin-gap", TENANT, None, 2, 2)]


def test_days_with_audit_records_but_no_mail_access(store: Store, tmp_path: Path) -> None:
    ual, signins = covered_days(range(3))
    sends = [
        ual_record(f"send-{d}", at(d, 11), UserId=ALICE, MailboxOwnerUPN=ALICE) for d in (3, 4)
    ]
    signins += [silent(signin_record(f"s-late-{d}", at(d, 8), ALICE, OUTLOOK)) for d in (3, 4)]
    assert findings(store, tmp_path, ual + sends, signins) == [
        ("mail-access-gap", TENANT, None, 2, 2)
    ]


def test_mailbox_that_acts_but_is_never_read_audited(store: Store, tmp_path: Path) -> None:
    ual, signins = covered_days(range(3))
    sends = [ual_record(f"bob-{d}", at(d, 11), UserId=BOB, MailboxOwnerUPN=BOB) for d in range(3)]
    assert findings(store, tmp_path, ual + sends, signins) == [
        ("mailbox-not-audited", TENANT, BOB, 3, 3)
    ]


def test_coverage_command_jsonl(tmp_path: Path) -> None:
    ual, _ = covered_days(range(2))
    write_jsonl(tmp_path / "in" / "ual.jsonl", ual)
    db = tmp_path / "m.duckdb"
    with Store.open(db) as store:
        ingest(store, [tmp_path / "in"])
    result = CliRunner().invoke(app, ["coverage", "--db", str(db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    [record] = [json.loads(line) for line in result.output.splitlines()]
    assert record == {
        "rule_id": "telemetry-gap",
        "kind": "no-signin-logs",
        "tenant_id": TENANT,
        "mailbox": None,
        "first_day": "2024-04-01",
        "last_day": "2024-04-02",
        "days": 2,
        "records": 2,
        "detail": record["detail"],
        "blind_analytics": ["token-without-signin"],
    }
