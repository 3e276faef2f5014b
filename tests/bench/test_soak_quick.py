"""bench/soak.py's core on a tiny input (no record over framing's size limit): the malformed
set is built as the manifest says, its ingest passes every check, and the checks fail when
the outcome is wrong (a good record lost, a bad one stored, the quarantine capped)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from mailhunt.ingest import ingest
from mailhunt.sources.archives import Limits
from mailhunt.store.db import Store

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import soak


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, soak.Manifest]:
    root = tmp_path_factory.mktemp("soak")
    bad, clean, manifest = soak.build(root, 6_000, oversized=False)
    return root, bad, clean, manifest


def _ingested(inputs: Path, database: Path, limits: Limits | None = None) -> Path:
    with Store.open(database) as store:
        ingest(store, sorted(inputs.iterdir()), limits=limits)
    return database


def test_the_sets_hold_every_kind_and_the_same_good_records(
    built: tuple[Path, Path, Path, soak.Manifest],
) -> None:
    _, bad, clean, manifest = built
    kinds = set(soak.JSON_KINDS) | set(soak.CSV_KINDS)
    kinds |= {"cut_last_line", "cut_line", "archive_cut", "cut_blob", "cut_last_row"}
    assert set(manifest.kinds) == kinds
    assert sum(manifest.kinds.values()) == len(manifest.injected)
    assert 0.01 <= len(manifest.injected) / manifest.records < 0.012
    assert sorted(p.name for p in bad.iterdir()) == sorted(p.name for p in clean.iterdir())


def test_the_cli_ingests_pass_every_check(built: tuple[Path, Path, Path, soak.Manifest]) -> None:
    root, bad, clean, manifest = built
    clean_run = soak.ingest_cli(sorted(clean.iterdir()), root / "clean-cli.duckdb")
    bad_run = soak.ingest_cli(sorted(bad.iterdir()), root / "bad-cli.duckdb")
    assert (clean_run.exit_code, bad_run.exit_code) == (0, 1), bad_run.stderr
    assert bad_run.peak_rss_mb > 50
    assert bad_run.seconds > 0
    outcome = soak.Outcome()
    soak.check_clean(root / "clean-cli.duckdb", manifest, outcome)
    soak.check_malformed(root / "bad-cli.duckdb", manifest, outcome)
    assert outcome.failures == []
    assert outcome.figures["good_lost"] == 0
    assert {(k, i) for k, _, i, found, _ in outcome.kinds if found == i} == {
        (k, i) for k, _, i, _, _ in outcome.kinds
    }


def test_the_checks_fail_when_records_are_lost_or_stored_wrongly(
    built: tuple[Path, Path, Path, soak.Manifest], tmp_path: Path
) -> None:
    _, bad, _, manifest = built
    database = _ingested(bad, tmp_path / "bad.duckdb")
    with duckdb.connect(str(database)) as connection:
        connection.execute("DELETE FROM events WHERE rowid = (SELECT min(rowid) FROM events)")
        connection.execute("DELETE FROM quarantine WHERE reason = 'csv_quoting'")
        connection.execute("UPDATE quarantine SET reason = '' WHERE reason = 'bad_time'")
    outcome = soak.Outcome()
    soak.check_malformed(database, manifest, outcome)
    failures = "\n".join(outcome.failures)
    assert "1 good records lost" in failures
    assert "injected not quarantined" in failures
    assert "quarantine rows without reason or place" in failures
    assert "kind stray_quote: 0 of" in failures


def test_a_file_over_the_quarantine_cap_is_checked_by_its_count(
    built: tuple[Path, Path, Path, soak.Manifest], tmp_path: Path
) -> None:
    _, bad, _, manifest = built
    per_file = Counter(i.source for i in manifest.injected)
    cap = sorted(per_file.values())[-1] - 1  # the file with most bad records passes it
    database = _ingested(bad, tmp_path / "capped.duckdb", Limits(quarantine=cap))
    outcome = soak.Outcome()
    soak.check_malformed(database, manifest, outcome)
    assert outcome.failures == []
    assert outcome.figures["capped_files"] >= 1
    assert any("capped" in how for *_, how in outcome.kinds)


def test_the_section_replaces_its_own_and_keeps_the_others(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nx\n\n## Other\n\nkept\n")
    soak.write_section(f"{soak.SECTION}\n\nfirst\n", results)
    soak.write_section(f"{soak.SECTION}\n\nsecond\n", results)
    text = results.read_text()
    assert text.count(soak.SECTION) == 1
    assert "second" in text
    assert "first" not in text
    assert "## Other\n\nkept" in text
