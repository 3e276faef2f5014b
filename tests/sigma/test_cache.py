"""Compiled Sigma rules cached between runs (sigma/cache.py): a warm run converts nothing and
gives the same rules (and so the same alerts); a changed file, backend or pipeline
recompiles; a corrupt cache is ignored with a warning and rewritten, an unwritable one is a
warning; `detect --only-rules` runs the Sigma rules alone."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.sigma import cache as cache_module
from mailhunt.sigma.analytic import to_analytic
from mailhunt.sigma.cache import RuleCache, cache_path, compile_path
from mailhunt.sigma.compiler import CONVERTED, Compiled, compile_rules
from mailhunt.sigma.loader import load_rules
from mailhunt.store.db import Store
from tests.sigma.world import fill, rule_text

FORWARD = {"sel": {"Parameters.ForwardTo|contains": "@"}}
ID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _folder(tmp_path: Path) -> Path:
    """Rules: converted (with tags and a level), unsupported, broken, a collection."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "a.yml").write_text(rule_text(FORWARD, rule_id=ID, level="critical"), "utf-8")
    (folder / "b.yml").write_text(rule_text({"sel": {"Directionality": "x"}}), "utf-8")
    (folder / "c.yml").write_text("title: [unclosed\n", "utf-8")
    two = rule_text({"sel": {"ResultType": 50053}}, product="azure", service="signinlogs")
    (folder / "d.yml").write_text(two + "---\n" + rule_text({"sel": {"Operation": "x"}}), "utf-8")
    return folder


def _fresh(folder: Path) -> list[Compiled]:
    return [replace(c, rule=None) for c in compile_rules(load_rules(folder))]


def _no_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("converted although cached")

    monkeypatch.setattr(cache_module, "compile_rule", refuse)
    monkeypatch.setattr(cache_module, "load_file", refuse)


def test_a_warm_run_converts_nothing_and_gives_the_same_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    cold = compile_path(folder)
    assert [replace(c, rule=None) for c in cold] == _fresh(folder)
    assert cache_path().is_file()
    _no_conversion(monkeypatch)
    warm = compile_path(folder)
    assert warm == _fresh(folder)  # every field but the pySigma object
    assert [c.status for c in warm] == [CONVERTED, "unsupported", "error", CONVERTED, CONVERTED]
    # what the alerts take from the rule survives: level, techniques, description
    assert to_analytic(warm[0]) == to_analytic(cold[0])
    assert to_analytic(warm[0]).severity == "critical"
    assert to_analytic(warm[0]).techniques == ("T1098.002",)
    moved = tmp_path / "moved"
    folder.rename(moved)
    names = ["a.yml", "b.yml", "c.yml", "d.yml", "d.yml"]
    assert [c.path for c in compile_path(moved)] == [str(moved / n) for n in names]


def test_a_changed_rule_recompiles(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    compile_path(folder)
    (folder / "a.yml").write_text(rule_text({"sel": {"Operation": "Set-Mailbox"}}, rule_id=ID))
    (changed,) = (c for c in compile_path(folder) if c.rule_id == ID)
    assert changed.rule is not None  # converted again
    assert "set-mailbox" in changed.predicate.lower()


def test_another_backend_or_pipeline_recompiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    compile_path(folder)
    monkeypatch.setattr(cache_module, "fingerprint", lambda: "another backend")
    again = compile_path(folder)
    assert all(c.rule is not None for c in again if c.status == CONVERTED)
    assert json.loads(cache_path().read_text())["fingerprint"] == "another backend"


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff not json",
        b"[1, 2]",
        b'{"entries": 3}',
        b'{"fingerprint": "F", "entries": {"D": [{"status": "converted"}]}}',
        b'{"fingerprint": "F", "entries": {"D": [{"rule_id": 1}]}, "x": 0}',
    ],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(tmp_path)
    digest = cache_module._digest(folder / "a.yml")
    path = cache_path()
    path.parent.mkdir(parents=True)
    text = content.replace(b'"F"', json.dumps(cache_module.fingerprint()).encode())
    path.write_bytes(text.replace(b'"D"', json.dumps(digest).encode()))
    with caplog.at_level(logging.WARNING, logger="mailhunt.sigma.cache"):
        first = compile_path(folder)
    assert [replace(c, rule=None) for c in first] == _fresh(folder)
    assert compile_path(folder) == _fresh(folder)  # the rewritten cache serves
    assert "Sigma rule cache" in caplog.text
    assert json.loads(path.read_text())["fingerprint"] == cache_module.fingerprint()


def test_an_unwritable_cache_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    folder = _folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mailhunt.sigma.cache"):
        assert [replace(c, rule=None) for c in compile_path(folder)] == _fresh(folder)
    assert "not written" in caplog.text
    assert RuleCache().entries == {}


def test_detect_only_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        fill(store)
    folder = _folder(tmp_path)
    assert main(["detect", "--db", str(db), "--rules", str(folder), "--only-rules"]) == 0
    out = capsys.readouterr().out
    assert f"sigma:{ID}: 1 detection(s), 1 new alert(s)" in out
    with Store.open(db, create=False) as store:
        rules = {row[0] for row in store.query("SELECT DISTINCT rule_id FROM alerts")}
    assert f"sigma:{ID}" in rules
    assert all(r.startswith("sigma:") for r in rules)  # no built-in analytic ran
    assert main(["detect", "--db", str(db), "--only-rules"]) == 2
    assert capsys.readouterr().err.strip().endswith("--only-rules needs --rules PATH")


def test_correlations_under_a_path_convert_with_their_rules() -> None:
    """`detect --rules DIR` goes through the cache: a folder holding correlation rules (the
    pack has three, naming rules of other files) is converted together, as compile_rules does;
    per file, a correlation would find none of its rules."""
    from mailhunt.sigma.pack import PACK_DIR

    through_cache = compile_path(PACK_DIR)
    together = compile_rules(load_rules(PACK_DIR))
    assert [(c.rule_id, c.status, c.reason) for c in through_cache] == [
        (c.rule_id, c.status, c.reason) for c in together
    ]
    correlations = [c for c in through_cache if c.plan is not None]
    assert len(correlations) == 3
    assert {c.status for c in correlations} == {CONVERTED}
