"""Sentinel OfficeActivity rows as JSON: renamed fields back to the UAL, JSON-string nested data,
RecordType names, and the time fields."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from mailhunt.formats._ual_shapes import record_type
from mailhunt.formats.sentinel_office_activity import COLLECTION_TIME, FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    TENANT,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
)

HERE = FIXTURES / "formats" / "sentinel_office_activity"
ROWS = HERE / "office_activity_rows.jsonl"
GOLDEN = HERE / "sentinel_office_activity.golden.json"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "otrf-security-datasets-goldensaml"
    / "extracted"
)
MIA = "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"  # Folders, OperationProperties... as JSON strings
STS = "e165a77f-90ae-49ab-bd55-5e70f4e61b00"  # ExtendedProperties as a JSON string
RULE = "c67fa231-ad97-4b7f-65e0-08dc4145b5c6"  # ClientIP "[IPv6]:port"
FILE = "84365963-570a-4424-38da-08d90a570e02"  # SharePointFileOperation by name
SAMPLE = "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"  # "TimeGenerated [UTC]" key, Folders an array
LATE = "d28096ba-03b1-4c2a-1503-08d908826606"  # no TimeGenerated: collection time
UNSTABLE = ("record_ordinal", "byte_offset", "byte_length")  # provenance that moves


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [ROWS])
    return {row["record_id"]: row for row in table_rows(store, "events")}


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (
            {
                "OfficeId": "1",
                "Operation": "Send",
                "OfficeWorkload": "Exchange",
                "TimeGenerated": "2024-05-06T08:01:02Z",
            },
            FORMAT.name,
        ),
        (
            {"Id": "1", "CreationTime": "x", "Operation": "Send", "Workload": "Exchange"},
            "m365-ual-json",
        ),
        ({"OfficeId": "1", "TimeGenerated": "2024-05-06T08:01:02Z"}, None),
    ],
)
def test_sniff_claims_office_activity_rows(tmp_path: Path, record: Record, name: str) -> None:
    assert sniffed_as(tmp_path, record) == name


def test_sniff_picks_the_fixture() -> None:
    sniffed, _ = sniff_file(ROWS)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-lines", FORMAT.name)


def test_golden_rows(store: Store) -> None:
    ingest(store, [ROWS])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_renamed_fields_map_back_to_the_ual(events: dict[str, Record]) -> None:
    row = events[MIA]
    assert (row["workload"], row["client_ip"], row["logon_type"]) == (
        "Exchange",
        "203.0.113.45",
        "Owner",
    )  # OfficeWorkload, Client_IPAddress, Logon_Type
    assert (row["tenant_id"], row["actor_upn"]) == (TENANT, "alice.walker@contoso.onmicrosoft.com")
    assert events[SAMPLE]["logon_type"] == "Delegate"


def test_organization_id_wins_over_the_workspace_tenant(events: dict[str, Record]) -> None:
    raw = ROWS.read_text("utf-8")
    assert '"TenantId": "0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f"' in raw
    assert {row["tenant_id"] for row in events.values()} == {TENANT}


def test_record_type_names_and_numeric_strings(events: dict[str, Record]) -> None:
    assert [events[i]["record_type"] for i in (MIA, STS, RULE, FILE, SAMPLE)] == [50, 15, 1, 6, 50]


def test_json_string_nested_fields_are_parsed(events: dict[str, Record]) -> None:
    assert '"Folders": "[{\\"Id\\":' in ROWS.read_text("utf-8")
    row = events[MIA]
    assert (row["access_type"], row["throttled"], row["item_count"]) == ("Bind", False, 3)
    assert (row["token_id"], row["token_issued_at"]) == (
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "2024-05-06T07:55:40Z",
    )  # AppAccessContext string
    assert events[STS]["user_agent"].startswith("Mozilla/5.0")  # ExtendedProperties string


def test_folders_as_a_json_string_yield_mail_items(store: Store) -> None:
    ingest(store, [ROWS])
    items = store.query(
        "SELECT record_id, folder_path, internet_message_id, size_bytes "
        "FROM mail_items ORDER BY record_id, size_bytes"
    )
    assert [(r[0], r[1], r[3]) for r in items] == [
        (MIA, "\\Inbox", 9120),
        (MIA, "\\Inbox", 48213),
        (MIA, "\\Inbox\\Projets été", 130551),
        (SAMPLE, "\\Inbox", 9120),
        (SAMPLE, "\\Inbox", 48213),  # Folders given as an array
    ]


def test_client_ip_with_brackets_and_port(events: dict[str, Record]) -> None:
    assert '"ClientIP": "[2001:db8:85a3::8a2e:370:7334]:40123"' in ROWS.read_text("utf-8")
    assert events[RULE]["client_ip"] == "2001:db8:85a3::8a2e:370:7334"


def test_time_generated_and_its_portal_export_spelling(events: dict[str, Record]) -> None:
    assert '"TimeGenerated [UTC]": "5/6/2024, 8:30:00.000 AM"' in ROWS.read_text("utf-8")
    assert events[SAMPLE]["time"] == "2024-05-06T08:30:00Z"
    assert events[MIA]["time"] == "2024-05-06T08:01:02Z"  # not ElevationTime 08:09:41


def test_missing_time_generated_falls_back_to_collection_time(events: dict[str, Record]) -> None:
    row = events[LATE]
    assert (row["time"], row["warnings"]) == ("2024-05-06T08:50:12Z", [COLLECTION_TIME])
    assert [r["warnings"] for i, r in events.items() if i != LATE] == [None] * 5


def test_row_without_office_id_is_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [ROWS])
    result = summary.files[0]
    assert (result.records_read, result.records_new, result.quarantined) == (7, 6, 1)
    assert result.warnings == {COLLECTION_TIME: 1}
    assert store.query("SELECT line, reason, detail FROM quarantine") == [
        (7, "missing_id", "record has no id (OfficeId)")
    ]


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [ROWS])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [ROWS])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("ExchangeItemAggregated", 50),
        ("exchangeItemAggregated", 50),
        ("50", 50),
        (50, 50),
        ("AzureActiveDirectoryStsLogon", 15),
        ("SharePointSharingOperation", 14),
        ("MicrosoftTeams", 25),
        ("NoSuchRecordType", None),
        (None, None),
    ],
)
def test_record_type_table(value: object, number: int | None) -> None:
    sql = f"SELECT {record_type('v')} FROM (SELECT ?::VARCHAR AS v)"
    assert duckdb.sql(sql, params=[value]).fetchall() == [(number,)]


def test_real_goldensaml_mail_items_accessed(store: Store) -> None:
    path = REAL / "OfficeActivityEvents.json"
    if not path.is_file():
        pytest.skip(f"real sample not present at {path} (set MAILHUNT_REAL_DATA)")
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    summary = ingest(store, [path])
    assert (summary.records_read, summary.records_new, summary.quarantined) == (1, 1, 0)
    [row] = table_rows(store, "events")
    assert (row["record_id"], row["time"], row["operation"], row["record_type"]) == (
        "699e0b10-1c53-403e-976f-ce0847a92b44",
        "2021-08-02T13:32:07Z",
        "MailItemsAccessed",
        50,
    )
    assert (row["app_id"], row["client_app_id"], row["client_ip"]) == (
        "00000003-0000-0000-c000-000000000000",
        "5a95e683-08ad-424e-a441-1d1aec52c02c",
        "1.2.3.4",
    )
    assert (row["access_type"], row["throttled"], row["item_count"]) == ("Bind", False, 7)
    assert store.count("mail_items") == 7
