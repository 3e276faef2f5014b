"""Shared fixtures: a store per test (in memory, or a file under tmp_path)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from mailhunt.store.db import Store
from tests import fuzzing  # noqa: F401  (registers the hypothesis profiles)


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory store."""
    with Store.open(None) as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's on-disk database lives."""
    return tmp_path / "mailhunt.duckdb"


# Hypothesis: a small budget by default (CI stays fast); MAILHUNT_HYPOTHESIS_PROFILE=long for
# a long run by hand (tests/fuzzing.py registers both; bench/fuzz.py runs the long one).
settings.load_profile(os.environ.get("MAILHUNT_HYPOTHESIS_PROFILE", "ci"))
