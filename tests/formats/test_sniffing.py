"""Sniffing precedence: every committed fixture is claimed by exactly one format at the top
specificity (counted, whatever its name), or by members of one group (which read the file
together), so no file's format depends on registry order."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.formats import Format, Sample, claimants
from mailhunt.formats.sniffing import read_head, samples, sniff_file
from tests.helpers import FIXTURES

FIXTURE_FILES = sorted(
    p for p in FIXTURES.rglob("*") if p.is_file() and not p.name.endswith(".golden.json")
)


def _winners(path: Path) -> tuple[list[Format], list[Format]] | None:
    """For the first sample of the file any format claims: (all claimants, those at the top
    specificity)."""
    for sample, _ in samples(path, read_head(path)):
        found = claimants(sample)
        if found:
            top = [f for f in found if f.specificity == found[0].specificity]
            return found, top
    return None


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_a_fixture_has_one_winning_format(path: Path) -> None:
    if not path.read_bytes().strip():
        pytest.skip("empty fixture")
    claimed = _winners(path)
    if claimed is None:
        assert sniff_file(path)[0] is None
        return
    _, top = claimed
    groups = {f.group or f.name for f in top}
    assert len(groups) == 1, [f.name for f in top]  # one format, or members of one group


def test_most_fixtures_are_claimed_and_some_conflicts_are_settled_by_specificity() -> None:
    claimed = [c for c in map(_winners, FIXTURE_FILES) if c is not None]
    assert len(claimed) >= 60
    settled = [c for c in claimed if len(c[0]) > 1]
    assert settled
    assert all(len({f.group or f.name for f in top}) == 1 for _, top in settled)


def test_specificity_decides_between_two_claimants() -> None:
    def claims(sample: Sample) -> bool:
        return True

    general = Format("a-general", "claims everything JSON", "events", claims, {}, specificity=0)
    special = Format("b-special", "claims everything JSON", "events", claims, {}, specificity=5)
    ordered = sorted([general, special], key=lambda f: -f.specificity)
    assert [f.name for f in ordered] == ["b-special", "a-general"]
