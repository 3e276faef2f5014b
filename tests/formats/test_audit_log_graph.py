"""Microsoft Graph audit log query records (auditLogRecord): auditData mapped like the API's JSON,
the Graph summary fields as a fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats import sniff
from mailhunt.formats.audit_log_graph import FORMAT
from mailhunt.formats.base import Sample
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    TENANT,
    Record,
    check_golden_file,
    table_rows,
    write_jsonl,
)

HERE = FIXTURES / "formats" / "audit_log_graph"
PAGE = HERE / "graph_audit_records_page.json"
GOLDEN = HERE / "audit_log_graph.golden.json"
MIA = "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"  # MailItemsAccessed with Folders, AppAccessContext
STS = "e165a77f-90ae-49ab-bd55-5e70f4e61b00"  # AzureActiveDirectoryStsLogon
RULE = "c67fa231-ad97-4b7f-65e0-08dc4145b5c6"  # New-InboxRule
BARE = "84365963-570a-4424-38da-08d90a570e02"  # auditData without the UAL fields
UNSTABLE = ("record_ordinal", "byte_offset", "byte_length")  # provenance that moves


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [PAGE])
    return {row["record_id"]: row for row in table_rows(store, "events")}


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


def page_records() -> list[Record]:
    records: list[Record] = json.loads(PAGE.read_text("utf-8"))["value"]
    return records


def test_sniff_picks_the_page() -> None:
    sniffed, _ = sniff_file(PAGE)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", FORMAT.name)


def test_records_as_json_lines_are_read_too(store: Store, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "records.jsonl", page_records()[:3])
    summary = ingest(store, [tmp_path / "records.jsonl"])
    assert (summary.files[0].format, summary.records_new) == (FORMAT.name, 3)


def test_only_this_format_claims_audit_log_records() -> None:
    assert sniff(Sample("json", tuple(page_records()[:3]))) == [FORMAT.name]


def test_golden_rows(store: Store) -> None:
    ingest(store, [PAGE])
    rows = [
        {k: v for k, v in row.items() if k not in UNSTABLE} for row in table_rows(store, "events")
    ]
    check_golden(GOLDEN, rows)


def test_page_wrapper_and_next_link_are_not_records(events: dict[str, Record]) -> None:
    page = json.loads(PAGE.read_text("utf-8"))
    assert {"@odata.context", "@odata.nextLink"} <= set(page)
    assert sorted(events) == sorted([MIA, STS, RULE, BARE])
    assert events[MIA]["source_ref"] == "graph_audit_records_page.json:1"


def test_audit_data_maps_like_the_management_api(events: dict[str, Record], store: Store) -> None:
    mia = events[MIA]
    assert (mia["record_type"], mia["tenant_id"], mia["client_app_id"]) == (
        50,
        TENANT,
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    )
    assert (mia["token_id"], mia["access_type"], mia["item_count"]) == (
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "Bind",
        3,
    )
    assert store.query("SELECT count(*) FROM mail_items WHERE record_id = ?", [MIA]) == [(3,)]
    assert events[RULE]["client_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert events[STS]["user_agent"].startswith("Mozilla/5.0")


def test_summary_fields_fill_in_when_audit_data_lacks_them(events: dict[str, Record]) -> None:
    bare = next(r for r in page_records() if r.get("id") == BARE)
    assert bare["auditData"] == {"@odata.type": "#microsoft.graph.security.defaultAuditData"}
    assert bare["auditLogRecordType"] == "sharePointFileOperation"  # camelCase, as documented
    row = events[BARE]
    assert (row["time"], row["record_type"], row["workload"], row["operation"]) == (
        "2024-05-06T12:16:20Z",
        6,
        "OneDrive",
        "FileDownloaded",
    )
    assert (row["tenant_id"], row["actor_upn"], row["client_ip"]) == (
        TENANT,
        "alice.walker@contoso.onmicrosoft.com",
        "198.51.100.77",
    )


def test_record_without_any_id_is_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [PAGE])
    result = summary.files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        5,
        4,
        1,
    )
    assert store.query("SELECT line, reason, detail FROM quarantine") == [
        (5, "missing_id", "record has no id (id)")
    ]


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [PAGE])
    before = (store.count("events"), store.count("mail_items"), store.count("quarantine"))
    ingest(store, [PAGE])
    assert (store.count("events"), store.count("mail_items"), store.count("quarantine")) == before
