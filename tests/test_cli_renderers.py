"""The command line over the registries: --format choices come from the renderers registered
for each command's kind, analytic parameters from what the analytics declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES
from mailhunt.ingest import ingest
from mailhunt.report import renderers
from mailhunt.report.renderers import renderers_for
from mailhunt.store.db import Store
from tests.helpers import FIXTURES

SCENARIO = FIXTURES / "scenario"
KINDS = {
    "alerts": renderers.ALERTS,
    "quarantine": renderers.QUARANTINE,
    "analytics": renderers.ANALYTICS,
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def one_error_line(err: list[str], *parts: str) -> None:
    assert len(err) == 1, err
    assert err[0].startswith("mailhunt")
    for part in parts:
        assert part in err[0], err[0]


@pytest.fixture
def ingested_db(tmp_path: Path) -> Path:
    path = tmp_path / "ingested.duckdb"
    with Store.open(path) as store:
        ingest(store, [SCENARIO])
    return path


@pytest.mark.parametrize("command", sorted(KINDS))
def test_help_lists_the_registered_formats(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    names = list(renderers_for(KINDS[command]))
    assert f"--format <{'|'.join(names)}>" in out


@pytest.mark.parametrize("command", sorted(KINDS))
def test_unknown_format_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], ingested_db: Path, command: str
) -> None:
    argv = [command, "--format", "xml"] + (
        ["--db", str(ingested_db)] if command != "analytics" else []
    )
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, f"mailhunt {command}:", "--format", "'xml' is not one of table")


def test_min_severity_choices_are_the_severities(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "alerts", "--help")
    assert f"<{'|'.join(SEVERITIES)}>" in out


def test_analytics_table_and_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "analytics")
    assert code == 0
    assert "mailbox-first-seen-app" in out
    assert "baseline_days=14" in out
    assert "T1114.002" in out
    code, out, _ = run(capsys, "analytics", "--format", "jsonl")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == list(ANALYTICS)


@pytest.mark.parametrize(
    "argv",
    [
        ["--param", "min_history_days=1000"],
        ["--min-history-days", "1000"],
        ["--param", "min_history_days=3", "--param", "min_history_days=1000"],
    ],
)
def test_parameters_reach_the_analytic(
    capsys: pytest.CaptureFixture[str], ingested_db: Path, argv: list[str]
) -> None:
    code, out, _ = run(capsys, "detect", "--db", str(ingested_db), *argv)
    assert code == 0
    assert "mailbox-first-seen-app: 0 detection(s), 0 new alert(s)" in out
    code, out, _ = run(capsys, "detect", "--db", str(ingested_db))
    assert "mailbox-first-seen-app: 1 detection(s), 1 new alert(s)" in out


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (["--param", "nope=3"], ["--param", "unknown parameter 'nope'", "baseline_days"]),
        (["--param", "baseline_days=abc"], ["--param", "baseline_days must be a whole number"]),
        (["--param", "baseline_days=0"], ["--param", "whole number >= 1, not '0'"]),
        (["--param", "baseline_days"], ["--param", "expected NAME=VALUE"]),
        (["--min-history-days", "-1"], ["--min-history-days", "whole number >= 0"]),
    ],
)
def test_bad_parameters_are_usage_errors(
    capsys: pytest.CaptureFixture[str], ingested_db: Path, argv: list[str], parts: list[str]
) -> None:
    code, out, err = run(capsys, "detect", "--db", str(ingested_db), *argv)
    assert (code, out) == (2, "")
    one_error_line(err, "mailhunt detect:", *parts)


def test_detect_help_names_the_declared_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "detect", "--help")
    flat = " ".join(out.split())
    assert "--param NAME=VALUE" in flat
    for analytic in ANALYTICS.values():
        for parameter in analytic.parameters:
            assert parameter.name in flat
