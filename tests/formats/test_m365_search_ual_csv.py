"""Search-UnifiedAuditLog | Export-Csv: sniffing, AuditData mapped like the API's JSON."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailhunt.formats.m365_search_ual_csv import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "m365_search_ual_csv"
EXPORT = HERE / "search_ual_export.csv"
GOLDEN = HERE / "m365_search_ual_csv.golden.json"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "blueteam0ps-det-eng-samples"
)
MIA = "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"  # MailItemsAccessed, Bind, two folders
STS = "e165a77f-90ae-49ab-bd55-5e70f4e61b00"  # AzureActiveDirectoryStsLogon UserLoggedIn
RULE = "c67fa231-ad97-4b7f-65e0-08dc4145b5c6"  # New-InboxRule from [IPv6]:port
SYNC = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"  # MailItemsAccessed, Sync, throttled
CUT = "5d0c7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"  # AuditData cut short: quarantined
UNSTABLE = ("record_ordinal", "byte_offset", "byte_length")  # provenance that moves


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [EXPORT])
    return {row["record_id"]: row for row in table_rows(store, "events")}


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


def real_files() -> list[Path]:
    if not REAL.is_dir():
        pytest.skip(f"real samples not present at {REAL} (set MAILHUNT_REAL_DATA)")
    return sorted(REAL.glob("*.csv"))


def test_sniff_picks_the_export() -> None:
    sniffed, _ = sniff_file(EXPORT)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("csv", FORMAT.name)


def test_golden_rows(store: Store) -> None:
    ingest(store, [EXPORT])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_every_cell_quoted_and_audit_data_doubled_quotes(events: dict[str, Record]) -> None:
    first_row = EXPORT.read_text("utf-8").splitlines()[1]
    assert first_row.startswith('"ExchangeItemAggregated","5/6/2024 10:01:02 AM",')
    assert '"{""CreationTime"":""2024-05-06T08:01:02"",' in first_row
    assert sorted(events) == sorted([MIA, STS, RULE, SYNC])


def test_locale_creation_date_is_ignored_for_audit_data_creation_time(
    events: dict[str, Record],
) -> None:
    # The exporting machine wrote local time (UTC+2, en-US); AuditData says 08:01:02 UTC.
    assert '"5/6/2024 10:01:02 AM"' in EXPORT.read_text("utf-8")
    assert events[MIA]["time"] == "2024-05-06T08:01:02Z"
    assert events[SYNC]["time"] == "2024-05-06T08:20:01.123456Z"


def test_record_type_name_column_is_ignored_for_the_number(events: dict[str, Record]) -> None:
    assert [events[i]["record_type"] for i in (MIA, STS, RULE)] == [50, 15, 1]


def test_fields_map_as_the_management_api_json(events: dict[str, Record]) -> None:
    mia, rule, sync = events[MIA], events[RULE], events[SYNC]
    assert (mia["tenant_id"], mia["token_id"], mia["access_type"]) == (
        TENANT,
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "Bind",
    )
    assert rule["client_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert (sync["logon_type"], sync["access_type"], sync["throttled"]) == ("Admin", "Sync", True)
    assert events[STS]["user_agent"].endswith("Chrome/124.0.0.0 Safari/537.36")


def test_cut_audit_data_is_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [EXPORT])
    result = summary.files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        5,
        4,
        1,
    )
    [(line, reason, detail, raw)] = store.query("SELECT line, reason, detail, raw FROM quarantine")
    assert (line, reason) == (5, "invalid_json")  # the AuditData cell, judged as JSON
    assert detail.startswith("AuditData: ")
    assert raw.startswith(b'"ExchangeItemAggregated","5/6/2024 10:40:00 AM"')
    assert CUT.encode() in raw


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [EXPORT])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [EXPORT])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before


def test_real_exports_sniff_and_ingest_without_quarantine(store: Store) -> None:
    files = real_files()
    assert len(files) == 19
    for path in files:
        sniffed, _ = sniff_file(path)
        assert sniffed is not None, path.name
        assert sniffed.format.name == FORMAT.name, path.name
    summary = ingest(store, files)
    assert [f.status for f in summary.files] == ["ingested"] * 19
    assert (summary.records_read, summary.records_new, summary.quarantined) == (46, 46, 0)
    operations = dict(
        store.query(
            "SELECT operation, count(*) FROM events WHERE record_type = 15 GROUP BY operation"
        )
    )
    assert operations == {"UserLoginFailed": 16, "UserLoggedIn": 12}
    assert store.query(
        "SELECT count(*) FROM events WHERE tenant_id IS NULL OR actor_upn IS NULL OR time IS NULL"
    ) == [(0,)]
