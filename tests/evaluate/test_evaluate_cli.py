"""`mailhunt evaluate` end to end on a small test bed: every kind scored, JSONL contract."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mailhunt.cli import app
from mailhunt.evaluate.testbed import NO_SIGNINS, plan
from mailhunt.simulate.attacks import ATTACKS


def test_plan_injects_every_kind_and_keeps_a_tenant_without_signins() -> None:
    beds = plan(seed=2, tenants=3)
    assert {a for bed in beds for a in bed.attacks} == set(ATTACKS)
    assert [bed.name for bed in beds if not bed.signin_logs] == [NO_SIGNINS]
    assert len({bed.seed for bed in beds}) == len(beds)
    assert plan(seed=2, tenants=3) == beds


def test_evaluate_jsonl_scores_every_attack_kind(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["evaluate", "--seed", "1", "--tenants", "1", "--days", "10", "--users", "8",
         "--dir", str(tmp_path), "--format", "jsonl"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    kinds = {r["kind"]: r for r in records if r["type"] == "attack_kind"}
    assert set(kinds) == set(ATTACKS)
    assert all(0.0 <= r["evidence_recall"] <= 1.0 for r in kinds.values())
    (false,) = [r for r in records if r["type"] == "false_alerts"]
    assert false["mailbox_days"] == 2 * 8 * 10
    (run,) = [r for r in records if r["type"] == "run"]
    assert run["tenants"] == ["tenant01", NO_SIGNINS]
    assert run["blind_tenant_alerts"] == 0
    assert run["blind_tenant_findings"] == 1
    assert (tmp_path / "evaluate.duckdb").is_file()
