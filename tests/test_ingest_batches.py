"""Small files of one format are read as one batch: every file's results stay its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

import mailhunt.ingest.run as ingest_module
import mailhunt.store.pairing as staging_module
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import at, mail_access, write_array, write_jsonl

MAILBOX = "alice@contoso.com"
OUTLOOK = "d3590ed6-52b3-4102-aeff-aad2292ab01c"


def record(n: int) -> dict[str, object]:
    return mail_access(f"rec-{n:04d}", at(n / 100), MAILBOX, OUTLOOK)


def blob_folder(folder: Path) -> dict[str, int]:
    """Content blobs as the API delivers them (arrays and lines), with a record repeated in a
    later blob, a blob that is a byte-for-byte copy of another, and bad lines; returns the
    quarantined line numbers expected per file name."""
    write_array(folder / "blob-01.json", [record(n) for n in range(0, 40)])
    write_jsonl(folder / "blob-02.jsonl", [record(n) for n in range(40, 90)])
    write_array(folder / "blob-03.json", [record(n) for n in range(85, 120)])  # 85-89 repeat
    lines = [orjson.dumps(record(n)) for n in range(120, 150)]
    lines[4] = b'{"Id": "cut off", "CreationTime": '  # line 5: invalid JSON
    lines[9] = b"[1, 2, 3]"  # line 10: not an object
    (folder / "blob-04.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "blob-05.jsonl").write_bytes((folder / "blob-02.jsonl").read_bytes())
    return {"blob-04.jsonl": 2}


def stored_rows(store: Store) -> list[tuple[str, str, int, int, int]]:
    return store.query(
        "SELECT e.record_id, e.source_ref, s.line, s.byte_offset, s.byte_length FROM events e "
        "JOIN record_spans s ON s.file_sha256 = e.file_sha256 AND s.ordinal = e.record_ordinal"
    )


def check_every_row_holds_its_record(store: Store, folder: Path) -> None:
    rows = stored_rows(store)
    for record_id, source_ref, line, offset, length in rows:
        path, _, at_line = source_ref.rpartition(":")
        assert int(at_line) >= line if path.endswith(".json") else int(at_line) == line
        assert orjson.loads(Path(path).read_bytes()[offset : offset + length])["Id"] == record_id
    assert {Path(r[1].rpartition(":")[0]).parent for r in rows} == {folder.resolve()}


def test_a_folder_of_blobs_is_one_batch_with_results_per_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    staging = Store.staging

    def counting(self: Store, fmt: Any, reader: Any, inputs: list[Any], **kw: Any) -> Any:
        batches.append(len(inputs))
        return staging(self, fmt, reader, inputs, **kw)

    monkeypatch.setattr(Store, "staging", counting)
    blob_folder(tmp_path)
    summary = ingest(store, [tmp_path])
    results = {f.path.name: f for f in summary.files}
    assert batches == [4]  # blob-05 is a copy of blob-02: recognised, not read
    assert {
        n: (r.status, r.records_read, r.records_new, r.quarantined) for n, r in results.items()
    } == {
        "blob-01.json": ("ingested", 40, 40, 0),
        "blob-02.jsonl": ("ingested", 50, 50, 0),
        "blob-03.json": ("ingested", 35, 30, 0),
        "blob-04.jsonl": ("ingested", 30, 28, 2),
        "blob-05.jsonl": ("duplicate", 50, 0, 0),
    }
    assert "5 duplicate record(s) dropped" in results["blob-03.json"].detail
    assert "blob-02.jsonl" in results["blob-05.jsonl"].detail
    assert store.query("SELECT source_path, line, reason FROM quarantine ORDER BY line") == [
        (str((tmp_path / "blob-04.jsonl").resolve()), 5, "invalid_json"),
        (str((tmp_path / "blob-04.jsonl").resolve()), 10, "not_object"),
    ]
    assert store.count("events") == 148
    check_every_row_holds_its_record(store, tmp_path)


def test_a_batch_duckdb_cannot_take_is_taken_again_file_by_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = Store.staging

    def failing_batches(self: Store, fmt: Any, reader: Any, inputs: list[Any], **kw: Any) -> Any:
        if len(inputs) > 1:
            raise duckdb.IOException("IO Error: simulated failure reading a batch")
        return staging(self, fmt, reader, inputs, **kw)

    monkeypatch.setattr(Store, "staging", failing_batches)
    blob_folder(tmp_path)
    summary = ingest(store, [tmp_path])
    assert [f.status for f in summary.files] == [
        "ingested",
        "ingested",
        "ingested",
        "ingested",
        "duplicate",
    ]
    assert summary.records_new == 148
    assert summary.quarantined == 2
    assert sum(summary.reasons.values()) == 2  # counted once, not once per attempt
    assert store.count("ingest_runs") == 5
    check_every_row_holds_its_record(store, tmp_path)


def test_batches_stop_at_a_change_of_format_and_keep_the_order_of_files(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH_FILES", 2)
    for n in range(5):
        write_jsonl(tmp_path / f"a-{n}.jsonl", [record(10 * n + k) for k in range(10)])
    (tmp_path / "b-notes.txt").write_text("not a log\n")
    write_jsonl(tmp_path / "c-0.jsonl", [record(100 + k) for k in range(10)])
    summary = ingest(store, [tmp_path])
    assert [f.path.name for f in summary.files] == [
        "a-0.jsonl",
        "a-1.jsonl",
        "a-2.jsonl",
        "a-3.jsonl",
        "a-4.jsonl",
        "b-notes.txt",
        "c-0.jsonl",
    ]
    assert [f.status for f in summary.files].count("ingested") == 6
    assert store.count("events") == 60
    check_every_row_holds_its_record(store, tmp_path)


def test_a_file_of_a_batch_that_does_not_pair_fails_alone(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if DuckDB had read blob-02 differently from its framing (the check then finds
    another record's bytes at a row's span): that file stores nothing, the others all."""
    holds_id = staging_module._holds_id
    monkeypatch.setattr(
        staging_module,
        "_holds_id",
        lambda raw, source_id: holds_id(raw, source_id) and b'"rec-006' not in raw,
    )
    blob_folder(tmp_path)
    summary = ingest(store, [tmp_path])
    results = {f.path.name: (f.status, f.records_new) for f in summary.files}
    assert results == {
        "blob-01.json": ("ingested", 40),
        "blob-02.jsonl": ("failed", 0),
        "blob-03.json": ("ingested", 35),
        "blob-04.jsonl": ("ingested", 28),
        "blob-05.jsonl": ("duplicate", 0),
    }
    assert "did not pair" in summary.files[1].detail
    assert store.count("events") == 103
    assert store.query(
        "SELECT count(*) FROM record_spans WHERE file_sha256 IN (SELECT file_sha256 FROM "
        "ingest_runs WHERE status = 'failed')"
    ) == [(0,)]
    check_every_row_holds_its_record(store, tmp_path)
