"""The HTML report in a real browser (issue 10's acceptance): headless Chromium loads the report
of a store whose every attacker-controlled field holds an XSS payload, from disk, and takes a
screenshot. No payload may run (each would set ``window.__xss`` or change the title), nothing may
be requested but the file itself (payloads fetch 198.51.100.7), and the console must show no
Content-Security-Policy violation, error or message at all.

Chromium is Debian's (``.ci/run`` installs it on CI); driven over its DevTools pipe
(tests/report/chromium.py). Without it the test is skipped (a fresh clone need not have a
browser), except where ``MAILHUNT_REQUIRE_CHROMIUM=1`` says it must run (``.ci/run`` sets it):
there a missing browser fails the test rather than hiding the acceptance check.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from mailhunt.report.html.render import content_security_policy, stylesheet
from tests.report.chromium import PageLoad, chromium, load, load_many

EXECUTABLE = chromium()
if EXECUTABLE is None and os.environ.get("MAILHUNT_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("MAILHUNT_REQUIRE_CHROMIUM=1 but Chromium is not installed")
pytestmark = pytest.mark.skipif(
    EXECUTABLE is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it on CI)",
)
PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def page(xss_report: Path, tmp_path_factory: pytest.TempPathFactory) -> PageLoad:
    assert EXECUTABLE is not None
    return load(EXECUTABLE, xss_report, tmp_path_factory.mktemp("profile"))


def test_no_payload_runs(page: PageLoad) -> None:
    assert page.marker is None
    assert page.title == "mailhunt report 2024-04-20 12:00:00 UTC"
    assert page.exceptions == []


def test_nothing_is_requested_but_the_file(page: PageLoad, xss_report: Path) -> None:
    assert page.requests == [xss_report.resolve().as_uri()]


def test_the_console_is_silent(page: PageLoad) -> None:
    """No CSP violation (a payload read as markup would be blocked, and reported), no error,
    no message."""
    assert [entry["text"] for entry in page.log] == []
    assert page.console == []


def test_the_screenshot(page: PageLoad, tmp_path_factory: pytest.TempPathFactory) -> None:
    shot = tmp_path_factory.mktemp("screenshot") / "report.png"
    shot.write_bytes(page.screenshot)
    width, height = _png_size(shot.read_bytes())
    assert width == 1280
    assert height > 2000  # the whole page: summary, charts, tables
    assert shot.stat().st_size > 100_000  # drawn, not a blank page


def test_the_harness_sees_what_it_must(tmp_path: Path) -> None:
    """Control: the same policy on a page with a script and a remote image; the harness must see
    the violation, the request, and no script run (or the tests above prove nothing)."""
    css = stylesheet()
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        f'content="{content_security_policy(css)}"><title>t</title><style>{css}</style></head>'
        "<body><script>window.__xss=1</script><img src=http://198.51.100.7/p.gif>"
        "<p style=color:red>x</p></body></html>",
        encoding="utf-8",
    )
    assert EXECUTABLE is not None
    seen = load(EXECUTABLE, bad, tmp_path / "profile", settle=0.3)
    assert seen.marker is None
    assert "http://198.51.100.7/p.gif" in seen.requests
    violations = [e["text"] for e in seen.log if "Content Security Policy" in e["text"]]
    assert len(violations) == 3  # the script, the image, the style attribute


@pytest.fixture(scope="module")
def notices(xss_db: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every tenant's notice.html of the XSS store (``mailhunt notify``)."""
    from mailhunt.notify import write_notices
    from mailhunt.store.db import Store

    out = tmp_path_factory.mktemp("notices") / "out"
    with Store.open(xss_db, create=False, read_only=True) as store:
        results = write_notices(store, out)
    return sorted(result.folder / "notice.html" for result in results)


def test_notices_in_the_browser(
    notices: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each tenant's HTML notice, loaded from disk like the report: no payload runs, nothing is
    requested but the file, the console is silent, and the notice is drawn. One browser, each
    notice in a tab of its own browser context (a browser per notice took 2-3 s each)."""
    assert notices  # the XSS store has affected tenants
    assert EXECUTABLE is not None
    loads = load_many(
        EXECUTABLE, notices, tmp_path_factory.mktemp("profile"), settle=0.5, fast_png=True
    )
    assert len(loads) == len(notices)
    for notice, seen in zip(notices, loads, strict=True):
        assert seen.marker is None, notice
        assert seen.exceptions == [], notice
        assert seen.requests == [notice.resolve().as_uri()], notice
        assert [entry["text"] for entry in seen.log] == [], notice
        assert seen.console == [], notice
        assert seen.title == "Notice of unauthorised mailbox access", notice
        width, height = _png_size(seen.screenshot)
        assert width == 1280, notice
        assert height > 400, notice
