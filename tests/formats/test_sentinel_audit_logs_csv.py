"""Log Analytics portal CSV exports of AuditLogs onto the events table; a hunting query's
projected output (no time column) is skipped, not half-read."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from mailhunt.formats.sentinel_audit_logs import FORMAT as JSON_FORMAT
from mailhunt.formats.sentinel_audit_logs_csv import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    TENANT,
    Record,
    check_golden_file,
    counts,
    table_rows,
)

HERE = FIXTURES / "formats" / "sentinel_audit_logs_csv"
PORTAL = HERE / "sentinel_auditlogs_portal.csv"
JSON_ROWS = FIXTURES / "formats" / "sentinel_audit_logs" / "sentinel_auditlogs.jsonl"
GRANT = "Directory_0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f_KQ2B7_11112222"
CREDENTIAL = "Directory_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d_M4N5P_33334444"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "azure-sentinel-training-lab"
    / "AuditLogs_Hunting.csv"
)


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.fixture
def audits(store: Store) -> dict[str, Record]:
    result = ingest(store, [PORTAL]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 0)
    assert not result.warnings
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(audits: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in audits.values()])


def test_sniffed_as_portal_csv() -> None:
    sniffed, _ = sniff_file(PORTAL)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("csv", FORMAT.name)


def test_portal_times_and_multiline_cells(audits: dict[str, Record]) -> None:
    assert audits[GRANT]["time"] == "2024-03-04T09:20:11.502000Z"  # "3/4/2024, 9:20:11.502 AM"
    assert audits[CREDENTIAL]["source_ref"] == "sentinel_auditlogs_portal.csv:27"


def test_initiated_by_from_dynamic_or_string_column(audits: dict[str, Record]) -> None:
    assert audits[GRANT]["actor_upn"] == "alice.walker@contoso.onmicrosoft.com"  # _dynamic
    assert audits[CREDENTIAL]["app_id"] == "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"  # _string
    assert {row["tenant_id"] for row in audits.values()} == {TENANT}


def test_maps_as_the_json_rows_do(audits: dict[str, Record]) -> None:
    with Store.open(None) as other:
        ingest(other, [JSON_ROWS])
        json_rows = {r["record_id"]: r for r in table_rows(other, "events")}
    same = [c for c in FORMAT.select if c not in ("time", "warnings")]
    for record_id, row in audits.items():
        assert {c: row[c] for c in same} == {c: json_rows[record_id][c] for c in same}
    assert JSON_FORMAT.select == FORMAT.select


def test_malformed_rows_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    header, rows = PORTAL.read_bytes().decode("utf-8-sig").split("\r\n", 1)
    broken = rows.replace(GRANT, "").replace("3/4/2024, 9:25:42.000 AM", "next Tuesday")
    path = tmp_path / "audit.csv"
    path.write_bytes(f"{header}\r\n{broken}{rows}".encode())  # then both rows intact
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 2)
    assert store.query("SELECT line, reason FROM quarantine ORDER BY line") == [
        (2, "missing_fields"),
        (27, "missing_fields"),
    ]


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [PORTAL])
    assert ingest(store, [PORTAL]).files[0].status == "duplicate"
    assert store.count("events") == 2


def test_real_hunting_output_without_time_is_skipped(store: Store) -> None:
    """AuditLogs_Hunting.csv is a hunting query's projection: it keeps Id but dropped
    TimeGenerated and ActivityDateTime, so its rows cannot be placed in time. It must be
    skipped whole, with the reason, rather than read in part."""
    if not REAL.is_file():
        pytest.skip(f"real sample {REAL} absent (set MAILHUNT_REAL_DATA)")
    with REAL.open(encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    assert "Id" in header
    assert not {
        "TimeGenerated",
        "TimeGenerated [UTC]",
        "ActivityDateTime",
        "ActivityDateTime [UTC]",
    } & set(header)
    sniffed, why = sniff_file(REAL)
    assert sniffed is None
    assert why.startswith("no format matched")
    result = ingest(store, [REAL]).files[0]
    assert (result.status, result.format, result.records_read) == ("skipped", None, 0)
    assert result.detail.startswith("no format matched")
    assert counts(store)["events"] == 0
    assert store.count("quarantine") == 0
