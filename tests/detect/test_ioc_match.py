"""ioc-match: stored records matching the shipped Storm-0558 indicators and imported lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.cli import app, main
from mailhunt.detect.analytics.ioc_match import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, TENANT, Record, at, mail_access, signin_record, write_jsonl

ALICE = "alice@contoso.onmicrosoft.com"
PROXY = "51.89.156.153"  # a Storm-0558 SoftEther proxy (Microsoft, 14 July 2023)


def detect(store: Store, tmp_path: Path, ual: list[Record], signins: list[Record]) -> list[Alert]:
    write_jsonl(tmp_path / "logs" / "ual.jsonl", ual)
    write_jsonl(tmp_path / "logs" / "signins.jsonl", signins)
    assert ingest(store, [tmp_path / "logs"]).quarantined == 0
    summary = run_detections(store, analytics=[ANALYTIC])
    assert summary.failed == {}
    return list_alerts(store)


def test_mail_access_from_a_published_storm_0558_proxy_is_critical(
    store: Store, tmp_path: Path
) -> None:
    ual = [
        mail_access("read-1", at(1, 3), ALICE, OUTLOOK, ip=f"{PROXY}:50123"),
        mail_access("read-ok", at(1, 9), ALICE, OUTLOOK),
    ]
    [alert] = detect(store, tmp_path, ual, [signin_record("s-1", at(1, 2), ALICE, OUTLOOK)])
    assert (alert.rule_id, alert.severity) == ("ioc-match", "critical")
    assert alert.event_ids == ["read-1"]
    assert json.loads(alert.entity) == [TENANT, "storm-0558", "ip", PROXY]
    assert "storm-0558" in alert.summary
    assert "SoftEther proxy" in alert.summary
    assert "inside its published" not in alert.summary  # 2024 is after the last-seen date


def test_records_matching_no_indicator_raise_nothing(store: Store, tmp_path: Path) -> None:
    ual = [mail_access("read-ok", at(1, 9), ALICE, OUTLOOK, ip="51.89.156.154:443")]
    assert detect(store, tmp_path, ual, [signin_record("s-1", at(1, 2), ALICE, OUTLOOK)]) == []


def test_imported_csv_list_matches_signins_retroactively(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    write_jsonl(tmp_path / "logs" / "ual.jsonl", [mail_access("r", at(1), ALICE, OUTLOOK)])
    failed = {**signin_record("s-bad", at(1, 2), ALICE, OUTLOOK, ip="203.0.113.99")}
    failed["status"] = {"errorCode": 50126, "failureReason": "Invalid password"}
    write_jsonl(tmp_path / "logs" / "signins.jsonl", [failed])
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(tmp_path / "logs"), "--db", str(db)]).exit_code == 0
    (tmp_path / "iocs.csv").write_text("type,value,description\nip,203.0.113.99,spray source\n")
    imported = runner.invoke(app, ["ioc", "import", str(tmp_path / "iocs.csv"), "--db", str(db)])
    assert imported.exit_code == 0, imported.output
    assert "iocs.csv: 1 indicator(s)" in imported.output
    assert runner.invoke(app, ["detect", "--db", str(db)]).exit_code == 0
    with Store.open(db, create=False, read_only=True) as store:
        [alert] = [a for a in list_alerts(store) if a.rule_id == "ioc-match"]
    assert (alert.severity, alert.event_ids) == ("high", ["s-bad"])  # a failed sign-in
    listed = runner.invoke(app, ["ioc", "list", "--db", str(db)])
    assert "storm-0558" in listed.output
    assert "iocs.csv" in listed.output


def test_a_file_that_is_no_indicator_list_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    code = main(["ioc", "import", str(tmp_path / "x.csv"), "--db", str(tmp_path / "m.duckdb")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [
        "mailhunt: x.csv: neither a STIX 2.1 bundle nor a CSV with 'type' and 'value' columns"
    ]
