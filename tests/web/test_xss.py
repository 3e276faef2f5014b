"""The payload store served: every page reachable from the overview (links followed, up to a
bound) holds no payload unescaped, no element or attribute a payload could bring (script,
event handlers, frames, links leaving the server) and no script at all."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.report.html_checks import parse
from tests.report.xss_world import xss_corpus
from tests.web.conftest import client

MAX_PAGES = 90
SKIP = ("/raw", "/notices/")  # downloads, not pages
FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "base", "meta-refresh", "img"}


@pytest.fixture(scope="module")
def xss(xss_db: Path) -> Iterator[TestClient]:
    with client(xss_db) as found:
        yield found


def _kind(path: str) -> str:
    return path.split("?")[0].split("/")[1]


@pytest.fixture(scope="module")
def crawled(xss: TestClient) -> dict[str, str]:
    """Page path -> HTML, from the overview and the alerts (suppressed too), links followed,
    the kind of page (alerts, incidents, timeline, records...) seen least visited next."""
    pages: dict[str, str] = {}
    queues: dict[str, deque[str]] = defaultdict(deque)
    for start in ("/", "/alerts?limit=500&suppressed=true", "/incidents", "/rules", "/ingest"):
        queues[_kind(start)].append(start)
    seen: Counter[str] = Counter()
    while len(pages) < MAX_PAGES and any(queues.values()):
        kind = min((k for k, q in queues.items() if q), key=lambda k: seen[k])
        path = queues[kind].popleft()
        if path in pages or any(part in path for part in SKIP):
            continue
        seen[kind] += 1
        response = xss.get(path)
        assert response.status_code in (200, 400, 404), path  # a payload as an IP is a 400
        pages[path] = response.text
        for element in parse(response.text).elements:
            href = element.attrs.get("href")
            if element.tag == "a" and href and href not in pages:
                queues[_kind(href)].append(href)
    return pages


def test_the_crawl_reaches_every_kind_of_page(crawled: dict[str, str]) -> None:
    kinds = {path.split("?")[0].split("/")[1] for path in crawled}
    assert {"", "alerts", "incidents", "timeline", "records", "rules", "ingest"} <= kinds
    assert sum(path.startswith("/timeline/mailbox") for path in crawled) >= 5


def test_no_payload_is_unescaped(crawled: dict[str, str]) -> None:
    payloads = [p for p in xss_corpus().values() if any(c in p for c in "<>\"'")]
    assert payloads
    for path, html in crawled.items():
        for payload in payloads:
            assert payload not in html, (path, payload)


def test_no_payload_became_markup(crawled: dict[str, str]) -> None:
    for path, html in crawled.items():
        parsed = parse(html)
        for element in parsed.elements:
            assert element.tag not in FORBIDDEN_TAGS, (path, element)
            for name, value in element.attrs.items():
                assert not name.startswith("on"), (path, element)
                assert name not in ("style", "srcdoc", "formaction"), (path, element)
                if name in ("href", "action", "src"):
                    assert value is not None, (path, element)
                    assert value.startswith("/"), (path, element)
        assert not parsed.raw_text, path


def test_payloads_are_there_as_text(crawled: dict[str, str]) -> None:
    """The check above must be able to fail: the payloads are on the pages, as text."""
    texts = "".join(t for html in crawled.values() for t in parse(html).texts)
    shown = [p for p in xss_corpus().values() if p in texts]
    assert len(shown) >= len(xss_corpus()) // 2
