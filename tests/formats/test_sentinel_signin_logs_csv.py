"""Log Analytics portal CSV exports of SigninLogs / AADNonInteractiveUserSignInLogs onto the
signins table, on committed fixtures and on the Sentinel training lab's real exports."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from mailhunt.formats.sentinel_signin_logs_csv import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "sentinel_signin_logs_csv"
PORTAL = HERE / "sentinel_signinlogs_portal.csv"
NON_INTERACTIVE = HERE / "sentinel_noninteractive_portal.csv"
NO_TIME = HERE / "sentinel_signinlogs_no_time.csv"
FILES = [PORTAL, NON_INTERACTIVE, NO_TIME]
ROW = "9e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f{:04d}"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "azure-sentinel-training-lab"
)
REAL_TENANT = "2ad3fc79-1859-42fa-9011-6f8df2251b22"  # AADTenantId of the lab
REAL_WORKSPACE = "7c759f10-811c-4db8-ad6d-f07d8ae3f8ea"  # its TenantId column (workspace)


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


def real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real sample {path} absent (set MAILHUNT_REAL_DATA to its folder's parent)")
    return path


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    summary = ingest(store, FILES)
    assert [(f.format, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, 3, 0),
        (FORMAT.name, 2, 0),
        (FORMAT.name, 2, 0),
    ]
    return {row["record_id"]: row for row in table_rows(store, "signins")}


def test_rows_match_golden(signins: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in signins.values()])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sniffed_as_portal_csv(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("csv", FORMAT.name)


def test_portal_times_are_utc_with_am_pm(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["time"] == "2024-03-04T15:05:25.870000Z"  # 3:05:25.870 PM
    assert signins[ROW.format(2)]["time"] == "2024-03-05T00:05:26.123000Z"  # 12:05:26.123 AM
    assert signins[ROW.format(3)]["time"] == "2024-03-05T12:40:00Z"  # 12:40 PM


def test_created_time_first_then_time_generated(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["time"].startswith("2024-03-04T15:05:25")  # not :26 (TG)
    assert signins[ROW.format(3)]["time"] == "2024-03-05T12:40:00Z"  # no CreatedDateTime
    assert signins[ROW.format(11)]["time"] == "2024-03-04T10:31:06.118000Z"  # TG only


def test_dynamic_columns_exported_twice_read_from_either(signins: dict[str, Record]) -> None:
    from_dynamic, from_string = signins[ROW.format(1)], signins[ROW.format(2)]
    assert (from_dynamic["error_code"], from_dynamic["city"]) == (0, "Austin")
    assert (from_string["error_code"], from_string["city"], from_string["country"]) == (
        50074,
        "Lagos",
        "NG",
    )
    assert from_string["failure_reason"] == "Strong Authentication is required."


def test_dynamic_columns_exported_once_as_json_text(signins: dict[str, Record]) -> None:
    expired = signins[ROW.format(12)]
    assert (expired["error_code"], expired["city"], expired["interactive"]) == (
        700082,
        "Amsterdam",
        False,
    )
    assert signins[ROW.format(1)]["interactive"] is True  # "TRUE"


def test_bom_crlf_and_multiline_cells_keep_record_lines(signins: dict[str, Record]) -> None:
    lines = [signins[ROW.format(n)]["source_ref"] for n in (1, 2, 3)]
    assert lines == [
        "sentinel_signinlogs_portal.csv:2",
        "sentinel_signinlogs_portal.csv:9",
        "sentinel_signinlogs_portal.csv:21",
    ]  # AuthenticationDetails spans lines


def test_tenant_is_aad_tenant_not_workspace(signins: dict[str, Record]) -> None:
    assert {row["tenant_id"] for row in signins.values()} == {TENANT}


def test_no_time_column_takes_the_first_authentication_step(store: Store) -> None:
    result = ingest(store, [NO_TIME]).files[0]
    assert (result.records_new, result.quarantined) == (2, 0)
    assert result.warnings == {"time_from_authentication_details": 2}
    times = [row["time"] for row in table_rows(store, "signins")]
    assert times == ["2024-03-06T12:13:19.483475Z", "2024-03-06T12:13:31.421466Z"]


def test_malformed_rows_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    text = NON_INTERACTIVE.read_text("utf-8-sig")
    header, first, second = text.splitlines()
    broken = [
        first.replace("9e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f0011", ""),  # no Id
        second.replace("3/4/2024, 10:45:00.250 AM", "04.03.2024 10:45"),
    ]  # unknown time
    path = tmp_path / "signins.csv"
    path.write_text("\r\n".join([header, *broken, first]) + "\r\n", "utf-8")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason, detail FROM quarantine ORDER BY line") == [
        (
            2,
            "missing_fields",
            "record lacks its id or time, or they cannot be parsed (Id, TimeGenerated)",
        ),
        (
            3,
            "missing_fields",
            "record lacks its id or time, or they cannot be parsed (Id, TimeGenerated)",
        ),
    ]


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, FILES)
    assert [f.records_new for f in ingest(store, FILES).files] == [0, 0, 0]
    assert store.count("signins") == 7


# -- real exports (Azure-Sentinel training lab; see its PROVENANCE.md) ------------------------


def test_real_sign_in_export_is_read_whole(store: Store) -> None:
    path = real("sign-in_adelete.csv")
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    result = ingest(store, [path]).files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        56,
        56,
        0,
    )
    assert not result.warnings
    rows = store.query(
        "SELECT error_code, count(*) FROM signins GROUP BY error_code ORDER BY error_code"
    )
    assert rows == [(0, 53), (16000, 2), (50058, 1)]
    assert store.query(
        "SELECT DISTINCT tenant_id, user_upn, client_ip, interactive, country FROM signins"
    ) == [(REAL_TENANT, "adelev@m365x816222.onmicrosoft.com", "175.45.176.99", True, "IL")]
    assert not store.query("SELECT 1 FROM signins WHERE tenant_id = ?", [REAL_WORKSPACE])


def test_real_created_time_is_the_first_authentication_step(store: Store) -> None:
    """Why the fallback is sound: in every row of the lab export that has both, the earliest
    authenticationStepDateTime is CreatedDateTime to the millisecond."""
    path = real("sign-in_adelete.csv")
    ingest(store, [path])
    stored = dict(store.query("SELECT record_id, time FROM signins"))
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.DictReader(stream):
            steps = json.loads(row["AuthenticationDetails"])
            first = min(datetime.fromisoformat(s["authenticationStepDateTime"]) for s in steps)
            assert first.replace(microsecond=first.microsecond // 1000 * 1000) == stored[row["Id"]]


def test_real_export_without_time_columns_uses_authentication_steps(store: Store) -> None:
    path = real("disable_accounts.csv")
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    result = ingest(store, [path]).files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        4,
        4,
        0,
    )
    assert result.warnings == {"time_from_authentication_details": 4}
    assert store.query(
        "SELECT min(time)::VARCHAR, max(time)::VARCHAR, any_value(error_code), "
        "any_value(country) FROM signins"
    ) == [("2021-04-19 12:13:19.483475+00", "2021-04-19 12:16:34.87734+00", 50057, "KP")]
