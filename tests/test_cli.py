"""The command line: exit codes, one-line errors, and what each command prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailhunt import __version__
from mailhunt.cli import app, main
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.model.schema import markdown
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, OUTLOOK, at, check_golden, mail_access, write_jsonl

SCENARIO = FIXTURES / "scenario"
COMMANDS = sorted(c.name or "" for c in app.registered_commands)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and the lines of stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def run_process(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mailhunt.cli", *argv], capture_output=True, timeout=60, check=False
    )


def assert_one_error_line(err: list[str], *parts: str) -> None:
    assert len(err) == 1, err
    assert err[0].startswith("mailhunt")
    assert "Traceback" not in err[0]
    for part in parts:
        assert part in err[0]


@pytest.fixture
def corrupt_db(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.duckdb"
    path.write_bytes(b"this is not a database\x00\xff" * 1000)
    return path


@pytest.fixture
def scanned_db(tmp_path: Path) -> Path:
    path = tmp_path / "scan.duckdb"
    with Store.open(path) as store:
        ingest(store, [SCENARIO])
        run_detections(store)
    return path


def hostile_db(tmp_path: Path, mailboxes: list[str], app_id: str) -> Path:
    """A store with one alert: app_id reading each mailbox on day 10, after 10 days of Outlook."""
    records = [
        mail_access(f"h-{n}-{d}", at(d), mb, OUTLOOK)
        for n, mb in enumerate(mailboxes)
        for d in range(10)
    ]
    records += [mail_access(f"x-{n}", at(10), mb, app_id) for n, mb in enumerate(mailboxes)]
    write_jsonl(tmp_path / "logs" / "ual.jsonl", records)
    path = tmp_path / "hostile.duckdb"
    with Store.open(path) as store:
        ingest(store, [tmp_path / "logs"])
        assert run_detections(store).total_new == 1
    return path


# -- errors ---------------------------------------------------------------------------------------


def test_missing_path_is_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "ingest", str(tmp_path / "nope"), "--db", str(tmp_path / "d.duckdb"))
    assert code == 2
    assert_one_error_line(err, "no such file or folder", "nope")


def test_missing_path_from_a_real_process(tmp_path: Path) -> None:
    done = run_process("scan", str(tmp_path / "nope"), "--db", str(tmp_path / "d.duckdb"))
    assert done.returncode == 2
    assert_one_error_line(done.stderr.decode().splitlines(), "no such file or folder")


def test_nothing_recognisable_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello\n")
    (tmp_path / "in" / "other.json").write_text('{"kind": "something else"}\n')
    for command in ("ingest", "scan"):
        code, out, err = run(
            capsys, command, str(tmp_path / "in"), "--db", str(tmp_path / "d.duckdb")
        )
        assert code != 0
        assert_one_error_line(err, "nothing recognisable")
        assert "no format matched" in out


@pytest.mark.parametrize("command", ["ingest", "alerts", "show", "detect"])
def test_unknown_option_is_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, _, err = run(capsys, command, "--no-such-option")
    assert code == 2
    assert_one_error_line(err, "No such option: --no-such-option")


def test_bad_option_value_is_exit_2(capsys: pytest.CaptureFixture[str], scanned_db: Path) -> None:
    code, _, err = run(capsys, "alerts", "--db", str(scanned_db), "--format", "xml")
    assert code == 2
    assert_one_error_line(err, "--format")
    code, _, err = run(capsys, "detect", "--db", str(scanned_db), "--baseline-days", "0")
    assert code == 2
    assert_one_error_line(err, "--baseline-days")


@pytest.mark.parametrize(
    "argv",
    [
        ["alerts"],
        ["detect"],
        ["show", "some-id"],
        ["ingest", str(FIXTURES / "scenario")],
        ["scan", str(FIXTURES / "scenario")],
    ],
)
def test_corrupt_database_is_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str], corrupt_db: Path, argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv, "--db", str(corrupt_db))
    assert code == 2
    assert_one_error_line(err, "cannot open database")


def test_corrupt_database_from_a_real_process(corrupt_db: Path) -> None:
    done = run_process("alerts", "--db", str(corrupt_db))
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
    assert_one_error_line(done.stderr.decode().splitlines(), "cannot open database")


@pytest.mark.parametrize("argv", [["alerts"], ["detect"], ["show", "some-id"]])
def test_missing_database_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv, "--db", str(tmp_path / "missing.duckdb"))
    assert code == 2
    assert_one_error_line(err, "no database at")
    assert not (tmp_path / "missing.duckdb").exists()


# -- help and simple commands ---------------------------------------------------------------------


def test_every_command_is_listed() -> None:
    assert COMMANDS == [
        "alerts",
        "analytics",
        "demo",
        "detect",
        "formats",
        "ingest",
        "quarantine",
        "scan",
        "schema",
        "show",
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "--help")
    assert code == 0
    assert f"Usage: mailhunt {command}" in out
    assert err == []


def test_root_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert all(command in out for command in COMMANDS)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"mailhunt {__version__}")


def test_schema_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert (code, out) == (0, markdown())


# -- scan, alerts, show ---------------------------------------------------------------------------


def test_scan_prints_the_alert_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "scan", str(SCENARIO), "--db", str(tmp_path / "s.duckdb"))
    assert code == 0, err
    assert "2 file(s): 14 records read, 14 new, 0 quarantined" in out
    assert "mailbox-first-seen-app: 1 detection(s), 1 new alert(s)" in out
    assert "severity" in out
    assert "9b72c28fb876" in out  # the first 12 characters of the alert id
    assert "high" in out
    assert out.rstrip().endswith("1 alert(s)")


def test_ingest_reports_quarantine_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ual.jsonl"
    path.write_bytes((SCENARIO / "ual.jsonl").read_bytes() + b"{broken\n")
    code, out, _ = run(capsys, "ingest", str(path), "--db", str(tmp_path / "d.duckdb"))
    assert code == 0
    assert "1 file(s): 10 records read, 9 new, 1 quarantined" in out
    assert "quarantined 1: invalid_json" in out


def test_alerts_jsonl_is_the_golden_contract(
    capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    code, out, _ = run(capsys, "alerts", "--db", str(scanned_db), "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert all(r.pop("created_at").endswith("Z") for r in records)
    check_golden("alerts/scenario.json", records)


def test_alerts_min_severity_filters(capsys: pytest.CaptureFixture[str], scanned_db: Path) -> None:
    _, out, _ = run(
        capsys, "alerts", "--db", str(scanned_db), "--format", "jsonl", "--min-severity", "high"
    )
    assert len(out.splitlines()) == 1
    _, out, _ = run(
        capsys, "alerts", "--db", str(scanned_db), "--format", "jsonl", "--min-severity", "critical"
    )
    assert out == ""


def test_alerts_csv_has_header_and_row(
    capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    code, out, _ = run(capsys, "alerts", "--db", str(scanned_db), "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id,rule_id,title,severity,")
    assert len(lines) == 2
    assert lines[1].startswith("9b72c28fb876f99903b8b88d35eb731f,mailbox-first-seen-app,")


def test_show_prints_the_exact_bytes(scanned_db: Path) -> None:
    line = (SCENARIO / "ual.jsonl").read_bytes().splitlines()[5]
    record_id = json.loads(line)["Id"]
    done = run_process("show", record_id, "--db", str(scanned_db))
    assert done.returncode == 0
    assert done.stdout == line  # exactly the original bytes, nothing added
    assert "ual.jsonl:6 (m365-ual-json, sha256 " in done.stderr.decode()


def test_show_unknown_id_is_exit_2(capsys: pytest.CaptureFixture[str], scanned_db: Path) -> None:
    code, out, err = run(capsys, "show", "no-such-record", "--db", str(scanned_db))
    assert (code, out) == (2, "")
    assert_one_error_line(err, "no record with id 'no-such-record'")


# -- attacker-controlled text in the table --------------------------------------------------------


def test_table_prints_markup_literally_and_escapes_controls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = hostile_db(tmp_path, ["[bold red]x[/]@c.io"], "\x1b[2jz\x07\u202e")
    code, out, _ = run(capsys, "alerts", "--db", str(db))
    assert code == 0
    assert "[bold red]x[/]@c.io" in out
    assert "\\x1b[2jz\\x07\\u202e" in out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out


def test_csv_from_the_cli_guards_formula_mailboxes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = hostile_db(tmp_path, ["=1+1@evil.example", "bob@c.io"], "app-x")
    code, out, _ = run(capsys, "alerts", "--db", str(db), "--format", "csv")
    assert code == 0
    assert ",'=1+1@evil.example;bob@c.io," in out


def test_table_lists_every_mailbox_of_an_alert(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = hostile_db(tmp_path, ["a@c.io", "b@c.io", "c@c.io"], "app-x")
    _, out, _ = run(capsys, "alerts", "--db", str(db))
    assert "\\x0a" not in out
    assert all(mailbox in out for mailbox in ("a@c.io", "b@c.io", "c@c.io"))


def test_scan_twice_still_lists_the_alerts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "s.duckdb")
    assert run(capsys, "scan", str(SCENARIO), "--db", db)[0] == 0
    code, out, err = run(capsys, "scan", str(SCENARIO), "--db", db)
    assert (code, err) == (0, [])
    assert out.rstrip().endswith("1 alert(s)")
    assert run(capsys, "ingest", str(SCENARIO), "--db", db)[0] == 0
