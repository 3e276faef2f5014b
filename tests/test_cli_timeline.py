"""mailhunt timeline: exactly one selector, one-line errors with exit 2, the three formats, and
the JSON Lines contract (field order pinned by a golden file)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.report.timeline import ROW_FIELDS, SESSION_FIELDS
from mailhunt.store.db import Store
from tests.helpers import check_golden
from tests.investigate.timeline_records import ALICE, BOB, HOSTILE_AGENT, build


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "timeline.duckdb"
    with Store.open(path) as store:
        build(store, tmp_path / "logs")
    return path


@pytest.mark.parametrize(
    ("argv", "part"),
    [
        ([], "exactly one of --mailbox, --user, --ip, --app"),
        (["--mailbox", ALICE, "--user", ALICE], "exactly one"),
        (["--ip", "45.77.12.999"], "--ip '45.77.12.999' is not an IP address or CIDR"),
        (["--ip", "not/an/ip"], "not an IP address or CIDR"),
        (["--mailbox", ALICE, "--since", "yesterday"], "--since 'yesterday' is not an ISO"),
        (["--mailbox", ALICE, "--until", "2024-13-01"], "--until"),
        (["--mailbox", ALICE, "--since", "2024-04-05", "--until", "2024-04-01"], "before"),
        (["--mailbox", ALICE, "--format", "xml"], "'xml' is not one of table, csv, jsonl"),
        (["--mailbox", ALICE, "--session-gap", "0"], "--session-gap"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: Path, argv: list[str], part: str
) -> None:
    code, out, err = run(capsys, "timeline", "--db", str(db), *argv)
    assert (code, out) == (2, "")
    assert len(err) == 1, err
    assert err[0].startswith("mailhunt")
    assert part in err[0], err[0]


def test_a_missing_store_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "timeline", "--db", str(tmp_path / "none.duckdb"), "--user", BOB)
    assert code == 2
    assert len(err) == 1


def test_jsonl_fields_are_a_contract(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    argv = ("timeline", "--db", str(db), "--mailbox", ALICE, "--since", "2024-04-07")
    code, out, err = run(capsys, *argv, "--format", "jsonl")
    assert (code, err) == (0, [])
    lines = out.splitlines()
    assert [list(json.loads(line)) for line in lines] == [list(ROW_FIELDS)] * len(lines)
    code, sessions, _ = run(capsys, *argv, "--format", "jsonl", "--sessions")
    assert code == 0
    check_golden(
        "timeline_jsonl.json",
        {
            "row_fields": list(ROW_FIELDS),
            "session_fields": list(SESSION_FIELDS),
            "rows": lines,
            "sessions": sessions.splitlines(),
        },
    )


def test_csv_guards_formulas_and_the_table_escapes(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    argv = ("timeline", "--db", str(db), "--user", BOB, "--since", "2024-04-07")
    code, out, _ = run(capsys, *argv, "--format", "csv")
    assert code == 0
    header, row = list(csv.reader(io.StringIO(out)))
    assert header == list(ROW_FIELDS)
    client = row[ROW_FIELDS.index("client")]
    assert client.startswith("'=HYPERLINK")
    assert "\x1b" not in client
    assert "\u202e" not in client
    code, out, _ = run(capsys, *argv, "--format", "jsonl")
    assert json.loads(out)["client"] == HOSTILE_AGENT  # exact in JSON Lines
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "=HYPERLINK" in out  # shown as text
    assert "1 record(s) in 1 session(s)" in out


def test_the_session_view(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = run(capsys, "timeline", "--db", str(db), "--ip", "45.77.0.0/16", "--sessions")
    assert code == 0
    assert "timeline of --ip 45.77.0.0/16: 4 record(s) in 2 session(s)" in out.replace("\n", " ")
