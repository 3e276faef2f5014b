"""Hostile strings from logs through every output that shows them: 0 effects.

The corpus (tests/fixtures/injection/terminal_csv.json) holds ANSI CSI/OSC sequences, BEL, NUL,
C1 controls, bidi overrides and isolates, Rich markup and spreadsheet formulas (leading and
after a ';' in a list cell). Each output is checked for what a terminal or a spreadsheet would
obey: no raw control, bidi or format character in terminal or CSV text, no CSV cell or list
element a spreadsheet would run, markup shown as written, and JSON Lines reading back the very
same strings. The checks here are written independently of ``report.safe``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from mailhunt import cli
from mailhunt.alerts.query import Alert
from mailhunt.investigate.quarantine import QuarantinedRecord, QuarantineListing
from mailhunt.report import renderers
from mailhunt.report.alerts import alert_record
from mailhunt.report.quarantine import quarantine_record
from mailhunt.report.renderers import render
from mailhunt.report.safe import terminal_text
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, ual_record, write_jsonl
from tests.report.test_alerts import make_alert

CORPUS: dict[str, str] = json.loads(
    (FIXTURES / "injection" / "terminal_csv.json").read_text(encoding="utf-8")
)["strings"]
HOSTILE = list(CORPUS.values())
# What a file name can hold (no '/', no NUL, valid UTF-8): the rest are still data elsewhere.
NAMES = {
    key: value
    for key, value in CORPUS.items()
    if "/" not in value and "\x00" not in value and key != "lone_surrogate"
}
OBEYED = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}  # controls, format (bidi), separators, surrogates
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """Characters a terminal would obey (or hide) rather than show."""
    return [c for c in text if c not in allowed and unicodedata.category(c) in OBEYED]


def runnable(cell: str) -> bool:
    """Whether a spreadsheet could run the cell: its start, or any part after a ';' (where a
    ';' locale splits it), reads as a formula."""
    first, *rest = cell.split(";")
    return first.startswith(FORMULA_START) or any(
        part.startswith((*FORMULA_START, '"')) for part in rest
    )


def shown(renderable: object) -> str:
    console = Console(width=3000, file=io.StringIO(), force_terminal=False, highlight=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def hostile_alert(n: int, value: str) -> Alert:
    return make_alert(
        id=f"{n:02d}{value}",
        rule_id=value,
        title=value,
        technique=value,
        entity=value,
        summary=value,
        tenant_ids=[value],
        mailboxes=["alice@contoso.com", value, value],
        users=[value],
        app_ids=[value, "app"],
        client_ips=[value],
        event_ids=[value, "e2"],
    )


ALERTS = [hostile_alert(n, value) for n, value in enumerate(HOSTILE)]


def hostile_record(value: str) -> QuarantinedRecord:
    raw = value.encode("utf-8", errors="surrogatepass") + b"\xff\x1b[2J"
    return QuarantinedRecord(f"/logs/{value}", 3, 120, value, value, value, raw, value)


LISTING = QuarantineListing([hostile_record(v) for v in HOSTILE], [(v, 1) for v in HOSTILE])


def assert_csv_runs_nothing(text: str) -> list[list[str]]:
    assert raw_controls(text) == []
    assert "\r" not in text
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        assert [cell for cell in row if runnable(cell)] == []
    for row in csv.reader(io.StringIO(text), delimiter=";"):  # read as a ';' locale would
        assert [cell for cell in row if cell.startswith(FORMULA_START)] == []
    return rows


def assert_jsonl_exact(text: str, expected: list[dict[str, object]]) -> None:
    lines = text.splitlines()
    for line in lines:
        assert raw_controls(line, allowed="") == []
    assert [json.loads(line) for line in lines] == expected


# -- alerts ----------------------------------------------------------------------------------


def test_alerts_table_obeys_nothing_and_shows_markup_as_written() -> None:
    text = shown(render(renderers.ALERTS, "table", ALERTS))
    assert raw_controls(text) == []
    for value in HOSTILE:
        assert terminal_text(value) in text  # shown, escaped, not read as markup
    assert "[bold red]ALERT[/bold red]" in text
    assert "[link=http://evil.example]click[/link]" in text


def test_alerts_jsonl_escapes_and_reads_back_the_same_strings() -> None:
    text = render(renderers.ALERTS, "jsonl", ALERTS)
    assert isinstance(text, str)
    assert "\\u009b31mred" in text
    assert "\\u202e" in text
    assert_jsonl_exact(text, [alert_record(a) for a in ALERTS])
    assert list(json.loads(text.splitlines()[0])) == list(alert_record(ALERTS[0]))  # field order


def test_alerts_csv_runs_nothing_in_any_cell_or_list_element() -> None:
    text = render(renderers.ALERTS, "csv", ALERTS)
    assert isinstance(text, str)
    rows = assert_csv_runs_nothing(text)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(records) == len(ALERTS)
    by_value = dict(zip(HOSTILE, records, strict=True))
    assert by_value['a;=HYPERLINK("http://x")']["summary"] == 'a;\'=HYPERLINK("http://x")'
    assert by_value["=cmd|' /C calc'!A0"]["mailboxes"] == (
        "alice@contoso.com;'=cmd|' /C calc'!A0;'=cmd|' /C calc'!A0"
    )
    assert by_value["-2+3"]["app_ids"] == "'-2+3;app"
    assert by_value["ding\x07"]["summary"] == "ding\\x07"
    assert by_value["\t=1+1"]["summary"] == "\\x09=1+1"


# -- quarantine ------------------------------------------------------------------------------


def test_quarantine_table_obeys_nothing() -> None:
    text = shown(render(renderers.QUARANTINE, "table", LISTING))
    assert raw_controls(text) == []
    for value in HOSTILE:
        assert terminal_text(value) in text
    assert "[/]" in text


def test_quarantine_jsonl_reads_back_the_same_strings() -> None:
    text = render(renderers.QUARANTINE, "jsonl", LISTING)
    assert isinstance(text, str)
    assert_jsonl_exact(text, [quarantine_record(r) for r in LISTING.records])


def test_quarantine_csv_runs_nothing() -> None:
    text = render(renderers.QUARANTINE, "csv", LISTING)
    assert isinstance(text, str)
    rows = assert_csv_runs_nothing(text)
    assert len(rows) == len(HOSTILE) + 1


# -- the command line: ingest summary, progress bar, log lines -------------------------------


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    """One UAL file per hostile name, and an unrecognised file with a hostile name and body."""
    folder = tmp_path / "in"
    for n, name in enumerate(NAMES.values()):
        write_jsonl(folder / f"{name}.jsonl", [ual_record(f"rec-{n}", at(0))])
    (folder / "\x1b]0;pwned\x07[bold]notes.txt").write_text("\x1b]0;title\x07 [bold]x\u202e\n")
    return folder


def test_ingest_summary_obeys_nothing(
    hostile_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=screen, width=3000, highlight=False))
    code = cli.main(["ingest", str(hostile_folder), "--db", str(tmp_path / "m.duckdb")])
    text = screen.getvalue() + "".join(capsys.readouterr())
    assert code == 1  # the unrecognised notes file was not stored
    assert raw_controls(text) == []
    for name in NAMES.values():
        assert terminal_text(f"{name}.jsonl") in text
    assert "[bold]notes.txt" in text


@pytest.mark.parametrize(
    "key", ["ansi_osc_title", "c1_csi", "bidi_rlo", "rich_markup_file_name", "csv_minus"]
)
def test_progress_description_shows_the_file_name_as_written(
    key: str, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = NAMES[key] + ".jsonl"
    write_jsonl(tmp_path / name, [ual_record("rec-1", at(0))])
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, width=300, force_terminal=True))
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)
    summary = cli._run_ingest(store, [tmp_path / name], cli._Stop())
    assert [f.status for f in summary.files] == ["ingested"]
    text = screen.getvalue()  # Rich's own cursor and colour sequences, then the description
    assert f"ingesting {terminal_text(name)[:40]}" in text  # as the CLI cuts it
    for obeyed in ("\x07", "\x1b]", "\x9b", "\u202e"):
        assert obeyed not in text


def test_a_logged_file_name_is_one_escaped_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a real run: the CLI configures logging
    monkeypatch.setattr(root, "level", root.level)
    assert cli.main(["--verbose", "schema"]) == 0
    capsys.readouterr()
    name = "\x1b]0;pwned\x07[bold red]x\u202e\x9b2J\nWARNING:forged:line.jsonl"
    logging.getLogger("mailhunt.ingest.run").warning("%s: %s", name, "cannot read\x1b[2J")
    err = capsys.readouterr().err
    assert err.endswith("\n")
    [line] = err.splitlines()
    assert raw_controls(line) == []
    assert line == f"WARNING:mailhunt.ingest.run:{terminal_text(name)}: cannot read\\x1b[2J"


def fail(message: str) -> None:
    raise ValueError(message)


def test_a_logged_traceback_keeps_its_lines_each_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    assert cli.main(["schema"]) == 0
    capsys.readouterr()
    try:
        fail("bad name \x1b]0;t\x07")
    except ValueError:
        logging.getLogger("mailhunt.test").exception("failed \u202e")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "ERROR:mailhunt.test:failed \\u202e"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad name \\x1b]0;t\\x07"
    assert all(raw_controls(line) == [] for line in lines)


def test_a_name_that_is_not_utf8_is_escaped_everywhere() -> None:
    """A lone surrogate (a non-UTF-8 byte of a file name) cannot reach a terminal or file raw."""
    record = replace(hostile_record("x"), source_path="/logs/name\udc80.jsonl")
    listing = QuarantineListing([record], [])
    assert "name\\udc80.jsonl" in shown(render(renderers.QUARANTINE, "table", listing))
    text = render(renderers.QUARANTINE, "jsonl", listing)
    assert isinstance(text, str)
    assert '"source_path":"/logs/name\\udc80.jsonl"' in text
    assert json.loads(text)["source_path"] == "/logs/name\udc80.jsonl"
    text.encode()  # writable to a UTF-8 stdout
