"""Purview portal audit search CSV export: sniffing, and AuditData mapped like the API's JSON."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mailhunt.formats.m365_purview_csv import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, table_rows

HERE = FIXTURES / "formats" / "m365_purview_csv"
EXPORT = HERE / "purview_audit_export.csv"
GOLDEN = HERE / "m365_purview_csv.golden.json"
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


def write_csv(path: Path, header: list[str], row: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([header, row])
    return path


def test_sniff_picks_the_purview_export() -> None:
    sniffed, _ = sniff_file(EXPORT)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("csv", FORMAT.name)


def test_sniff_leaves_search_unifiedauditlog_csv_alone(tmp_path: Path) -> None:
    header = [
        "RecordType",
        "CreationDate",
        "UserIds",
        "Operations",
        "AuditData",
        "ResultIndex",
        "ResultCount",
        "Identity",
        "IsValid",
        "ObjectState",
    ]
    path = write_csv(
        tmp_path / "s.csv",
        header,
        ["ExchangeItem", "x", "u", "Send", "{}", "1", "1", "i", "True", "Unchanged"],
    )
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == "m365-ual-search-csv"


def test_golden_rows(store: Store) -> None:
    ingest(store, [EXPORT])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_bom_and_crlf_do_not_leak_into_the_data(events: dict[str, Record]) -> None:
    raw = EXPORT.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfRecordId,")
    assert raw.count(b"\r\n") == 6
    assert events[MIA]["source_ref"] == "purview_audit_export.csv:2"
    assert events[SYNC]["source_ref"] == "purview_audit_export.csv:6"


def test_time_is_audit_data_creation_time(events: dict[str, Record]) -> None:
    raw = EXPORT.read_text("utf-8-sig")
    assert "2024-05-06T08:20:01.0000000Z" in raw  # the CreationDate column drops the fraction
    assert events[SYNC]["time"] == "2024-05-06T08:20:01.123456Z"
    assert events[MIA]["time"] == "2024-05-06T08:01:02Z"


def test_audit_data_with_doubled_quotes_is_read_as_the_ual_record(
    events: dict[str, Record],
) -> None:
    assert '\\""wire\\"" transfer' in EXPORT.read_text("utf-8-sig")
    rule = events[RULE]
    assert (rule["operation"], rule["record_type"], rule["result"]) == ("New-InboxRule", 1, "True")
    assert (rule["client_ip"], rule["token_id"]) == (  # "[IPv6]:port" in AuditData
        "2001:db8:85a3::8a2e:370:7334",
        "LqVzINbCskC74Dl3tec2AA",
    )


def test_identity_columns_are_lower_cased(events: dict[str, Record]) -> None:
    row = events[MIA]
    assert (row["tenant_id"], row["actor_upn"], row["mailbox_upn"]) == (
        TENANT,
        "alice.walker@contoso.onmicrosoft.com",
        "alice.walker@contoso.onmicrosoft.com",
    )
    assert row["client_app_id"] == "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"


def test_sts_logon_user_agent_from_extended_properties(events: dict[str, Record]) -> None:
    row = events[STS]
    assert (row["record_type"], row["client_ip"]) == (15, "2001:db8:4a:17::a7")
    assert row["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")


def test_mail_items_from_folders(store: Store) -> None:
    ingest(store, [EXPORT])
    items = store.query(
        "SELECT folder_path, internet_message_id, size_bytes, access_type FROM mail_items "
        "WHERE record_id = ? ORDER BY size_bytes",
        [MIA],
    )
    assert items == [
        ("\\Inbox", "<f00d1e@mail.fabrikam.example>", 9120, "Bind"),
        ("\\Inbox", "<PR3P195MB0812A1@PR3P195MB0812.EURP195.PROD.OUTLOOK.COM>", 48213, "Bind"),
        ("\\Inbox\\Projets été", "<b0ard-m1nutes@contoso.onmicrosoft.com>", 130551, "Bind"),
    ]


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
    assert raw.startswith(CUT.encode())


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [EXPORT])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    second = ingest(store, [EXPORT])
    assert second.files[0].status == "duplicate"
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before
