"""bench/injection.py's core on a few strings: no effect with the sanitisers, and effects
counted when one is taken away (the harness can fail)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mailhunt.report import encode
from tests.injection_world import load_corpus

BENCH = Path(__file__).parent.parent / "bench" / "injection.py"


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_injection", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_injection"] = module
    spec.loader.exec_module(module)
    return module


CORPUS = {k: v for k, v in load_corpus("terminal_csv").items() if k in ("csv_dde", "bidi_rlo")}


def test_no_effect(tmp_path: Path) -> None:
    checked, effects = harness().data_world_effects("terminal_csv", CORPUS, tmp_path)
    assert checked > 10
    assert effects == []


def test_effects_are_counted_without_the_csv_sanitiser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encode, "csv_cell", lambda value: value)
    _, effects = harness().data_world_effects("terminal_csv", CORPUS, tmp_path)
    assert any("alerts csv" in e for e in effects)
    assert any("quarantine csv" in e for e in effects)
