"""bench/fuzz.py's core on a tiny budget (seconds), so CI keeps the harness working: it runs
examples, reports none as errors on the current code, and reports (and keeps) a failure."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests import fuzzing

BENCH = Path(__file__).parent.parent / "bench" / "fuzz.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = module
    spec.loader.exec_module(module)
    module.BATCH_EXAMPLES = 5  # the time is checked between batches
    return module


def test_hypothesis_runs_examples_and_finds_no_error(bench: ModuleType, tmp_path: Path) -> None:
    stats = bench.run_hypothesis("framing", 1.0, tmp_path)
    assert stats.examples > 0
    assert (stats.errors, stats.found) == (0, [])


def test_a_failure_is_reported_and_its_input_kept(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(target: str, case: fuzzing.Case) -> fuzzing.Outcome:
        if b"\n" in case.data:
            raise ValueError("a newline")
        return fuzzing.Outcome()

    monkeypatch.setattr(fuzzing, "run_case", broken)
    stats = bench.run_hypothesis("framing", 1.0, tmp_path)
    assert stats.errors == 1
    [kept] = (tmp_path / "framing").iterdir()
    assert b"\n" in kept.read_bytes()
    assert "ValueError: a newline" in stats.found[0]
    assert "| framing | hypothesis |" in "\n".join(bench.table([stats]))


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None or not os.environ.get("MAILHUNT_FUZZ_ATHERIS"),
    reason="atheris not installed, or MAILHUNT_FUZZ_ATHERIS unset (instrumenting takes ~10 s)",
)
def test_atheris_harness_runs(bench: ModuleType, tmp_path: Path) -> None:
    stats = bench.run_atheris("text", 3.0, tmp_path / "found", tmp_path)
    assert stats.examples > 0
    assert (stats.errors, stats.found) == (0, [])
