"""The renderer registry: one module per output format, machine formats as text, tables as Rich
renderables; the registered formats are what each command offers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console, ConsoleRenderable

from mailhunt.alerts.suppressions import Suppression
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.coverage import Finding
from mailhunt.detect.parameters import AnalyticsListing
from mailhunt.detect.runner import DetectSummary
from mailhunt.errors import InputError
from mailhunt.evaluate.run import Evaluation
from mailhunt.evaluate.score import score
from mailhunt.evaluate.testbed import TenantPlan
from mailhunt.ingest import IngestSummary
from mailhunt.investigate.model import (
    AttributedRecord,
    BlastRadius,
    BlindWindow,
    FolderSync,
    Incident,
    MailboxAccess,
    MessageRead,
    Note,
    RelatedAction,
)
from mailhunt.investigate.quarantine import QuarantinedRecord, QuarantineListing
from mailhunt.investigate.timeline import (
    Selector,
    Session,
    Timeline,
    TimelineRow,
    TimelineView,
)
from mailhunt.registry import discover
from mailhunt.report import renderers
from mailhunt.report.alerts import to_csv, to_jsonl
from mailhunt.report.quarantine import quarantine_csv, quarantine_jsonl
from mailhunt.report.renderers import RENDERERS, Kind, Renderer, render, renderers_for
from tests.report.test_alerts import make_alert

LISTING = QuarantineListing(
    records=[
        QuarantinedRecord(
            "/logs/ual.jsonl", 3, 120, "m365-ual-json", "invalid_json", "", b"{oops\x1b[2J", "r1"
        )
    ],
    counts=[("invalid_json", 2), ("bad_time", 1)],
)
FINDINGS = [
    Finding(
        "mailbox-not-audited",
        "t1",
        "[bold]x@y\x1b]0;title\x07",
        datetime(2026, 6, 1, tzinfo=UTC),
        datetime(2026, 6, 3, tzinfo=UTC),
        3,
        12,
        "no read audited",
        ["*"],
    )
]
EVALUATION = Evaluation(
    seed=1,
    days=10,
    users=8,
    plans=(TenantPlan("tenant01", 1000, ("forged-token-mail-read",), ()),),
    tenants=(),
    ingest=IngestSummary("run"),
    detect=DetectSummary(),
    alerts=(),
    score=score([make_alert(event_ids=["r1"], severity="low")], [], mailbox_days=80),
    blind_tenant_alerts=0,
    blind_tenant_findings=1,
    ingest_seconds=1.0,
    detect_seconds=0.1,
    database=Path("evaluate.duckdb"),
)
_AT = datetime(2024, 4, 11, 2, 13, tzinfo=UTC)
_WINDOW = BlindWindow("t1", "alice@contoso.com", _AT, _AT, "throttled", "r2")
INCIDENT = Incident(
    "INC-0123456789AB",
    "=evil \x1b[2J title",
    "high",
    "new",
    None,
    ["t1"],
    ["alice@contoso.com"],
    ["alice@contoso.com"],
    [],
    ["203.0.113.9"],
    ["a" * 32],
    None,
    _AT,
    _AT,
    2,
    1,
    _AT,
    _AT,
    ["r1", "r2"],
    ["<m1@x>"],
    [_WINDOW],
    [Note(_AT, "ana", "note", "=cmd|' /C calc'!A0")],
)
RADIUS = BlastRadius(
    INCIDENT,
    [MailboxAccess("t1", "alice@contoso.com", _AT, _AT, 2, 1, 1, 1, 1, 0, 1, 1)],
    [MessageRead("t1", "alice@contoso.com", "\\Inbox", "<m1@x>", 10, None, _AT, _AT, 1, ["r1"])],
    [FolderSync("t1", "alice@contoso.com", "\\Archive", _AT, _AT, 1, 0, ["r2"])],
    [_WINDOW],
    [
        RelatedAction(
            "r3",
            "t1",
            _AT,
            "inbox-rule",
            "New-InboxRule",
            "alice@contoso.com",
            "alice@contoso.com",
            None,
            [("Name", "=1+1")],
        )
    ],
    [
        AttributedRecord(
            "r1",
            "events",
            "t1",
            _AT,
            "alice@contoso.com",
            "alice@contoso.com",
            "MailItemsAccessed",
            "203.0.113.9",
            "evidence",
        )
    ],
)
MOMENT = datetime(2024, 4, 7, 2, tzinfo=UTC)
TIMELINE = Timeline(
    Selector("mailbox", "alice@contoso.com"),
    None,
    None,
    30,
    rows=(
        TimelineRow(
            MOMENT, "mail_access", "MailItemsAccessed", "Succeeded", "t1", "alice@contoso.com",
            "alice@contoso.com", "45.77.12.34", "NL", 20473, "AS-CHOOPA", "app", None,
            "=cmd|' /C calc'!A0 \x1b[2J[bold]x", "Bind", 2, ("\\Inbox", "=1+1"), False, None,
            1, "entra", "s1", "alice@contoso.com", ("ip", "app"), "x1", "m365-ual-json",
        ),
    ),
    sessions=(
        Session(
            1, "entra", "s1", MOMENT, MOMENT, 1, ("alice@contoso.com",), ("45.77.12.34",),
            ("NL",), (20473,), ("app",), (), ("[bold]x",), ("mail_access",), 2, ("ip", "app"),
        ),
    ),
)  # fmt: skip
SAMPLES: dict[str, object] = {
    "alerts": [make_alert(), make_alert(id="b" * 32, severity="critical")],
    "quarantine": LISTING,
    "analytics": AnalyticsListing(list(ANALYTICS.values())),
    "suppressions": [
        Suppression(
            1,
            datetime(2024, 4, 12, tzinfo=UTC),
            "analyst",
            "mailbox-first-seen-app",
            None,
            None,
            "alice@contoso.com",
            None,
            "10.0.0.0/8",
            "=new phone \x1b[2J",
            None,
            active=True,
            alerts=2,
        )
    ],
    "coverage": FINDINGS,
    "evaluation": EVALUATION,
    "incidents": [INCIDENT],
    "incident": INCIDENT,
    "blast-radius": RADIUS,
    "timeline": TimelineView(TIMELINE),
}


def shown(renderable: ConsoleRenderable) -> str:
    console = Console(width=200, record=True, file=None, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_each_kind_offers_its_formats_table_first() -> None:
    assert list(renderers_for(renderers.ALERTS)) == ["table", "csv", "jsonl"]
    assert list(renderers_for(renderers.QUARANTINE)) == ["table", "csv", "jsonl"]
    assert list(renderers_for(renderers.ANALYTICS)) == ["table", "jsonl"]
    assert list(renderers_for(renderers.SUPPRESSIONS)) == ["table", "jsonl"]


def test_registry_keys_are_kind_and_name() -> None:
    assert all(key == f"{r.kind.name}/{r.name}" for key, r in RENDERERS.items())
    assert all(r.help for r in RENDERERS.values())


@pytest.mark.parametrize("key", sorted(RENDERERS))
def test_machine_formats_are_text_and_tables_are_renderables(key: str) -> None:
    renderer = RENDERERS[key]
    output = renderer.render(SAMPLES[renderer.kind.name])
    if renderer.name == "table":
        assert isinstance(output, ConsoleRenderable)
        assert not isinstance(output, str)
    else:
        assert isinstance(output, str)
        assert output.endswith("\n")


def test_alert_machine_formats_are_the_contract_functions() -> None:
    alerts = [make_alert()]
    assert render(renderers.ALERTS, "jsonl", alerts) == to_jsonl(alerts)
    assert render(renderers.ALERTS, "csv", alerts) == to_csv(alerts)


def test_quarantine_machine_formats_are_the_record_functions() -> None:
    assert render(renderers.QUARANTINE, "jsonl", LISTING) == quarantine_jsonl(LISTING.records)
    assert render(renderers.QUARANTINE, "csv", LISTING) == quarantine_csv(LISTING.records)


def test_unknown_format_is_an_input_error_naming_the_choices() -> None:
    with pytest.raises(InputError, match=r"no analytics output format 'csv' \(one of table, jsonl"):
        render(renderers.ANALYTICS, "csv", AnalyticsListing([]))
    with pytest.raises(InputError, match="no nothing-yet output format"):
        render(Kind[list[object]]("nothing-yet"), "table", [])


def test_alert_table_most_severe_first_with_count() -> None:
    text = shown(render(renderers.ALERTS, "table", SAMPLES["alerts"]))
    assert text.index("critical") < text.index("high")
    assert text.rstrip().endswith("2 alert(s)")


def test_quarantine_table_escapes_data_and_counts_reasons() -> None:
    text = shown(render(renderers.QUARANTINE, "table", LISTING))
    assert "\x1b" not in text
    assert "\\x1b[2J" in text
    assert "ual.jsonl" in text
    assert "/logs/" not in text
    assert text.rstrip().endswith("2 invalid_json, 1 bad_time")
    empty = shown(render(renderers.QUARANTINE, "table", QuarantineListing([], [])))
    assert empty.rstrip().endswith("nothing quarantined")


def test_analytics_jsonl_lists_parameters_with_defaults() -> None:
    lines = render(renderers.ANALYTICS, "jsonl", SAMPLES["analytics"])
    assert isinstance(lines, str)
    records = {r["id"]: r for r in (json.loads(line) for line in lines.splitlines())}
    assert set(records) == set(ANALYTICS)
    record = records["mailbox-first-seen-app"]
    assert (record["severity"], record["technique"]) == ("medium", "T1114.002")
    assert [(p["name"], p["type"], p["default"], p["minimum"]) for p in record["parameters"]] == [
        ("baseline_days", "integer", 14, 1),
        ("min_history_days", "integer", 7, 0),
    ]
    assert all(p["help"] for p in record["parameters"])


def test_analytics_table_shows_each_parameter_and_default() -> None:
    text = shown(render(renderers.ANALYTICS, "table", SAMPLES["analytics"]))
    assert "mailbox-first-seen-app" in text
    assert "baseline_days=14" in text
    assert "min_history_days=7" in text
    assert text.rstrip().endswith(f"{len(ANALYTICS)} analytic(s)")


def test_a_renderer_is_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registration style: a module exposing RENDERER in a package is found, nothing else."""
    package = tmp_path / "extra_renderers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "alerts_count.py").write_text(
        "from mailhunt.report.renderers.base import ALERTS, Renderer\n"
        "RENDERER = Renderer(ALERTS, 'count', lambda alerts: f'{len(alerts)}\\n', 'a count')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover("extra_renderers", [str(package)], "RENDERER", Renderer, lambda r: r.key)
    assert list(found) == ["alerts/count"]
    assert found["alerts/count"].render([make_alert()]) == "1\n"


def test_renderers_never_print(capsys: pytest.CaptureFixture[str]) -> None:
    for renderer in RENDERERS.values():
        renderer.render(SAMPLES[renderer.kind.name])
    assert capsys.readouterr() == ("", "")


def test_alert_times_in_table_are_utc_minutes() -> None:
    alert = make_alert(first_seen=datetime(2024, 4, 11, 2, 13, 59, tzinfo=UTC))
    assert "2024-04-11 02:13" in shown(render(renderers.ALERTS, "table", [alert]))


def test_coverage_table_escapes_data() -> None:
    text = shown(render(renderers.COVERAGE, "table", FINDINGS))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "[bold]x@y" in text
    assert "every mail analytic" in text


def test_evaluation_outputs_count_false_alerts() -> None:
    [*_, false, run] = [
        json.loads(line) for line in render(renderers.EVALUATION, "jsonl", EVALUATION).splitlines()
    ]
    assert (false["false_alerts"], false["per_1000_mailbox_days"]) == (1, 12.5)
    assert run["acceptance_failures"] == ["false alerts 12.50 per 1000 mailbox-days (at most 5.0)"]
    assert "false alerts 12.50" in shown(render(renderers.EVALUATION, "table", EVALUATION))
