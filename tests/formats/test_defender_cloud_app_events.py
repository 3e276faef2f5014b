"""Defender XDR advanced hunting CloudAppEvents rows: sniffing (also when only some sampled rows
are CloudAppEvents), RawEventData (object or string) mapped like the API's JSON, fallbacks to
Defender's columns, other tables' rows skipped, flattened nested data kept with a warning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailhunt.formats.defender_cloud_app_events import FORMAT
from mailhunt.formats.m365_powershell_json import LOST
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "defender_cloud_app_events"
UNION = HERE / "advanced_hunting_union.jsonl"
ARRAY = HERE / "advanced_hunting_array.json"
GOLDEN = HERE / "defender_cloud_app_events.golden.json"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "otrf-security-datasets-goldensaml"
)
REAL_FILE = REAL / "extracted" / "Microsoft365DefenderEvents.json"
MIA = "5c1f3a1e-8d2b-4a6f-9e3c-1b2a3c4d5e6f"  # RawEventData as an object, complete
RULE = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # RawEventData as a JSON string, no time / IP
FLAT = "699e0b10-1c53-403e-976f-ce0847a92b44"  # Folders/OperationProperties flattened "@{...}"
GRANT = "106830890_11161_e417c1fd-ae0b-4efa-891b-bb6b0ea7d35e"  # no RawEventData: ReportId
SEND = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"  # the array file's one CloudAppEvents row
UNSTABLE = ("record_ordinal",)


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [UNION, ARRAY])
    return {row["record_id"]: row for row in table_rows(store, "events")}


@pytest.mark.parametrize(("path", "container"), [(UNION, "json-lines"), (ARRAY, "json-array")])
def test_sniff_picks_lines_and_array(path: Path, container: str) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == (container, FORMAT.name)


def test_sniff_claims_a_file_whose_first_rows_are_other_tables() -> None:
    rows = json.loads(ARRAY.read_text("utf-8"))
    assert ["RawEventData" in row for row in rows] == [False, False, True]
    sniffed, _ = sniff_file(ARRAY)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


def test_golden_rows(store: Store) -> None:
    ingest(store, [UNION, ARRAY])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden_file(GOLDEN, rows)


def test_other_tables_rows_are_skipped_not_quarantined(store: Store) -> None:
    summary = ingest(store, [UNION, ARRAY])
    union, array = summary.files
    assert (union.records_read, union.records_new, union.skipped_lines, union.quarantined) == (
        7,
        4,
        2,
        1,
    )
    assert (array.records_read, array.records_new, array.skipped_lines, array.quarantined) == (
        3,
        1,
        2,
        0,
    )
    assert {r[0] for r in store.query("SELECT operation FROM events")}.isdisjoint(
        {"LdapSearch", "Directory Services replication"}
    )


def test_raw_event_data_object_maps_like_the_api(events: dict[str, Record]) -> None:
    row = events[MIA]
    assert (row["record_type"], row["client_app_id"], row["token_id"], row["access_type"]) == (
        50,
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "Bind",
    )
    assert (row["item_count"], row["operation_count"], row["mailbox_guid"]) == (
        2,
        2,
        "d0c5f8ae-9ed7-4e46-bfdf-ea1460f5a31b",
    )
    assert row["warnings"] is None


def test_raw_event_data_string_falls_back_to_defender_columns(events: dict[str, Record]) -> None:
    assert '"RawEventData": "{\\"Id\\": \\"9b8a7c6d' in UNION.read_text("utf-8")
    row = events[RULE]
    assert (row["time"], row["client_ip"], row["user_agent"]) == (
        "2024-04-02T09:20:30Z",
        "198.51.100.20",
        "Mozilla/5.0 (Windows NT 10.0)",
    )
    assert (row["operation"], row["record_type"], row["tenant_id"]) == (
        "New-InboxRule",
        1,
        "7f1c9e2a-4b7d-4e8a-9c31-2d5e6f708192",
    )


def test_flattened_nested_fields_keep_the_record_with_a_warning(
    events: dict[str, Record],
) -> None:
    assert "FolderItems=System.Object[]" in UNION.read_text("utf-8")
    row = events[FLAT]
    assert row["warnings"] == [LOST]
    assert (row["operation_count"], row["access_type"], row["message_items"]) == (7, None, [])


def test_warning_is_counted_per_file(store: Store) -> None:
    union, array = ingest(store, [UNION, ARRAY]).files
    assert (union.warnings, array.warnings) == ({LOST: 1}, {})


def test_cloud_app_events_row_without_raw_event_data(events: dict[str, Record]) -> None:
    row = events[GRANT]
    assert (row["time"], row["operation"], row["workload"], row["actor_upn"]) == (
        "2024-04-02T09:05:20Z",
        "Add delegated permission grant.",
        "Office 365",
        "alice.walker@contoso.onmicrosoft.com",
    )
    assert (row["tenant_id"], row["client_ip"]) == (None, None)


def test_bracketed_ipv6_with_port(events: dict[str, Record]) -> None:
    assert events[SEND]["client_ip"] == "2001:db8::7"


def test_malformed_record_is_quarantined_and_the_rest_kept(store: Store) -> None:
    ingest(store, [UNION])
    assert store.query("SELECT line, reason, detail FROM quarantine") == [
        (7, "bad_time", "record time cannot be parsed: 'yesterday'")
    ]
    assert store.count("events") == 4


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [UNION, ARRAY])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [UNION, ARRAY])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before


def test_real_goldensaml_defender_events(store: Store) -> None:
    if not REAL_FILE.is_file():
        pytest.skip(f"real sample not found at {REAL_FILE} (set MAILHUNT_REAL_DATA to run)")
    sniffed, _ = sniff_file(REAL_FILE)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    [result] = ingest(store, [REAL_FILE]).files
    assert (result.records_read, result.records_new, result.skipped_lines, result.quarantined) == (
        9,
        2,
        7,
        0,
    )
    assert result.warnings == {LOST: 1}
    rows = {row["operation"]: row for row in table_rows(store, "events")}
    mia = rows["MailItemsAccessed"]
    assert (mia["record_id"], mia["operation_count"], mia["client_app_id"], mia["app_id"]) == (
        "699e0b10-1c53-403e-976f-ce0847a92b44",
        7,
        "5a95e683-08ad-424e-a441-1d1aec52c02c",
        "00000003-0000-0000-c000-000000000000",
    )
    assert mia["warnings"] == [LOST]
    grant = rows["Add delegated permission grant."]
    assert (grant["record_id"], grant["actor_upn"]) == (
        "106830890_11161_e417c1fd-ae0b-4efa-891b-bb6b0ea7d35e",
        "pgustavo@simulandlabs.com",
    )
