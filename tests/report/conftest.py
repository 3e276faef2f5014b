"""The XSS store (built once per session: ingest and detect take a few seconds) and its report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailhunt.report.html import build_report, render_report
from mailhunt.store.db import Store
from tests.report.xss_world import build_xss_store

GENERATED_AT = datetime(2024, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def xss_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_xss_store(tmp_path_factory.mktemp("xss"))


@pytest.fixture(scope="session")
def xss_report(xss_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the XSS store, written to a file."""
    with Store.open(xss_db, create=False, read_only=True) as store:
        html = render_report(build_report(store, now=GENERATED_AT))
    out = tmp_path_factory.mktemp("report") / "report.html"
    out.write_text(html, encoding="utf-8")
    return out
