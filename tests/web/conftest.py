"""The web tests' stores (built once per session) and clients over them.

``demo_db``: the simulator's test bed (one tenant, 8 users, 14 days, a forged-token intrusion)
ingested, detected and grouped into incidents. ``xss_db``: the HTML report's payload store
(tests/report/xss_world.py), every attacker-controlled field an XSS payload. A test that
writes gets its own copy of the demo store (``demo_copy``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mailhunt.demo import run_demo
from mailhunt.investigate.incidents import build_incidents
from mailhunt.store.db import Store
from mailhunt.web import Settings, create_app
from tests.report.xss_world import build_xss_store

TOKEN = "test-token-0123456789"  # noqa: S105 - the test server's
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
AUTHOR = "analyst-web"


def settings(db: Path) -> Settings:
    return Settings(db=db, token=TOKEN, host="127.0.0.1", port=PORT, author=AUTHOR)


def client(db: Path, **headers: str) -> TestClient:
    return TestClient(
        create_app(settings(db)),
        base_url=BASE,
        headers={"Authorization": f"Bearer {TOKEN}", **headers},
        follow_redirects=False,
    )


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = run_demo(tmp_path_factory.mktemp("demo"), days=14, users=8)
    with Store.open(result.database) as store:
        build_incidents(store)
    return result.database


@pytest.fixture(scope="session")
def xss_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = build_xss_store(tmp_path_factory.mktemp("xss"))
    with Store.open(db) as store:
        build_incidents(store, force=False)
    return db


@pytest.fixture(scope="session")
def demo(demo_db: Path) -> Iterator[TestClient]:
    with client(demo_db) as found:
        yield found


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the demo store a test may write to (the evidence files stay where they are)."""
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db, target)
    return target
