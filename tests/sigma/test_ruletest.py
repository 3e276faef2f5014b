"""``mailhunt rules test``: the rule pack passes its own samples; a rule that misses a positive
or matches a negative fails, with which; broken samples are errors; the JSON Lines objects and
the exit code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mailhunt.cli import main
from mailhunt.sigma.compiler import CONVERTED, ERROR, UNSUPPORTED
from mailhunt.sigma.loader import load_rules
from mailhunt.sigma.pack import PACK_DIR, by_default, pack_rules
from mailhunt.sigma.ruletest import FAILED, PASSED, run_rule_tests

_TECHNIQUE = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")


def test_the_pack_passes_its_samples() -> None:
    results = run_rule_tests(load_rules(PACK_DIR))
    assert len(results) >= 12
    assert [(r.title, r.status, r.reason) for r in results if r.status != PASSED] == []


def test_the_pack_is_well_formed() -> None:
    compiled = pack_rules()
    assert {c.status for c in compiled} == {CONVERTED}
    ids = [c.rule_id for c in compiled]
    assert len(set(ids)) == len(ids)
    for c in compiled:
        assert c.rule is not None
        assert c.rule.author == "mailhunt", c.title
        assert c.rule.level is not None, c.title
        assert c.rule.description, c.title
        assert any(_TECHNIQUE.match(str(tag)) for tag in c.rule.tags), c.title
        assert c.rule.custom_attributes.get("mailhunt-samples"), c.title
    # every correlation type the pack uses, and experimental rules left out of the default run
    assert {c.plan.kind for c in compiled if c.plan is not None} == {
        "value_count",
        "temporal_ordered",
    }
    assert sum(not by_default(c) for c in compiled) == 4


def _rule(samples: dict[str, Any] | None, **detection: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "title": "Set-Mailbox forwarding",
        "id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "logsource": {"product": "m365", "service": "audit"},
        "detection": detection
        or {
            "sel": {"Operation": "Set-Mailbox", "Parameters.ForwardingSmtpAddress|contains": "@"},
            "condition": "sel",
        },
    }
    if samples is not None:
        rule["mailhunt-samples"] = samples
    return rule


FORWARD = {"Operation": "Set-Mailbox", "Parameters": {"ForwardingSmtpAddress": "smtp:x@y.z"}}
PLAIN = {"Operation": "Set-Mailbox", "Parameters": {"Identity": "alice"}}


@pytest.mark.parametrize(
    ("samples", "status", "reason"),
    [
        ({"positive": [FORWARD], "negative": [PLAIN]}, PASSED, ""),
        (
            {"positive": [FORWARD, PLAIN], "negative": [PLAIN, FORWARD]},
            FAILED,
            "positive sample(s) 2 not matched; negative sample(s) 2 matched",
        ),
        (None, ERROR, "no samples (mailhunt-samples: positive and negative events)"),
        ({"positive": [FORWARD]}, ERROR, "no negative sample (a non-empty list of events)"),
        (
            {"positive": [FORWARD], "negative": [{"Operation": "x", "Directionality": "In"}]},
            ERROR,
            "negative sample 1: field Directionality is not collected for m365/audit",
        ),
        (
            {"positive": [FORWARD], "negative": [{"Operation": "x", "OrganizationId": "t"}]},
            ERROR,
            "negative sample 1: field OrganizationId is set by the tester, not by a sample",
        ),
        (
            {"positive": [dict(FORWARD, RecordType="one")], "negative": [PLAIN]},
            ERROR,
            "positive sample 1: field RecordType: 'one' is not a INTEGER value",
        ),
        (
            {"positive": [dict(FORWARD, _rule="other")], "negative": [PLAIN]},
            ERROR,
            "positive sample 1: _rule is for a correlation rule's samples",
        ),
    ],
)
def test_rule_outcomes(
    tmp_path: Path, samples: dict[str, Any] | None, status: str, reason: str
) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(yaml.safe_dump(_rule(samples)), "utf-8")
    (result,) = run_rule_tests(load_rules(path))
    assert (result.status, result.reason) == (status, reason)


def test_unconverted_rules_keep_their_status(tmp_path: Path) -> None:
    path = tmp_path / "rule.yml"
    rule = _rule(
        {"positive": [FORWARD], "negative": [PLAIN]},
        sel={"Directionality": "Inbound"},
        condition="sel",
    )
    path.write_text(yaml.safe_dump(rule), "utf-8")
    (result,) = run_rule_tests(load_rules(path))
    assert (result.status, result.reason) == (UNSUPPORTED, "field Directionality not collected")


def test_cli_jsonl_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "rules" / "good.yml"
    good.parent.mkdir()
    good.write_text(yaml.safe_dump(_rule({"positive": [FORWARD], "negative": [PLAIN]})), "utf-8")
    assert main(["rules", "test", str(good), "--format", "jsonl"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record == {
        "path": str(good),
        "rule_id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "title": "Set-Mailbox forwarding",
        "status": "passed",
        "reason": "",
    }
    bad = _rule({"positive": [PLAIN], "negative": [PLAIN]})
    bad["id"] = "7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
    (tmp_path / "rules" / "bad.yml").write_text(yaml.safe_dump(bad), "utf-8")
    assert main(["rules", "test", str(tmp_path / "rules")]) == 1
    assert "1 passed, 1 failed, 0 unsupported, 0 error" in capsys.readouterr().out
    assert main(["rules", "test", str(tmp_path / "none")]) == 2
