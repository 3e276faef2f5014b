"""One collection pass over every configured tenant and feed (``mailhunt collect``).

A feed that fails (after the retries of http.py) records its error on its cursor and the pass
goes on with the next one. Error texts are built from methods, paths and service error codes,
and every configured secret is blanked out of them before they are logged or stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from mailhunt.collect.activity import collect_activity, ensure_subscriptions
from mailhunt.collect.auth import MsalTokens
from mailhunt.collect.config import ACTIVITY_FEEDS, CollectConfig, TenantConfig
from mailhunt.collect.feed import Context, FeedReport
from mailhunt.collect.graph import collect_graph
from mailhunt.collect.http import Api, CollectError, http_client
from mailhunt.store.checkpoints import Checkpoints
from mailhunt.store.db import Store, utc_now

log = logging.getLogger(__name__)


@dataclass
class CollectReport:
    feeds: list[FeedReport] = field(default_factory=list)
    throttled: int = 0
    waited: float = 0.0

    @property
    def errors(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.error]


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def collect(
    config: CollectConfig,
    store: Store,
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 1.0,
) -> CollectReport:
    """One pass: every tenant's feeds, each from its cursor to now."""
    report = CollectReport()
    for tenant in config.tenants:
        with http_client(config.endpoint) as client:
            hosts = frozenset({tenant.cloud.manage, tenant.cloud.graph})
            api = Api(client, MsalTokens(tenant, client), hosts, sleep, backoff)
            ctx = Context(
                tenant, api, store, Checkpoints(store), config.land, clock, config.lookback_hours
            )
            report.feeds += _tenant(ctx, tenant)
            report.throttled += api.throttled
            report.waited += api.waited
    return report


def _tenant(ctx: Context, tenant: TenantConfig) -> list[FeedReport]:
    activity = [f for f in tenant.feeds if f in ACTIVITY_FEEDS]
    failed: str | None = None
    if activity:
        try:
            ensure_subscriptions(ctx, activity)
        except (CollectError, httpx.HTTPError, ValueError) as error:
            failed = _failure(error)
    reports = []
    for feed in tenant.feeds:
        if failed and feed in activity:
            reports.append(_failed(ctx, feed, failed))
            continue
        try:
            reports.append(
                collect_activity(ctx, feed) if feed in activity else collect_graph(ctx, feed)
            )
        except (CollectError, httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            reports.append(_failed(ctx, feed, _failure(error)))
    return reports


def _failure(error: Exception) -> str:
    if isinstance(error, CollectError):
        return str(error)
    if isinstance(error, httpx.HTTPError):
        return f"HTTP failure: {type(error).__name__}"
    return f"unexpected response: {type(error).__name__}"


def _failed(ctx: Context, feed: str, message: str) -> FeedReport:
    message = redact(message, ctx.tenant.secrets())
    log.warning("tenant %s, %s: %s", ctx.tenant.name, feed, message)
    ctx.checkpoints.error(ctx.tenant.tenant_id, feed, message, ctx.clock())
    return FeedReport(ctx.tenant.name, feed, error=message)
