"""Shared fixtures: a store per test (in memory, or a file under tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhunt.store.db import Store


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory store."""
    with Store.open(None) as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's on-disk database lives."""
    return tmp_path / "mailhunt.duckdb"
