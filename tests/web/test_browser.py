"""The UI in Debian's Chromium, driven by Playwright (never a downloaded browser), against
uvicorn on a loopback port in a thread: every page opens, an analyst walks alert -> incident
-> mailbox timeline -> back, downloads a notice and sets a status; over the XSS store no
payload runs and the console reports nothing (a CSP violation would be logged there).
Screenshots go to a temporary folder (kept by pytest as artefacts of the run).

Skipped without Chromium, except with ``MAILHUNT_REQUIRE_CHROMIUM=1`` (``.ci/run``)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhunt.web import Settings, create_app
from tests.report.chromium import chromium

EXECUTABLE = chromium()
if EXECUTABLE is None and os.environ.get("MAILHUNT_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("MAILHUNT_REQUIRE_CHROMIUM=1 but Chromium is not installed")
pytestmark = pytest.mark.skipif(
    EXECUTABLE is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it on CI)",
)
playwright_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

TOKEN = "browser-token-0123456789"  # noqa: S105 - the test server's
PAGES = ("/", "/alerts", "/incidents", "/rules", "/ingest")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """uvicorn serving the app for a store on a loopback port, in a thread."""

    def __init__(self, db: Path) -> None:
        self.port = _free_port()
        settings = Settings(db=db, token=TOKEN, port=self.port, author="browser")
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as driver:
        found = driver.chromium.launch(
            executable_path=EXECUTABLE, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield found
        found.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


class Watched:
    """A page with its console messages and failed requests recorded."""

    def __init__(self, browser: object, base: str) -> None:
        self.context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base
        self.page.goto(f"{base}/?token={TOKEN}")  # sets the cookie, then drops the token

    def open(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None
        assert response.status == 200, path


def test_walk_download_and_set_status(browser: object, demo_copy: Path, shots: Path) -> None:
    with Served(demo_copy) as served:
        watched = Watched(browser, served.base)
        page = watched.page
        assert page.url == served.base + "/"  # the token left the address bar
        for path in PAGES:
            watched.open(path)
            page.screenshot(path=str(shots / f"demo{path.replace('/', '_')}.png"))
        watched.open("/alerts")
        page.locator("tr.alert-row a[href^='/alerts/']").first.click()
        page.locator("a.incident-link").first.click()
        assert page.url.startswith(served.base + "/incidents/INC-")
        incident_url = page.url
        page.locator("td.mailbox a").first.click()
        assert "/timeline/mailbox?value=" in page.url
        assert page.locator("table.timeline tbody tr").count() > 0
        page.screenshot(path=str(shots / "demo_timeline.png"), full_page=True)
        page.go_back()
        assert page.url == incident_url
        with page.expect_download() as waiting:
            page.locator("a.notice").first.click()
        download = waiting.value
        saved = shots / "notice.zip"
        download.save_as(saved)
        names = zipfile.ZipFile(io.BytesIO(saved.read_bytes())).namelist()
        assert any(n.endswith("/notice.md") for n in names)
        page.select_option("select[name=status]", "contained")
        page.fill("textarea[name=note]", "contained from the browser")
        page.locator("form.annotate button").click()
        page.wait_for_load_state()
        assert page.url == incident_url, page.content()[:3000]
        assert page.locator("#status").inner_text() == "contained"
        assert "contained from the browser" in page.content()
        page.screenshot(path=str(shots / "demo_incident.png"), full_page=True)
        assert watched.errors == []
        assert watched.console == []
        watched.context.close()


def test_xss_store_runs_nothing_and_the_console_is_silent(
    browser: object, xss_db: Path, tmp_path: Path, shots: Path
) -> None:
    db = tmp_path / "xss.duckdb"
    shutil.copyfile(xss_db, db)  # the session's read-only clients keep theirs
    with Served(db) as served:
        watched = Watched(browser, served.base)
        page = watched.page
        visited = list(PAGES)
        watched.open("/alerts?limit=500&suppressed=true")
        visited += [
            str(a.get_attribute("href")) for a in page.locator("tr.alert-row td.summary a").all()
        ][:4]
        watched.open("/incidents")
        built = [str(a.get_attribute("href")) for a in page.locator("td.mono a").all()][:2]
        visited += [*built, "/incidents/inc-2", "/incidents/inc-1"]  # payloads in every field
        for path in visited:
            page.goto(served.base + path)
            assert page.evaluate("() => window.__xss === undefined"), path
            assert page.title() != "XSS", path
        mailboxes = [str(a.get_attribute("href")) for a in page.locator("td.mailbox a").all()]
        for n, link in enumerate(mailboxes[:3]):
            page.goto(served.base + link)
            assert page.evaluate("() => window.__xss === undefined")
            page.screenshot(path=str(shots / f"xss_timeline_{n}.png"))
        page.screenshot(path=str(shots / "xss_incident.png"))
        assert watched.errors == []
        assert watched.console == []  # no CSP violation, nothing blocked, nothing run
        watched.context.close()
