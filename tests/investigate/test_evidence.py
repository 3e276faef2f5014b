"""Evidence: a stored record's original bytes, exactly, from the file it was ingested from."""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mailhunt.errors import RecordNotFoundError
from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import EvidenceUnavailableError, original_bytes
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    at,
    compact,
    mail_access,
    signin_record,
    write_array,
    write_jsonl,
)

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


# -- files that changed into something else --------------------------------------------------------


def bounded(call: Callable[[], object], seconds: float = 20) -> BaseException | None:
    """Run call in a thread; the exception it raised (None if it returned). Fails the test if
    it is still running after `seconds` (a read that blocks or never ends)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


def test_no_verify_refuses_bytes_without_the_record_id(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, records("swap"))
    ingest(store, [path])
    write_jsonl(path, list(reversed(records("swap"))))  # same length, records swapped
    with pytest.raises(EvidenceUnavailableError, match="do not hold record 'swap-0'"):
        original_bytes(store, "swap-0", verify=False)
    assert b'"swap-1"' in original_bytes(store, "swap-1", verify=False).data  # still in place


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("verify", [True, False])
def test_fifo_in_place_of_the_file_is_refused_at_once(
    store: Store, tmp_path: Path, verify: bool
) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, records("f"))
    ingest(store, [path])
    path.unlink()
    os.mkfifo(path)
    error = bounded(lambda: original_bytes(store, "f-1", verify=verify))
    assert isinstance(error, EvidenceUnavailableError)
    assert "is not a regular file" in str(error)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("verify", [True, False])
def test_link_to_dev_zero_is_refused_at_once(store: Store, tmp_path: Path, verify: bool) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, records("z"))
    ingest(store, [path])
    path.unlink()
    path.symlink_to("/dev/zero")
    error = bounded(lambda: original_bytes(store, "z-1", verify=verify))
    assert isinstance(error, EvidenceUnavailableError)
    assert "is not a regular file" in str(error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_in_place_of_the_archive_is_refused_at_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl.gz"
    with gzip.open(path, "wb") as packed:
        packed.write(b"".join(line + b"\n" for line in map(compact, records("g"))))
    ingest(store, [path])
    assert original_bytes(store, "g-1").data == compact(records("g")[1])
    path.unlink()
    os.mkfifo(path)
    error = bounded(lambda: original_bytes(store, "g-1"))
    assert isinstance(error, EvidenceUnavailableError)
    assert "is not a regular file" in str(error)
