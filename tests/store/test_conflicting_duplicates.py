"""The same record id twice: the same content is a duplicate (dropped, counted); other content
is a conflict, kept visible in quarantine with where the first copy is, never dropped."""

from __future__ import annotations

from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import at, mail_access, write_jsonl

MAILBOX = "alice@contoso.onmicrosoft.com"


def _access(record_id: str, **fields: object) -> dict[str, object]:
    record = mail_access(record_id, at(0, 9), MAILBOX, "app-1", uti="uti-1")
    record.update(fields)
    return record


def test_an_identical_copy_in_another_file_is_a_duplicate(store: Store, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [_access("r-1")])
    write_jsonl(tmp_path / "b.jsonl", [_access("r-1"), _access("r-2")])
    summary = ingest(store, [tmp_path])
    assert [(f.records_new, f.quarantined) for f in summary.files] == [(1, 0), (1, 0)]
    assert "1 duplicate record(s) dropped" in summary.files[1].detail
    assert store.count("quarantine") == 0


def test_the_same_id_with_other_content_is_quarantined_as_a_conflict(
    store: Store, tmp_path: Path
) -> None:
    first = tmp_path / "a.jsonl"
    write_jsonl(first, [_access("r-1")])
    lines = write_jsonl(
        tmp_path / "b.jsonl", [_access("r-2"), _access("r-1", ClientIPAddress="198.51.100.9")]
    )
    summary = ingest(store, [tmp_path])
    assert [(f.records_new, f.quarantined) for f in summary.files] == [(1, 0), (1, 1)]
    assert summary.reasons == {"conflicting_duplicate": 1}
    (line, reason, detail, raw), *_ = store.query(
        "SELECT line, reason, detail, raw FROM quarantine"
    )
    assert (line, reason, raw) == (2, "conflicting_duplicate", lines[1])
    assert detail == f"same id as {first.resolve()}:1, other client_ip"
    # The stored copy is the first one, whole.
    assert original_bytes(store, "r-1").path == first.resolve()


def test_a_conflict_within_one_file_names_the_first_copy(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_jsonl(path, [_access("r-1"), _access("r-1"), _access("r-1", UserId="mallory@x.io")])
    summary = ingest(store, [path])
    result = summary.files[0]
    assert (result.records_read, result.records_new, result.quarantined) == (3, 1, 1)
    assert store.query("SELECT line, detail FROM quarantine") == [
        (3, "same id as line 1 of this file, other actor_upn")
    ]


def test_a_copy_that_lacks_nested_data_is_not_a_conflict(store: Store, tmp_path: Path) -> None:
    """An export that dropped a record's message list (Defender's CloudAppEvents does) holds
    the same record: a duplicate, not a conflict."""
    write_jsonl(tmp_path / "a.jsonl", [_access("r-1")])
    write_jsonl(tmp_path / "b.jsonl", [_access("r-1", Folders=[])])
    summary = ingest(store, [tmp_path])
    assert [(f.records_new, f.quarantined) for f in summary.files] == [(1, 0), (0, 0)]
