"""Exit codes of ingest and scan (issue 8, finding 1): 0 when everything was stored, 1 when some
records or files were not, 2 on a usage error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from tests.helpers import at, ual_record


def _lines(prefix: str, count: int) -> bytes:
    return b"".join(
        json.dumps(ual_record(f"{prefix}-{n}", at(0, 9, n))).encode() + b"\n" for n in range(count)
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", ["ingest", "scan"])
def test_everything_stored_is_0_and_so_is_a_rerun(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    (tmp_path / "ual.jsonl").write_bytes(_lines("ok", 3))
    db = str(tmp_path / "d.duckdb")
    assert _run(capsys, command, str(tmp_path / "ual.jsonl"), "--db", db)[0] == 0
    assert _run(capsys, command, str(tmp_path / "ual.jsonl"), "--db", db)[0] == 0  # duplicate


@pytest.mark.parametrize("command", ["ingest", "scan"])
def test_a_failed_file_among_good_ones_is_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "good.jsonl").write_bytes(_lines("ok", 3))
    (logs / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    code, out, err = _run(capsys, command, str(logs), "--db", str(tmp_path / "d.duckdb"))
    assert code == 1
    assert err == ""  # the table says which file and why
    assert "failed" in out


def test_a_quarantined_record_is_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    path.write_bytes(_lines("ok", 3) + b'{"Id": "no-time"}\n')
    code, out, _ = _run(capsys, "ingest", str(path), "--db", str(tmp_path / "d.duckdb"))
    assert code == 1
    assert "quarantined 1: missing_time" in out


def test_an_archive_cut_short_is_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl.gz"
    compressed = gzip.compress(_lines("gz", 500))
    path.write_bytes(compressed[: len(compressed) // 2])
    code, out, _ = _run(capsys, "ingest", str(path), "--db", str(tmp_path / "d.duckdb"))
    assert code == 1
    assert "archive_truncated" in out


def test_a_file_that_failed_alone_is_1_not_nothing_recognisable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A recognised file that could not be stored is not 'nothing recognisable' (a usage
    error): the table says why it failed."""
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    code, out, err = _run(capsys, "ingest", str(path), "--db", str(tmp_path / "d.duckdb"))
    assert (code, err) == (1, "")
    assert "cannot read archive" in out


def test_nothing_recognisable_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    code, _, err = _run(capsys, "ingest", str(tmp_path / "notes.txt"), "--db", str(tmp_path / "d"))
    assert code == 2
    assert "nothing recognisable" in err
