"""Evidence: a stored record's original bytes, exactly, from the file it was ingested from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.errors import RecordNotFoundError
from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, mail_access, signin_record, write_array, write_jsonl

MAILBOX = "alice@contoso.onmicrosoft.com"


def records(prefix: str) -> list[dict[str, object]]:
    return [mail_access(f"{prefix}-{n}", at(0, 9 + n), MAILBOX, "app-1") for n in range(3)]


def test_jsonl_record_bytes_are_exact(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    lines = write_jsonl(path, records("l"), newline=b"\r\n")
    ingest(store, [path])
    for number, line in enumerate(lines):
        evidence = original_bytes(store, f"l-{number}")
        assert evidence.data == line
        assert evidence.path == path.resolve()
        assert evidence.source == "m365-ual-json"
        assert evidence.source_ref == f"{path.resolve()}:{number + 1}"


def test_array_element_bytes_are_exact(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "blob.json"
    elements = write_array(path, records("a"))
    ingest(store, [path])
    assert [original_bytes(store, f"a-{n}").data for n in range(3)] == elements


def test_pretty_printed_page_element_keeps_its_newlines(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    sign_in = signin_record("s-1", at(0), MAILBOX, "app-1")
    path.write_text(json.dumps({"value": [sign_in]}, indent=2))
    ingest(store, [path])
    data = original_bytes(store, "s-1").data
    assert b"\n" in data
    assert json.loads(data) == sign_in
    assert path.read_bytes().count(data) == 1


def test_bom_file_offsets_skip_the_bom(store: Store) -> None:
    path = FIXTURES / "formats" / "ual_bom.jsonl"
    ingest(store, [path])
    first_line = path.read_bytes()[3:].split(b"\r\n")[0]
    assert original_bytes(store, "7d4f9e3a-2c53-4e5a-9f73-9c0d1e2f3a01").data == first_line


def test_changed_file_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, records("c"))
    ingest(store, [path])
    path.write_bytes(path.read_bytes().replace(b"alice@", b"mallory"))
    with pytest.raises(RecordNotFoundError, match="has changed since it was ingested"):
        original_bytes(store, "c-1")
    assert b"mallory" in original_bytes(store, "c-1", verify=False).data


def test_deleted_file_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, records("d"))
    ingest(store, [path])
    path.unlink()
    with pytest.raises(RecordNotFoundError, match="cannot be read"):
        original_bytes(store, "d-0")


def test_unknown_id_is_record_not_found(store: Store) -> None:
    ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    with pytest.raises(RecordNotFoundError, match="no record with id 'nope'"):
        original_bytes(store, "nope")


def test_colon_in_the_path_is_kept(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export:2024-03-04.jsonl"
    lines = write_jsonl(path, records("p"))
    ingest(store, [path])
    assert original_bytes(store, "p-2").data == lines[2]
