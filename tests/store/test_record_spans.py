"""record_spans holds the spans of stored rows only (issue 8.10): a record dropped as a
duplicate, a conflict, skipped or quarantined stores no span; every stored row keeps one, in
every format of a group, and its evidence is still shown."""

from __future__ import annotations

from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, compact, mail_access, write_jsonl

MAILBOX = "alice@contoso.onmicrosoft.com"
MIXED = FIXTURES / "formats" / "azure_monitor_entra" / "azmon_entra_mixed_eventhub.json"


def records(first: int, last: int) -> list[dict[str, object]]:
    return [mail_access(f"r-{n}", at(0, n), MAILBOX, "app-1") for n in range(first, last)]


def spans(store: Store) -> int:
    return store.count("record_spans")


def test_overlapping_exports_store_one_span_per_stored_row(store: Store, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", records(0, 40))
    write_jsonl(tmp_path / "b.jsonl", records(20, 60))  # 20 records also in a.jsonl
    ingest(store, [tmp_path / "a.jsonl"])
    summary = ingest(store, [tmp_path / "b.jsonl"])
    assert summary.files[0].records_new == 20
    assert store.count("events") == 60
    assert spans(store) == 60
    assert original_bytes(store, "r-50").data == compact(records(50, 51)[0])
    assert original_bytes(store, "r-10").data == compact(records(10, 11)[0])


def test_repeats_within_one_file_and_bad_records_store_no_span(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "a.jsonl"
    lines = [compact(r) for r in records(0, 5) + records(0, 2)] + [b"{not json"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = ingest(store, [path])
    assert (summary.records_new, summary.quarantined) == (5, 1)
    assert spans(store) == 5
    assert store.count("quarantine") == 1  # its bytes are in quarantine, not behind a span


def test_each_format_of_a_group_stores_the_spans_of_its_rows(store: Store) -> None:
    ingest(store, [MIXED])
    rows = store.count("events") + store.count("signins")
    assert store.count("signins") > 0
    assert store.count("events") > 0
    assert spans(store) == rows
    for table in ("events", "signins"):
        record_id = store.query(f"SELECT record_id FROM {table} LIMIT 1")[0][0]
        assert original_bytes(store, record_id).data
