"""Sentinel OfficeActivity, Log Analytics portal CSV export: BOM, CRLF, multi-line JSON cells,
portal times, varying column sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailhunt.formats.sentinel_office_activity import COLLECTION_TIME
from mailhunt.formats.sentinel_office_activity_csv import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "sentinel_office_activity_csv"
EXPORT = HERE / "office_activity_export.csv"
NO_TIME = HERE / "office_activity_export_no_time.csv"
GOLDEN = HERE / "sentinel_office_activity_csv.golden.json"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "azure-sentinel-training-lab"
)
MIA = "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"  # Folders pretty-printed over several lines
RULE = "c67fa231-ad97-4b7f-65e0-08dc4145b5c6"  # ExchangeAdmin by name, "[IPv6]:port"
STS = "e165a77f-90ae-49ab-bd55-5e70f4e61b00"  # ExtendedProperties pretty-printed
LIST = "84365963-570a-4424-38da-08d90a570e02"  # RecordType "36", a PM time
LATE = "d28096ba-03b1-4c2a-1503-08d908826606"  # export without TimeGenerated
UNSTABLE = ("record_ordinal", "byte_offset", "byte_length")  # provenance that moves


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [EXPORT, NO_TIME])
    return {row["record_id"]: row for row in table_rows(store, "events")}


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


def real_file(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real sample not present at {path} (set MAILHUNT_REAL_DATA)")
    return path


@pytest.mark.parametrize("path", [EXPORT, NO_TIME])
def test_sniff_picks_the_exports(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("csv", FORMAT.name)


def test_golden_rows(store: Store) -> None:
    ingest(store, [EXPORT, NO_TIME])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_bom_crlf_and_multi_line_json_cells(events: dict[str, Record], store: Store) -> None:
    raw = EXPORT.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfTenantId,")
    assert b'"[\r\n  {\r\n    "' in raw
    assert events[MIA]["source_ref"] == "office_activity_export.csv:2"
    assert events[RULE]["source_ref"] == "office_activity_export.csv:31"  # MIA spans 29 lines
    items = store.query(
        "SELECT folder_path, size_bytes FROM mail_items WHERE record_id = ? ORDER BY size_bytes",
        [MIA],
    )
    assert items == [("\\Inbox", 9120), ("\\Inbox", 48213), ("\\Inbox\\Projets été", 130551)]


def test_portal_times_are_utc_with_am_pm(events: dict[str, Record]) -> None:
    text = EXPORT.read_text("utf-8-sig")
    assert "5/6/2024, 12:16:20.000 PM" in text
    assert "5/6/2024, 8:01:02.000 AM" in text
    assert events[LIST]["time"] == "2024-05-06T12:16:20Z"
    assert events[MIA]["time"] == "2024-05-06T08:01:02Z"  # not ElevationTime 08:09:41


def test_record_type_names_and_numbers(events: dict[str, Record]) -> None:
    assert [events[i]["record_type"] for i in (MIA, RULE, STS, LIST)] == [50, 1, 15, 36]


def test_renamed_fields_and_client_ip_forms(events: dict[str, Record]) -> None:
    mia, rule = events[MIA], events[RULE]
    assert (mia["client_ip"], mia["logon_type"], mia["tenant_id"]) == (
        "203.0.113.45",
        "Owner",
        TENANT,
    )
    assert (mia["access_type"], mia["item_count"]) == ("Bind", 3)
    assert rule["client_ip"] == "2001:db8:85a3::8a2e:370:7334"  # "[IPv6]:port"
    assert events[STS]["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")


def test_export_without_time_generated_uses_collection_time(store: Store) -> None:
    header = NO_TIME.read_text("utf-8-sig").splitlines()[0]
    assert "TimeGenerated" not in header
    assert "ElevationTime [UTC]" in header
    summary = ingest(store, [NO_TIME])
    assert summary.files[0].warnings == {COLLECTION_TIME: 1}
    [row] = table_rows(store, "events")
    assert (row["record_id"], row["time"], row["warnings"]) == (
        LATE,
        "2024-05-06T08:50:12Z",
        [COLLECTION_TIME],
    )
    assert row["tenant_id"] == TENANT  # OrganizationId; the export has no TenantId either


def test_row_without_office_id_is_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [EXPORT])
    result = summary.files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        5,
        4,
        1,
    )
    [(line, reason, raw)] = store.query("SELECT line, reason, raw FROM quarantine")
    assert (line, reason) == (68, "missing_fields")
    assert b"FileAccessed" in raw


def test_same_files_twice_change_nothing(store: Store) -> None:
    ingest(store, [EXPORT, NO_TIME])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [EXPORT, NO_TIME])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before


def test_real_office_activity_export(store: Store) -> None:
    path = real_file("office_activity.csv")
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    summary = ingest(store, [path])
    assert (summary.records_read, summary.records_new, summary.quarantined) == (266, 266, 0)
    assert not summary.warnings
    assert store.query("SELECT count(*) FROM events WHERE record_type IS NULL") == [(0,)]
    mail = store.query(
        "SELECT record_id, item_count, access_type, client_app_id FROM events "
        "WHERE operation = 'MailItemsAccessed' ORDER BY time"
    )
    assert [(r[1], r[2]) for r in mail] == [(10, "Bind"), (1, "Bind"), (3, "Bind")]
    assert mail[2][3] == "3c8e478f-21ca-493a-b87c-c7366d664d54"
    assert store.count("mail_items") == 14


def test_real_inbox_rule_export_without_time_generated(store: Store) -> None:
    path = real_file("office_activity_inbox_rule.csv")
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    summary = ingest(store, [path])
    assert (summary.records_read, summary.records_new, summary.quarantined) == (2, 2, 0)
    assert summary.warnings == {COLLECTION_TIME: 2}
    rows = store.query("SELECT time, operation, record_type, client_ip FROM events ORDER BY time")
    assert [(r[0].isoformat(), r[1], r[2], r[3]) for r in rows] == [
        ("2021-04-26T06:37:32+00:00", "New-InboxRule", 1, "2a01:110:8068:7:9bf8:aa87:e00a:5f1f"),
        ("2021-04-26T07:17:10+00:00", "New-InboxRule", 1, "2a01:110:8068:7:9bf8:aa87:e00a:5f1f"),
    ]
