"""`mailhunt quarantine`: what ingest could not store, by file, line and reason, for people
(escaped) and tools (JSON Lines with the raw bytes as escaped text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from tests.helpers import at, ual_record


def _ingest(tmp_path: Path) -> Path:
    good = json.dumps(ual_record("ok-1", at(0))).encode()
    escapes = b'{"Id": "e", "Subject": "\x1b[31mred\x1b[0m"}'  # a raw ESC: not valid JSON
    markup = b'{"Id": "x", "CreationTime": "[bold]boom[/bold]"}'
    lines = [good, b"{oops", markup, b"\xff\xfe", escapes]
    (tmp_path / "mixed.jsonl").write_bytes(b"\n".join(lines))
    database = tmp_path / "q.duckdb"
    assert main(["ingest", str(tmp_path / "mixed.jsonl"), "--db", str(database)]) == 1
    return database


def test_table_lists_each_record_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = _ingest(tmp_path)
    capsys.readouterr()
    assert main(["quarantine", "--db", str(database)]) == 0
    out = capsys.readouterr().out
    assert "invalid_json" in out
    assert "bad_time" in out
    assert "invalid_utf8" in out
    assert "\x1b" not in out  # escape sequences from the data are shown, not obeyed
    assert "[bold]boom[/bold]" in out  # Rich markup from the data is printed literally
    assert "2 invalid_json, 1 bad_time, 1 invalid_utf8" in out


def test_jsonl_is_one_object_per_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = _ingest(tmp_path)
    capsys.readouterr()
    assert main(["quarantine", "--db", str(database), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["line"], r["reason"]) for r in records] == [
        (2, "invalid_json"),
        (3, "bad_time"),
        (4, "invalid_utf8"),
        (5, "invalid_json"),
    ]
    assert records[2]["raw"] == "\\xff\\xfe"
    assert "\x1b" in records[3]["raw"]  # JSON escapes it: the data, intact, for tools
    assert records[0]["source_path"].endswith("mixed.jsonl")


def test_one_reason_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = _ingest(tmp_path)
    capsys.readouterr()
    assert (
        main(["quarantine", "--db", str(database), "--format", "jsonl", "--reason", "bad_time"])
        == 0
    )
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["line"] == 3
