"""The command line around the analytics: `suppress add|list|remove`, `alerts
--include-suppressed` and its count, `detect` reporting suppressed detections, parameters from
mailhunt.toml (--param wins), and `rules list` as the same listing as `analytics`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, ROGUE_APP, at, mail_access, write_jsonl

ALICE = "alice@contoso.onmicrosoft.com"
RULE = "mailbox-first-seen-app"


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
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding 10 days of alice on Outlook, then an unknown application reading her
    mailbox from 45.77.191.159 (one alert of mailbox-first-seen-app once detected); the
    current directory is an empty folder (no mailhunt.toml)."""
    records = [mail_access(f"h-{d}", at(d), ALICE, OUTLOOK) for d in range(10)]
    records.append(mail_access("x-1", at(10), ALICE, ROGUE_APP, ip="45.77.191.159:4431"))
    write_jsonl(tmp_path / "logs" / "ual.jsonl", records)
    path = tmp_path / "users.duckdb"
    with Store.open(path) as store:
        ingest(store, [tmp_path / "logs"])
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return str(path)


def alert_lines(
    capsys: pytest.CaptureFixture[str], db: str, *options: str
) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "alerts", "--db", db, "--format", "jsonl", *options)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


# -- suppress --------------------------------------------------------------------------------------


def test_suppressed_detections_are_counted_not_listed(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, err = run(
        capsys, "suppress", "add", "--db", db, "--ip", "45.77.191.0/24", "--reason", "red team"
    )
    assert (code, err) == (0, [])
    assert out == "suppression 1 added; 0 stored alert(s) now suppressed by it\n"
    code, out, _ = run(capsys, "detect", "--db", db)
    assert code == 0
    assert f"{RULE}: 1 detection(s), 0 new alert(s), 1 suppressed" in out
    assert alert_lines(capsys, db) == []
    [held] = alert_lines(capsys, db, "--include-suppressed")
    assert (held["rule_id"], held["suppressed_by"]) == (RULE, 1)
    code, out, _ = run(capsys, "alerts", "--db", db)
    assert out.rstrip().endswith(
        "0 alert(s)\n1 suppressed alert(s) not listed (--include-suppressed lists them)"
    )
    code, out, _ = run(capsys, "alerts", "--db", db, "--include-suppressed")
    assert "suppressed #1" in out
    assert out.rstrip().endswith("1 alert(s), 1 of them suppressed")


def test_list_and_remove(capsys: pytest.CaptureFixture[str], db: str) -> None:
    run(capsys, "detect", "--db", db)
    code, out, _ = run(
        capsys,
        "suppress",
        "add",
        "--db",
        db,
        "--rule",
        RULE,
        "--mailbox",
        ALICE.upper(),
        "--reason",
        "new phone",
        "--expires",
        "30d",
    )
    assert out == "suppression 1 added; 1 stored alert(s) now suppressed by it\n"
    code, out, _ = run(capsys, "suppress", "list", "--db", db, "--format", "jsonl")
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert {k: listed[k] for k in ("id", "rule_id", "mailbox", "reason", "active", "alerts")} == {
        "id": 1,
        "rule_id": RULE,
        "mailbox": ALICE,
        "reason": "new phone",
        "active": True,
        "alerts": 1,
    }
    assert listed["expires_at"].endswith("Z")
    assert listed["created_by"]
    code, out, _ = run(capsys, "suppress", "list", "--db", db)
    assert f"mailbox: {ALICE}" in out
    assert out.rstrip().endswith("1 suppression(s), 1 active")
    code, out, _ = run(capsys, "suppress", "remove", "1", "--db", db)
    assert (code, out) == (0, "suppression 1 removed; it held 1 alert(s), 1 now listed again\n")
    assert len(alert_lines(capsys, db)) == 1
    code, out, err = run(capsys, "suppress", "remove", "1", "--db", db)
    assert (code, out) == (2, "")
    one_error_line(err, "no suppression 1")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rule", RULE], "Missing option '--reason'"),
        (["--reason", "x"], "give at least one of --rule"),
        (["--reason", "x", "--ip", "10.0.0.0/40"], "is not an IP address or CIDR network"),
        (["--reason", "x", "--rule", "no-such-rule"], "--rule 'no-such-rule' is no rule"),
        (["--reason", "x", "--app", "a", "--expires", "2020-01-01"], "is not in the future"),
        (["--reason", "x", "--app", "a", "--expires", "soon"], "is not a duration"),
    ],
)
def test_bad_suppression_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "suppress", "add", "--db", db, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, message)
    code, out, _ = run(capsys, "suppress", "list", "--db", db, "--format", "jsonl")
    assert (code, out) == (0, "")


def test_suppress_needs_an_existing_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.duckdb"
    code, _, err = run(
        capsys, "suppress", "add", "--db", str(missing), "--app", "a", "--reason", "r"
    )
    assert code == 2
    one_error_line(err, "no database")
    assert not missing.exists()


# -- mailhunt.toml ---------------------------------------------------------------------------------


def test_detect_reads_mailhunt_toml_and_param_wins(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    Path("mailhunt.toml").write_text(f"[analytics.{RULE}]\nmin_history_days = 30\n")
    code, out, _ = run(capsys, "detect", "--db", db)
    assert code == 0
    assert f"{RULE}: 0 detection(s)" in out
    code, out, _ = run(capsys, "detect", "--db", db, "--param", "min_history_days=7")
    assert f"{RULE}: 1 detection(s), 1 new alert(s)" in out


def test_config_option_names_the_file(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    other = tmp_path / "strict.toml"
    other.write_text(f"[analytics.{RULE}]\nmin_history_days = 30\n")
    code, out, _ = run(capsys, "detect", "--db", db, "--config", str(other))
    assert f"{RULE}: 0 detection(s)" in out
    code, out, err = run(capsys, "detect", "--db", db, "--config", str(tmp_path / "none.toml"))
    assert (code, out) == (2, "")
    one_error_line(err, "no configuration file")


@pytest.mark.parametrize("argv", [["detect"], ["rules", "list"], ["analytics"], ["scan", "."]])
def test_bad_toml_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str]
) -> None:
    Path("mailhunt.toml").write_text(f"[analytics.{RULE}]\nbaseline_days = 0\n")
    if argv[0] in ("detect", "scan"):
        argv = [*argv, "--db", db]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    one_error_line(err, "mailhunt.toml: [analytics.mailbox-first-seen-app] baseline_days must be")


# -- rules list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["table", "jsonl"])
def test_rules_list_is_the_analytics_listing(
    capsys: pytest.CaptureFixture[str], db: str, output: str
) -> None:
    assert db
    rules = run(capsys, "rules", "list", "--format", output)
    analytics = run(capsys, "analytics", "--format", output)
    # the analytics, then mailhunt's Sigma rule pack
    assert (rules[0], rules[2]) == (0, analytics[2])
    assert rules[1].startswith(analytics[1])
    pack = rules[1][len(analytics[1]) :]
    assert ("sigma/rules/" if output == "jsonl" else "23 rule(s): 23 converted") in pack


def test_rules_list_shows_severity_logic_and_values_in_effect(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    assert db
    Path("mailhunt.toml").write_text(f"[analytics.{RULE}]\nbaseline_days = 21\n")
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0
    assert "baseline_days=21 (from mailhunt.toml;" in out  # the table wraps what follows
    assert "min_history_days=7 (a whole number >=" in out
    assert f"values from {Path.cwd() / 'mailhunt.toml'}" in out
    code, out, _ = run(capsys, "rules", "list", "--format", "jsonl")
    records = {r["id"]: r for r in map(json.loads, out.splitlines()) if "id" in r}
    record = records[RULE]
    assert record["severity_logic"].startswith("high when an access carried a token")
    assert record["techniques"] == ["T1114.002", "T1550.001"]
    assert [(p["name"], p["default"], p["value"], p["set_by"]) for p in record["parameters"]] == [
        ("baseline_days", 14, 21, "mailhunt.toml"),
        ("min_history_days", 7, 7, "default"),
    ]


def test_groups_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert "rules" in out
    assert "suppress" in out
    for argv in (
        ["rules", "list"],
        ["suppress", "add"],
        ["suppress", "list"],
        ["suppress", "remove"],
    ):
        code, out, err = run(capsys, *argv, "--help")
        assert (code, err) == (0, [])
        assert f"Usage: mailhunt {' '.join(argv)}" in out
