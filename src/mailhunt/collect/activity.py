"""Office 365 Management Activity API: subscriptions, content listing, blobs.

Per content type (Audit.Exchange, Audit.AzureActiveDirectory, Audit.General...): subscriptions
started when missing (AF20024, already enabled, is fine); content listed in windows of at most
24 hours from the cursor (less one hour, listed again: content ids already stored are not
downloaded) to now, following ``NextPageUri``; each new blob downloaded from its
``contentUri``, landed, and ingested, its content id committed with its records. The cursor
moves to a window's end only once every blob of it is stored. ``PublisherIdentifier`` is on
every call (throttling quotas are per publisher). A cursor older than the service keeps content
(7 days) is a gap, recorded. Reference:
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx

from mailhunt.collect.feed import Context, FeedReport, parse_time, split, store_windows
from mailhunt.collect.http import CollectError, error_code
from mailhunt.collect.landing import Landed, land
from mailhunt.store.checkpoints import ContentRow

log = logging.getLogger(__name__)

RETENTION = timedelta(days=7)
WINDOW = timedelta(hours=24)
SAFETY = timedelta(minutes=10)  # start this far inside retention: the clocks differ a little
OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class Listed:
    content_id: str
    uri: str
    created: datetime


def _base(ctx: Context) -> str:
    return f"https://{ctx.tenant.cloud.manage}/api/v1.0/{ctx.tenant.tenant_id}/activity/feed"


def _publisher(ctx: Context, url: str | None = None) -> dict[str, str]:
    """PublisherIdentifier, unless the URL (a NextPageUri) carries it already."""
    if url and "PublisherIdentifier" in parse_qs(urlsplit(url).query):
        return {}
    return {"PublisherIdentifier": ctx.tenant.publisher}


def ensure_subscriptions(ctx: Context, content_types: Iterable[str]) -> None:
    """Start the subscriptions not enabled yet."""
    url = f"{_base(ctx)}/subscriptions/list"
    listed = ctx.api.request("GET", url, _publisher(ctx))
    _ok(listed, "subscriptions/list")
    enabled = {s.get("contentType") for s in listed.json() if s.get("status") == "enabled"}
    for content_type in content_types:
        if content_type in enabled:
            continue
        params = {"contentType": content_type, **_publisher(ctx)}
        started = ctx.api.request("POST", f"{_base(ctx)}/subscriptions/start", params)
        if started.status_code != 200 and error_code(started) != "AF20024":
            _ok(started, f"subscriptions/start {content_type}")
        log.info("tenant %s: subscription %s started", ctx.tenant.name, content_type)


def collect_activity(ctx: Context, content_type: str) -> FeedReport:
    report = FeedReport(ctx.tenant.name, content_type)
    now = ctx.clock()
    tenant_id = ctx.tenant.tenant_id
    oldest = now - RETENTION + SAFETY
    cursor = ctx.checkpoints.cursor(tenant_id, content_type)
    if cursor is not None and cursor < oldest:
        ctx.checkpoints.gap(tenant_id, content_type, cursor, oldest, now)
        report.gaps += 1
        log.warning(
            "tenant %s, %s: content from %s to %s is past retention: recorded as a gap",
            ctx.tenant.name, content_type, cursor.isoformat(), oldest.isoformat(),
        )  # fmt: skip
    start = oldest if cursor is None else max(oldest, cursor - OVERLAP)
    windows: list[tuple[datetime, list[Landed]]] = []
    taken: set[str] = set()  # a blob listed again in a later window of this pass
    try:
        for first, end in split(start, now, WINDOW):
            windows.append((end, _window(ctx, content_type, first, end, taken)))
    finally:  # what was landed is stored, even when a later window failed
        store_windows(ctx, content_type, windows, report)
    return report


def _window(
    ctx: Context, content_type: str, start: datetime, end: datetime, taken: set[str]
) -> list[Landed]:
    """List one window and land its blobs not stored yet (nor landed earlier in the pass)."""
    listed: dict[str, Listed] = {}
    for entry in _list(ctx, content_type, start, end):
        listed.setdefault(entry.content_id, entry)
    seen = ctx.checkpoints.seen(ctx.tenant.tenant_id, content_type, list(listed)) | taken
    taken.update(listed)
    landed: list[Landed] = []
    expired: list[Listed] = []
    for entry in (e for e in listed.values() if e.content_id not in seen):
        response = ctx.api.request("GET", entry.uri, _publisher(ctx, entry.uri))
        if error_code(response) == "AF20051":  # expired before we got to it
            expired.append(entry)
            continue
        _ok(response, "content blob")
        folder = ctx.folder(content_type, entry.created)
        landed.append(land(folder, entry.content_id, response.content, entry.created))
    _record_expired(ctx, content_type, expired)
    return landed


def _list(ctx: Context, content_type: str, start: datetime, end: datetime) -> Iterator[Listed]:
    url: str | None = f"{_base(ctx)}/subscriptions/content"
    params: dict[str, str] = {
        "contentType": content_type,
        "startTime": _stamp(start),
        "endTime": _stamp(end),
    }
    while url is not None:
        response = ctx.api.request("GET", url, {**params, **_publisher(ctx, url)})
        _ok(response, "subscriptions/content")
        for item in response.json():
            yield Listed(str(item["contentId"]), str(item["contentUri"]), _time(item))
        url = response.headers.get("NextPageUri") or None
        params = {}


def _record_expired(ctx: Context, content_type: str, expired: list[Listed]) -> None:
    if not expired:
        return
    log.warning("tenant %s, %s: %d blob(s) expired before download", ctx.tenant.name,
                content_type, len(expired))  # fmt: skip
    now = ctx.clock()
    rows = [
        ContentRow(
            ctx.tenant.tenant_id, content_type, e.content_id, e.created, "", "expired", 0, now
        )
        for e in expired
    ]
    with ctx.store.transaction():
        ctx.checkpoints.add_content(rows)
        for entry in expired:
            ctx.checkpoints.gap(
                ctx.tenant.tenant_id, content_type, entry.created, entry.created, now
            )


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise CollectError(f"{what}: HTTP {response.status_code} {error_code(response)}".strip())


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _time(item: dict[str, object]) -> datetime:
    return parse_time(str(item["contentCreated"]))
