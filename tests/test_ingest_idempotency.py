"""Idempotent ingest: the same file twice, or the same record in two files, changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, counts, mail_access, write_array, write_jsonl


def test_same_files_twice_change_no_table(store: Store) -> None:
    # The foundation's own fixtures (top level of formats/, not the per-format folders).
    paths = [p for p in sorted((FIXTURES / "formats").iterdir()) if p.is_file()]
    paths.append(FIXTURES / "scenario")
    first = ingest(store, paths)
    before = counts(store)
    second = ingest(store, paths)
    assert counts(store) == before
    assert before["events"] == 19
    assert before["signins"] == 12
    assert before["mail_items"] == 17  # 15 messages read and 2 folders synced whole
    assert second.records_read == first.records_read == 31
    assert (first.records_new, second.records_new) == (31, 0)
    assert store.count("ingest_runs") == 2 * len(first.files)
    statuses = {f.path.name: f.status for f in second.files}
    assert statuses["ual_lines.jsonl"] == "duplicate"  # same content: recognised, not reloaded
    assert statuses["unknown_shape.jsonl"] == "skipped"


def test_reingest_then_detect_raises_no_new_alert(store: Store) -> None:
    ingest(store, [FIXTURES / "scenario"])
    first = run_detections(store)
    alerts = store.query("SELECT id, event_count FROM alerts ORDER BY id")
    ingest(store, [FIXTURES / "scenario"])
    second = run_detections(store)
    assert first.total_new == 3  # first-seen app, two new networks (tests/golden/alerts)
    assert second.total_new == 0
    assert store.query("SELECT id, event_count FROM alerts ORDER BY id") == alerts
    assert store.count("alert_evidence") == 5


def test_same_record_in_a_jsonl_file_and_an_array_blob_is_stored_once(
    store: Store, tmp_path: Path
) -> None:
    shared = mail_access("shared-1", at(0), "alice@contoso.onmicrosoft.com", "app-1")
    only_in_blob = mail_access("blob-only", at(0, 10), "alice@contoso.onmicrosoft.com", "app-1")
    write_jsonl(tmp_path / "a" / "ual.jsonl", [shared])
    write_array(tmp_path / "b" / "blob.json", [only_in_blob, shared])
    first = ingest(store, [tmp_path / "a"])
    second = ingest(store, [tmp_path / "b"])
    assert (first.records_new, second.records_read, second.records_new) == (1, 2, 1)
    assert store.query("SELECT record_id, source_ref FROM events ORDER BY record_id") == [
        ("blob-only", f"{(tmp_path / 'b' / 'blob.json').resolve()}:1"),
        ("shared-1", f"{(tmp_path / 'a' / 'ual.jsonl').resolve()}:1"),
    ]
    assert store.count("mail_items") == 2


def test_duplicate_id_inside_one_file_is_stored_once_first_occurrence(
    store: Store, tmp_path: Path
) -> None:
    record = mail_access("dup-1", at(0), "alice@contoso.onmicrosoft.com", "app-1")
    other = mail_access("other", at(0, 11), "alice@contoso.onmicrosoft.com", "app-1")
    write_jsonl(tmp_path / "ual.jsonl", [record, other, record])
    summary = ingest(store, [tmp_path / "ual.jsonl"])
    assert (summary.records_read, summary.records_new, summary.quarantined) == (3, 2, 0)
    assert "1 duplicate record(s)" in summary.files[0].detail
    assert store.query("SELECT record_id, source_ref FROM events ORDER BY record_id")[0] == (
        "dup-1",
        f"{(tmp_path / 'ual.jsonl').resolve()}:1",
    )
    assert store.count("mail_items") == 2


def test_copy_of_a_file_under_another_name_adds_nothing(store: Store, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "formats" / "ual_blob.json", tmp_path / "copy.json")
    ingest(store, [FIXTURES / "formats" / "ual_blob.json"])
    before = counts(store)
    assert ingest(store, [tmp_path / "copy.json"]).records_new == 0
    assert counts(store) == before
