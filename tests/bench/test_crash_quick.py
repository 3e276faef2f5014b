"""bench/crash.py's core on a tiny corpus: one trial of each family (kill -9 and SIGINT during
ingest and detect), each checked against the clean run, so CI keeps the suite working."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crash.py"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def load_crash() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_crash", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_crash"] = module
    spec.loader.exec_module(module)
    return module


def test_one_trial_of_each_family_matches_the_clean_run(tmp_path: Path) -> None:
    crash = load_crash()
    size = crash.CorpusSize(tenants=1, days=4, users=7, big_files=1, big_records=500)
    suite = crash.run_suite(tmp_path, size=size, trials=1, seed=20261130)
    assert [f.name for f in suite.families] == [
        "kill -9 during ingest",
        "SIGINT during ingest",
        "kill -9 during detect",
        "SIGINT during detect",
    ]
    assert suite.failures == []
    assert all(len(f.trials) == 1 for f in suite.families)
    assert suite.reference.records > 500  # the reference holds the corpus
    assert len(suite.reference.alerts) > 0


def test_compare_names_lost_and_duplicated_records(tmp_path: Path) -> None:
    """The comparison can fail: a record lost, one doubled, an alert missing."""
    crash = load_crash()
    from collections import Counter

    ref = crash.Snapshot(
        events=Counter({"a": 1, "b": 1}),
        signins=Counter({"s": 1}),
        spans={"f": 3},
        span_duplicates=0,
        quarantine=Counter(),
        ingested=Counter({("p", "f", 3, 3, 0): 1}),
        statuses={"p": frozenset({"ingested"})},
        alerts=Counter({"x": 1}),
        evidence=1,
    )
    assert crash.compare(ref, ref) == []
    bad = crash.Snapshot(
        events=Counter({"a": 2}),
        signins=Counter({"s": 1}),
        spans={"f": 4},
        span_duplicates=1,
        quarantine=Counter(),
        ingested=Counter({("p", "f", 3, 3, 0): 2}),
        statuses={"p": frozenset({"ingested", "failed"})},
        alerts=Counter(),
        evidence=0,
    )
    problems = crash.compare(ref, bad)
    for expected in (
        "events: 1 lost",
        "events: 1 duplicated",
        "record_spans: 1 duplicated",
        "record_spans: 1 file(s) with other counts",
        "ingest_runs: 2 ingested rows",
        "ingest_runs: statuses differ",
        "alerts: 0",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_results_section_is_replaced_and_the_others_kept(tmp_path: Path) -> None:
    crash = load_crash()
    results = tmp_path / "RESULTS.md"
    results.write_text(
        f"# B\n\n## Other\n\nkept\n\n{crash.SECTION}\n\nold\n\n## Last\n\nkept too\n"
    )
    crash.write_section(f"{crash.SECTION}\n\nnew\n", results)
    text = results.read_text()
    assert "old" not in text
    assert text.count(crash.SECTION) == 1
    assert "new" in text
    assert "kept\n" in text
    assert "kept too" in text
