"""``mailhunt rules check`` (its JSON Lines contract, pinned in a golden file),
``rules list --rules`` and ``detect --rules`` raising alerts from Sigma hits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.store.db import Store
from tests.helpers import GOLDEN, UPDATE_GOLDEN
from tests.sigma.world import TENANT, fill, rule_text

GOLDEN_CHECK = GOLDEN / "sigma" / "rules_check.jsonl"
CONVERTED_ID = "5f2b6c1e-8a4d-4f3b-9c2e-1d0a9b8c7d6e"
UNSUPPORTED_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def _rules(folder: Path) -> Path:
    """A folder of rules: one converts, one needs a field not collected, one log source not
    collected, a collection of two (one broken), a file that is not YAML."""
    folder.mkdir()
    (folder / "a_forward.yml").write_text(
        rule_text({"sel": {"Parameters.ForwardTo|contains": "@"}}, rule_id=CONVERTED_ID), "utf-8"
    )
    (folder / "b_field.yml").write_text(
        rule_text({"sel": {"Directionality": "Inbound"}}, rule_id=UNSUPPORTED_ID), "utf-8"
    )
    (folder / "c_activity.yml").write_text(
        rule_text(
            {"sel": {"riskEventType": "x"}},
            product="azure",
            service="pim",
            rule_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        ),
        "utf-8",
    )
    second = rule_text(
        {"sel": {"Operation": "Set-Mailbox"}}, rule_id="2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
    )
    broken = (
        "title: Broken\nid: 3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f\n"
        "logsource: {product: m365}\ndetection: {}\n"
    )
    (folder / "d_collection.yml").write_text(second + "---\n" + broken, "utf-8")
    (folder / "e_bad.yaml").write_text("title: [unclosed\n", "utf-8")
    return folder


def test_rules_check_jsonl_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _rules(tmp_path / "rules")
    assert main(["rules", "check", "rules", "--format", "jsonl"]) == 1  # a rule has an error
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines()]
    assert all(list(r) == ["path", "rule_id", "title", "status", "reason"] for r in records)
    if UPDATE_GOLDEN:
        GOLDEN_CHECK.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_CHECK.write_text(out, "utf-8")
    assert out == GOLDEN_CHECK.read_text("utf-8")


def test_rules_check_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _rules(tmp_path / "rules")
    assert main(["rules", "check", str(folder / "a_forward.yml")]) == 0
    out = capsys.readouterr().out
    assert "converted" in out
    assert "1 rule(s): 1 converted, 0 unsupported, 0 error" in out


def test_rules_check_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "none")]) == 2
    assert "no Sigma rules at" in capsys.readouterr().err


def test_rules_list_with_sigma_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _rules(tmp_path / "rules")
    assert main(["rules", "list", "--format", "jsonl", "--rules", str(folder)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    sigma = [r for r in lines if "status" in r and r["path"].startswith(str(folder))]
    assert [r["rule_id"] for r in sigma if r["status"] == "converted"] == [
        CONVERTED_ID,
        "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    ]
    assert any("severity_logic" in r for r in lines)  # the analytics come first
    pack = [r for r in lines if "status" in r and "sigma/rules/" in r["path"]]
    assert len(pack) == 23
    assert {r["status"] for r in pack} == {"converted"}


def _alerts(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db, create=False) as store:
        return store.query(
            "SELECT a.rule_id, a.severity, a.technique, a.techniques, a.entity, a.event_count, "
            "list_sort(list(e.record_id)) FROM alerts a JOIN alert_evidence e ON e.alert_id = a.id "
            "WHERE a.rule_id LIKE 'sigma:%' GROUP BY ALL ORDER BY a.rule_id"
        )


def test_detect_with_rules_raises_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        fill(store)
    folder = _rules(tmp_path / "rules")
    code = main(["detect", "--db", str(db), "--rules", str(folder), "--no-sigma-pack"])
    assert code in (0, 1), capsys.readouterr().err
    captured = capsys.readouterr()
    assert f"sigma:{CONVERTED_ID}: 1 detection(s), 1 new alert(s)" in captured.out
    first = _alerts(db)
    assert first == [
        (
            "sigma:2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            "high",
            "T1098.002",
            ["T1098.002"],
            json.dumps(
                [TENANT, "sigma:2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"], separators=(",", ":")
            ),
            1,
            ["e3"],
        ),
        (
            f"sigma:{CONVERTED_ID}",
            "high",
            "T1098.002",
            ["T1098.002"],
            json.dumps([TENANT, f"sigma:{CONVERTED_ID}"], separators=(",", ":")),
            1,
            ["e1"],
        ),
    ]
    # a rerun adds nothing (deterministic ids)
    main(["detect", "--db", str(db), "--rules", str(folder), "--no-sigma-pack"])
    assert _alerts(db) == first


def test_detect_runs_the_rule_pack_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        fill(store)  # e2: mail read by python-requests
    assert main(["detect", "--db", str(db)]) in (0, 1), capsys.readouterr().err
    assert [(a[0], a[6]) for a in _alerts(db)] == [
        ("sigma:38a84b8a-45ca-438e-97f7-08b7473f476a", ["e2"])  # Mail Read by a Scripted Client
    ]
