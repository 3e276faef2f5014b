"""The notice tests' store (``world.py``) and its notices written once per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhunt.notify import write_notices
from mailhunt.store.db import Store
from tests.notify.world import build


@pytest.fixture
def world() -> Iterator[Store]:
    with Store.open(None) as store:
        build(store)
        yield store


@pytest.fixture
def notices(world: Store, tmp_path: Path) -> Path:
    out = tmp_path / "notices"
    write_notices(world, out)
    return out
