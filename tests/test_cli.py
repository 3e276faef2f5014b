"""The command line: exit codes, one-line errors, and what each command prints."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mailhunt import __version__, cli
from mailhunt.cli import app, main
from mailhunt.detect import runner
from mailhunt.detect.analytics import ANALYTICS
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


@pytest.fixture(scope="module")
def scanned_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scanned") / "scan.duckdb"
    with Store.open(path) as store:
        ingest(store, [SCENARIO])
        run_detections(store)
    return path


@pytest.fixture
def scanned_db(scanned_template: Path, tmp_path: Path) -> Path:
    """The scenario ingested and detected: built once, each test given its own copy."""
    path = tmp_path / "scan.duckdb"
    shutil.copyfile(scanned_template, path)
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
        "blast-radius",
        "collect",
        "coverage",
        "demo",
        "detect",
        "evaluate",
        "export",
        "formats",
        "incidents",
        "ingest",
        "notify",
        "quarantine",
        "report",
        "scan",
        "schema",
        "serve",
        "show",
        "status",
        "timeline",
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
    # new-network-for-mailbox adds the intruder's server and the admin's 3 a.m. read
    assert "new-network-for-mailbox: 2 detection(s), 2 new alert(s)" in out
    assert out.rstrip().endswith("3 alert(s)")


def test_ingest_reports_quarantine_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ual.jsonl"
    path.write_bytes((SCENARIO / "ual.jsonl").read_bytes() + b"{broken\n")
    code, out, _ = run(capsys, "ingest", str(path), "--db", str(tmp_path / "d.duckdb"))
    assert code == 1  # not everything was stored
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
    assert len(out.splitlines()) == 3
    _, out, _ = run(
        capsys, "alerts", "--db", str(scanned_db), "--format", "jsonl", "--min-severity", "critical"
    )
    assert [json.loads(line)["rule_id"] for line in out.splitlines()] == ["new-network-for-mailbox"]


def test_alerts_csv_has_header_and_row(
    capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    code, out, _ = run(capsys, "alerts", "--db", str(scanned_db), "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id,rule_id,title,severity,")
    assert len(lines) == 4
    assert any(
        line.startswith("9b72c28fb876f99903b8b88d35eb731f,mailbox-first-seen-app,")
        for line in lines
    )


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
    assert out.rstrip().endswith("3 alert(s)")
    assert run(capsys, "ingest", str(SCENARIO), "--db", db)[0] == 0


# -- --db is a file path; DuckDB settings ----------------------------------------------------------

STORE_COMMANDS = [
    ["ingest", str(SCENARIO)],
    ["scan", str(SCENARIO)],
    ["detect"],
    ["alerts"],
    ["quarantine"],
    ["show", "some-id"],
]


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=lambda argv: argv[0])
@pytest.mark.parametrize("address", ["md:x", ":memory:", "s3://bucket/m.duckdb", "sqlite:m.db"])
def test_db_address_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    address: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv, "--db", address)
    assert (code, out) == (2, "")
    assert_one_error_line(err, "--db", "is a DuckDB address, not a file path")
    assert list(tmp_path.iterdir()) == []


def test_db_file_name_with_a_colon_is_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "ingest", str(SCENARIO), "--db", "./md:x")
    assert (code, err) == (0, [])
    assert (tmp_path / "md:x").is_file()


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=lambda argv: argv[0])
def test_sqlite_db_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "notes.db"
    with closing(sqlite3.connect(path)) as lite:
        lite.execute("CREATE TABLE notes (x)")
        lite.commit()
    before = path.read_bytes()
    code, _, err = run(capsys, *argv, "--db", str(path))
    assert code == 2
    assert_one_error_line(err, "is a SQLite database, not a mailhunt store")
    assert path.read_bytes() == before


@pytest.mark.parametrize("argv", [["ingest", str(SCENARIO)], ["scan", str(SCENARIO)]])
def test_other_duckdb_database_is_not_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with closing(duckdb.connect(str(path))) as other:
        other.execute("CREATE TABLE sales (x INTEGER)")
    code, _, err = run(capsys, *argv, "--db", str(path))
    assert code == 2
    assert_one_error_line(err, "not a mailhunt store", "give --db a new file")
    with closing(duckdb.connect(str(path), read_only=True)) as other:
        assert other.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("sales",)]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--memory-limit", "lots"),
        ("--memory-limit", "5"),
        ("--memory-limit", "120%"),
        ("--threads", "0"),
        ("--threads", "two"),
    ],
)
def test_bad_duckdb_setting_is_exit_2(
    capsys: pytest.CaptureFixture[str], scanned_db: Path, option: str, value: str
) -> None:
    code, _, err = run(capsys, "alerts", "--db", str(scanned_db), option, value)
    assert code == 2
    assert_one_error_line(err, option)


def test_duckdb_settings_reach_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, object]] = []
    real_open = Store.open

    def recording(path: Path | None, **options: Any) -> Store:
        if path is not None:  # (not the in-memory store Sigma rules are checked on)
            opened.append(options)
        return real_open(path, **options)

    monkeypatch.setattr(Store, "open", recording)
    db = str(tmp_path / "s.duckdb")
    settings = ["--memory-limit", "1GB", "--threads", "1"]
    for argv in (["scan", str(SCENARIO)], ["detect"], ["alerts"], ["quarantine"]):
        code, _, err = run(capsys, *argv, "--db", db, *settings)
        assert (code, err) == (0, [])
    assert [(o["memory_limit"], o["threads"]) for o in opened] == [("1GB", 1)] * 4


# -- a failing analytic ---------------------------------------------------------------------------

BROKEN = replace(ANALYTICS["mailbox-first-seen-app"], id="broken", sql="SELECT * FROM nowhere")


@pytest.mark.parametrize("command", ["detect", "scan"])
def test_failing_analytic_is_reported_and_the_others_raise(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        ingest(store, [SCENARIO])
    monkeypatch.setattr(runner, "ANALYTICS", {"broken": BROKEN, **ANALYTICS})
    argv = [command, str(SCENARIO)] if command == "scan" else [command]
    code, out, err = run(capsys, *argv, "--db", str(db))
    assert code == 1
    assert_one_error_line(err, "analytic broken failed", "nowhere")
    assert "mailbox-first-seen-app: 1 detection(s), 1 new alert(s)" in out
    with Store.open(db, create=False, read_only=True) as store:
        assert store.count("alerts") == 3


# -- show, inputs, stdout -------------------------------------------------------------------------


def test_show_no_verify_refuses_other_bytes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ual.jsonl"
    lines = (SCENARIO / "ual.jsonl").read_bytes().splitlines()
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    db = str(tmp_path / "s.duckdb")
    assert run(capsys, "ingest", str(path), "--db", db)[0] == 0
    path.write_bytes(b"".join(line + b"\n" for line in reversed(lines)))
    record_id = json.loads(lines[0])["Id"]
    code, out, err = run(capsys, "show", record_id, "--db", db, "--no-verify")
    assert (code, out) == (1, "")
    assert_one_error_line(err, f"do not hold record {record_id!r}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_show_with_a_fifo_in_place_of_the_file_ends(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ual.jsonl"
    path.write_bytes((SCENARIO / "ual.jsonl").read_bytes())
    db = str(tmp_path / "s.duckdb")
    assert run(capsys, "ingest", str(path), "--db", db)[0] == 0
    path.unlink()
    os.mkfifo(path)
    record_id = json.loads((SCENARIO / "ual.jsonl").read_bytes().splitlines()[0])["Id"]
    for extra in ([], ["--no-verify"]):
        done = run_process("show", record_id, "--db", db, *extra)  # bounded: 60 s
        assert (done.returncode, done.stdout) == (1, b"")
        assert_one_error_line(done.stderr.decode().splitlines(), "is not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_input_is_not_a_regular_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "input.jsonl"
    os.mkfifo(fifo)
    for command in ("ingest", "scan"):
        code, _, err = run(capsys, command, str(fifo), "--db", str(tmp_path / "d.duckdb"))
        assert code == 2
        assert_one_error_line(err, "not a regular file", "input.jsonl")
    assert not (tmp_path / "d.duckdb").exists()


@pytest.mark.parametrize(
    "argv",
    [["alerts", "--format", "jsonl"], ["alerts"], ["show", "3f6c2a10-5d4e-4b7a-9c1d-000000000006"]],
    ids=["jsonl", "table", "show"],
)
def test_closed_stdout_ends_quietly(scanned_db: Path, argv: list[str]) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "mailhunt.cli", *argv, "--db", str(scanned_db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    try:
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 141
    assert b"Traceback" not in stderr
    assert b"Exception ignored" not in stderr
    assert b"Broken pipe" not in stderr


def test_interrupted_query_is_one_line(
    capsys: pytest.CaptureFixture[str], scanned_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise RuntimeError("Query interrupted")  # what DuckDB's client raises on Ctrl-C

    monkeypatch.setattr(cli, "list_alerts", interrupted)
    code, _, err = run(capsys, "alerts", "--db", str(scanned_db))
    assert code == 130
    assert_one_error_line(err, "interrupted")
