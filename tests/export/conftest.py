"""The export tests' store: the hand-built world of ``world.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailhunt.store.db import Store
from tests.export.world import build


@pytest.fixture
def world() -> Iterator[Store]:
    with Store.open(None) as store:
        build(store)
        yield store
