"""The command line when the store fails mid-run or holds what it should not (issue 8.5, 8.7,
8.10): one line naming the cause and what was stored; duplicates counted apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from mailhunt.cli import main
from mailhunt.store.db import Store
from tests.helpers import at, mail_access, signin_record, write_jsonl

MAILBOX = "alice@contoso.onmicrosoft.com"
FULL = (
    "FATAL Error: Failed: database has been invalidated because of a previous fatal error. "
    "The database must be restarted prior to being used again.\n"
    'Original error: "Could not write file "x.duckdb": No space left on device"'
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def two_formats(folder: Path) -> None:
    """Two files read in two transactions (two formats)."""
    write_jsonl(
        folder / "a.jsonl", [mail_access(f"a-{n}", at(0, n), MAILBOX, "app") for n in range(3)]
    )
    write_jsonl(
        folder / "b.jsonl", [signin_record(f"s-{n}", at(0, n), MAILBOX, "app") for n in range(2)]
    )


def test_disk_full_names_the_cause_and_the_files_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_formats(tmp_path / "in")
    calls = {"staging": 0}
    real_staging, real_insert = Store.staging, Store.insert_rows

    def staging(self: Store, *args: Any, **kwargs: Any) -> Any:
        calls["staging"] += 1
        if calls["staging"] > 1:  # the second file: the disk is full, DuckDB gives up
            raise duckdb.FatalException(FULL)
        return real_staging(self, *args, **kwargs)

    def insert_rows(self: Store, *args: Any, **kwargs: Any) -> Any:
        if calls["staging"] > 1:
            raise duckdb.FatalException(FULL)
        return real_insert(self, *args, **kwargs)

    monkeypatch.setattr(Store, "staging", staging)
    monkeypatch.setattr(Store, "insert_rows", insert_rows)
    db = tmp_path / "db.duckdb"
    code, _, err = run(capsys, "ingest", str(tmp_path / "in"), "--db", str(db))
    assert code == 2
    last = [line for line in err if line.startswith("mailhunt:")]
    assert len(last) == 1, err
    assert "no space left on device" in last[0]
    assert "1 file(s) stored before it: a.jsonl" in last[0]
    assert "invalidated" not in last[0]
    assert "rollback" not in last[0]
    monkeypatch.undo()
    with Store.open(db, create=False, read_only=True) as store:
        assert store.count("events") == 3


def fail_in_a_transaction(store: Store) -> None:
    with store.transaction():
        store.run("COMMIT")  # DuckDB ended the transaction itself, as on a full disk
        raise duckdb.IOException("IO Error: No space left on device")


def test_a_failed_rollback_does_not_hide_the_error(store: Store) -> None:
    with pytest.raises(duckdb.IOException, match="No space left"):
        fail_in_a_transaction(store)


def test_duplicate_files_are_counted_apart_from_skipped_or_failed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "in" / "a.jsonl", [mail_access("a-1", at(0), MAILBOX, "app")])
    (tmp_path / "in" / "copy.jsonl").write_bytes((tmp_path / "in" / "a.jsonl").read_bytes())
    code, out, _ = run(capsys, "ingest", str(tmp_path / "in"), "--db", str(tmp_path / "db"))
    assert code == 0
    assert "1 file(s) already stored (same content), not read again" in out
    assert "skipped or failed" not in out


def test_db_path_that_is_not_utf8_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "a.jsonl", [mail_access("a-1", at(0), MAILBOX, "app")])
    db = str(tmp_path) + "/db\udcff.duckdb"
    for argv in (["ingest", str(tmp_path / "a.jsonl")], ["alerts"]):
        code, _, err = run(capsys, *argv, "--db", db)
        assert code == 2
        assert len(err) == 1, err
        assert "db\\xff.duckdb: the path is not UTF-8" in err[0]
