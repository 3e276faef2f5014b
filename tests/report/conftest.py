"""The XSS store (built once per session: ingest and detect take a few seconds) and its report
(written once by ``mailhunt report``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailhunt.report.html import report as report_module
from tests.injection_world import Run, run
from tests.report.xss_world import build_xss_store

GENERATED_AT = datetime(2024, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def xss_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_xss_store(tmp_path_factory.mktemp("xss"))


@pytest.fixture(scope="session")
def report_run(xss_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """``mailhunt report`` of the XSS store over an older report, the clock at GENERATED_AT:
    its run and the file it wrote. Built once (the report takes seconds), read by the command's
    own test, the HTML tests and the browser tests; the same document as ``build_report``'s
    and ``render_report``'s with ``now=GENERATED_AT``."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    out.write_text("old report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_module, "utc_now", lambda: GENERATED_AT)
        result = run(["report", "--db", str(xss_db), "--out", str(out)])
    return result, out


@pytest.fixture(scope="session")
def xss_report(report_run: tuple[Run, Path]) -> Path:
    """The report of the XSS store, written to a file."""
    result, out = report_run
    assert result.code == 0, result.err
    return out
