"""Microsoft Graph audit logs: sign-ins (interactive, non-interactive, service principal) and
directory audits.

Sign-ins come from the beta endpoint, filtered by ``signInEventTypes`` (v1.0 returns
interactive sign-ins only, without the token identifiers the analytics match mail access
against); directory audits from v1.0. Windows of at most 24 hours by event time, from the
cursor less the look-back (sign-ins can be published late) to now, each page followed by
``@odata.nextLink``, landed and ingested (records already stored are dropped by id), the
cursor moved once the window is stored.
https://learn.microsoft.com/graph/api/signin-list,
https://learn.microsoft.com/graph/api/directoryaudit-list, https://learn.microsoft.com/graph/paging
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson

from mailhunt.collect.feed import Context, FeedReport, split, store_windows
from mailhunt.collect.http import CollectError, error_code
from mailhunt.collect.landing import Landed, land

WINDOW = timedelta(hours=24)
FIRST = timedelta(days=7)  # how far back a feed never collected starts
RETENTION = timedelta(days=30)
PAGE = "1000"

# feed -> (API version, log, time field, signInEventTypes value)
FEEDS: dict[str, tuple[str, str, str, str | None]] = {
    "signins": ("beta", "signIns", "createdDateTime", "interactiveUser"),
    "signins-noninteractive": ("beta", "signIns", "createdDateTime", "nonInteractiveUser"),
    "signins-serviceprincipal": ("beta", "signIns", "createdDateTime", "servicePrincipal"),
    "directory-audits": ("v1.0", "directoryAudits", "activityDateTime", None),
}


def collect_graph(ctx: Context, feed: str) -> FeedReport:
    report = FeedReport(ctx.tenant.name, feed)
    now = ctx.clock()
    cursor = ctx.checkpoints.cursor(ctx.tenant.tenant_id, feed)
    lookback = timedelta(hours=ctx.lookback_hours)
    start = now - FIRST if cursor is None else max(now - RETENTION, cursor - lookback)
    windows: list[tuple[datetime, list[Landed]]] = []
    try:
        for first, end in split(start, now, WINDOW):
            windows.append((end, _pages(ctx, feed, first, end)))
    finally:  # what was landed is stored, even when a later window failed
        store_windows(ctx, feed, windows, report)
    return report


def _pages(ctx: Context, feed: str, start: datetime, end: datetime) -> list[Landed]:
    version, what, field, kind = FEEDS[feed]
    clause = f"{field} ge {_stamp(start)} and {field} lt {_stamp(end)}"
    if kind is not None:
        clause += f" and signInEventTypes/any(t: t eq '{kind}')"
    url: str | None = f"https://{ctx.tenant.cloud.graph}/{version}/auditLogs/{what}"
    params: dict[str, str] | None = {"$filter": clause, "$top": PAGE}
    landed: list[Landed] = []
    number = 0
    while url is not None:
        response = ctx.api.request("GET", url, params)
        if response.status_code != 200:
            raise CollectError(f"{what}: HTTP {response.status_code} {error_code(response)}")
        body: dict[str, Any] = orjson.loads(response.content)
        digest = hashlib.sha256(response.content).hexdigest()[:16]
        key = f"{_stamp(start)}_{_stamp(end)}_p{number}_{digest}".replace(":", "")
        if body.get("value") and not ctx.checkpoints.seen(ctx.tenant.tenant_id, feed, [key]):
            landed.append(land(ctx.folder(feed, start), key, response.content, end))
        number += 1
        url, params = body.get("@odata.nextLink"), None
    return landed


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
