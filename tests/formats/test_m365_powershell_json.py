"""Search-UnifiedAuditLog | ConvertTo-Json: sniffing, AuditData (object or string) mapped like
the API's JSON, and records whose nested data ConvertTo-Json flattened into strings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailhunt.formats.m365_powershell_json import FORMAT, LOST
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "m365_powershell_json"
ARRAY = HERE / "ps_search_ual_array.json"
SINGLE = HERE / "ps_search_ual_single.json"
GOLDEN = HERE / "m365_powershell_json.golden.json"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "blueteam0ps-det-eng-samples"
)
REAL_FILES = ("t1114.003_rule_mail_forward_same_dest.json", "t1564.008_rule_mark_as_read_move.json")
MIA = "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"  # AuditData as a nested object
STS = "e165a77f-90ae-49ab-bd55-5e70f4e61b00"  # AuditData as a JSON string
SHALLOW = "b7e3a9c1-4d2f-4e8a-9b6c-5d4e3f2a1b0c"  # Folders etc. flattened to "@{...}" strings
FLAT = "d4c3b2a1-0f9e-4d8c-b7a6-958473625140"  # AuditData itself flattened to "@{...}"
RULE = "c67fa231-ad97-4b7f-65e0-08dc4145b5c6"  # the lone object of ps_search_ual_single.json
UNSTABLE = ("record_ordinal", "byte_offset", "byte_length")  # provenance that moves


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [ARRAY, SINGLE])
    return {row["record_id"]: row for row in table_rows(store, "events")}


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


def ps_record(audit_data: object, creation_date: str = "/Date(1728364117000)/") -> Record:
    """One Search-UnifiedAuditLog object as ConvertTo-Json writes it."""
    return {
        "RecordType": "ExchangeItemAggregated",
        "CreationDate": creation_date,
        "UserIds": "Alice@contoso.onmicrosoft.com",
        "Operations": "MailItemsAccessed",
        "AuditData": audit_data,
        "ResultIndex": 1,
        "ResultCount": 1,
        "Identity": "ps-1",
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def ual(**fields: object) -> Record:
    return {
        "CreationTime": "2024-10-08T05:08:37",
        "Id": "ps-1",
        "Operation": "MailItemsAccessed",
        "OrganizationId": "8d4121ed-0008-406d-bff9-0d5bb312183c",
        "RecordType": 50,
        "Workload": "Exchange",
        "UserId": "Alice@contoso.onmicrosoft.com",
        **fields,
    }


def ingest_one(store: Store, folder: Path, record: Record) -> list[Record]:
    path = folder / "ps.json"
    path.write_text(json.dumps([record], indent=4).replace("\n", "\r\n"), "utf-8")
    summary = ingest(store, [path])
    assert (summary.files[0].format, summary.quarantined) == (FORMAT.name, 0)
    return table_rows(store, "events")


@pytest.mark.parametrize("path", [ARRAY, SINGLE])
def test_sniff_picks_array_and_lone_object(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", FORMAT.name)


def test_golden_rows(store: Store) -> None:
    ingest(store, [ARRAY, SINGLE])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_crlf_and_aligned_indentation(events: dict[str, Record]) -> None:
    raw = ARRAY.read_bytes()
    assert b'\r\n        "AuditData":  {\r\n                          "CreationTime":  ' in raw
    assert SINGLE.read_bytes().startswith(b"    {\r\n")
    assert events[RULE]["source_ref"] == "ps_search_ual_single.json:1"
    assert events[STS]["source_ref"] == "ps_search_ual_array.json:2"


def test_audit_data_object_and_string_map_alike(events: dict[str, Record]) -> None:
    assert b'"AuditData":  "{\\"CreationTime\\":\\"2024-05-06T07:55:38\\",' in ARRAY.read_bytes()
    sts, mia = events[STS], events[MIA]
    assert (sts["record_type"], sts["client_ip"], sts["time"]) == (
        15,
        "2001:db8:4a:17::a7",
        "2024-05-06T07:55:38Z",
    )
    assert sts["user_agent"].startswith("Mozilla/5.0")
    assert (mia["token_id"], mia["access_type"], mia["item_count"]) == (
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "Bind",
        3,
    )


def test_escaped_characters_decode(events: dict[str, Record], store: Store) -> None:
    assert b"\\u003cf00d1e@mail.fabrikam.example\\u003e" in ARRAY.read_bytes()
    ids = [
        r[0]
        for r in store.query(
            "SELECT internet_message_id FROM mail_items WHERE record_id = ? ORDER BY 1", [MIA]
        )
    ]
    assert "<f00d1e@mail.fabrikam.example>" in ids


def test_flattened_nested_fields_keep_the_record_with_a_warning(
    events: dict[str, Record],
) -> None:
    raw = ARRAY.read_text("utf-8")
    assert '"@{Name=MailAccessType; Value=Bind}"' in raw
    assert "FolderItems=System.Object[]" in raw
    row = events[SHALLOW]
    assert row["warnings"] == [LOST]
    assert (row["operation"], row["mailbox_upn"], row["client_ip"]) == (
        "MailItemsAccessed",
        "alice.walker@contoso.onmicrosoft.com",
        "203.0.113.45",
    )
    assert (row["access_type"], row["token_id"]) == (None, None)
    assert not row["message_items"]
    assert [events[i]["warnings"] for i in (MIA, STS, RULE)] == [None, None, None]


def test_flattened_audit_data_falls_back_to_the_cmdlet_fields(events: dict[str, Record]) -> None:
    row = events[FLAT]
    assert row["warnings"] == [LOST]
    assert (row["time"], row["operation"], row["actor_upn"], row["record_type"]) == (
        "2024-05-06T08:33:07Z",
        "Set-InboxRule",
        "alice.walker@contoso.onmicrosoft.com",
        1,
    )
    assert row["tenant_id"] is None


def test_warning_is_counted_per_file(store: Store) -> None:
    summary = ingest(store, [ARRAY, SINGLE])
    assert summary.files[0].warnings == {LOST: 2}
    assert not summary.files[1].warnings


@pytest.mark.parametrize(
    ("fields", "lost"),
    [
        ({"Folders": "System.Object[]"}, True),
        ({"Folders": ["@{Id=LgAA; Path=\\Inbox; FolderItems=System.Object[]}"]}, True),
        ({"OperationProperties": ["@{Name=MailAccessType; Value=Sync}"]}, True),
        ({"AppAccessContext": "@{UniqueTokenId=gX1yQ2vA8EqJk3mN4pR5sA}"}, True),
        ({"ExtendedProperties": "System.Object[]"}, True),
        ({"Parameters": [{"Name": "Identity", "Value": "System.Object[]"}]}, False),
        (
            {"Folders": [{"Path": "\\Inbox", "FolderItems": []}], "ClientInfoString": "@{x=1}"},
            False,
        ),
    ],
)
def test_which_strings_mean_nested_data_was_lost(
    store: Store, tmp_path: Path, fields: Record, lost: bool
) -> None:
    [row] = ingest_one(store, tmp_path, ps_record(ual(**fields)))
    assert row["warnings"] == ([LOST] if lost else None)


@pytest.mark.parametrize("audit_data", ["@{Id=ps-1; Operation=Send}", None])
def test_creation_date_with_offset_is_utc_milliseconds(
    store: Store, tmp_path: Path, audit_data: str | None
) -> None:
    [row] = ingest_one(store, tmp_path, ps_record(audit_data, "/Date(1728364117000+0200)/"))
    assert (row["record_id"], row["time"], row["record_type"], row["warnings"]) == (
        "ps-1",
        "2024-10-08T05:08:37Z",
        50,
        [LOST],
    )


def test_record_without_any_id_is_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [ARRAY])
    result = summary.files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        5,
        4,
        1,
    )
    [(line, reason, detail)] = store.query("SELECT line, reason, detail FROM quarantine")
    assert (line, reason, detail) == (5, "missing_id", "record has no id (Identity)")


def test_same_files_twice_change_nothing(store: Store) -> None:
    ingest(store, [ARRAY, SINGLE])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [ARRAY, SINGLE])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before


def test_real_powershell_exports(store: Store) -> None:
    if not REAL.is_dir():
        pytest.skip(f"real samples not present at {REAL} (set MAILHUNT_REAL_DATA)")
    paths = [REAL / name for name in REAL_FILES]
    for path in paths:
        sniffed, _ = sniff_file(path)
        assert sniffed is not None, path.name
        assert sniffed.format.name == FORMAT.name, path.name
    summary = ingest(store, paths)
    assert [(f.records_read, f.records_new, f.quarantined) for f in summary.files] == [
        (2, 2, 0),
        (1, 1, 0),
    ]
    assert not summary.warnings
    rows = store.query(
        "SELECT record_id, time, operation, actor_upn, client_ip FROM events ORDER BY time"
    )
    assert rows[0][0] == "67c49fce-3920-4f29-1393-08dce72b48fc"
    assert [(r[2], r[4]) for r in rows] == [("New-InboxRule", "104.28.196.199")] * 3
    assert rows[1][1].isoformat() == "2024-10-08T05:08:37+00:00"
