"""What every collector shares: the tenant's context, and landed content ingested with its
checkpoint rows in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailhunt.collect.config import TenantConfig
from mailhunt.collect.http import Api
from mailhunt.collect.landing import Landed
from mailhunt.ingest import FileResult, ingest
from mailhunt.sources.archives import SEPARATOR
from mailhunt.store.checkpoints import Checkpoints, ContentRow
from mailhunt.store.db import Store

STORED = ("ingested", "duplicate")


def parse_time(text: str) -> datetime:
    """A service's timestamp (``2026-06-01T10:00:00``, ``...Z``, fractions) as aware UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class FeedReport:
    """What one pass did for one feed of one tenant."""

    tenant: str
    feed: str
    windows: int = 0
    contents: int = 0  # new content landed and stored
    records_new: int = 0
    gaps: int = 0
    error: str | None = None
    failed_files: list[str] = field(default_factory=list)


@dataclass
class Context:
    tenant: TenantConfig
    api: Api
    store: Store
    checkpoints: Checkpoints
    land: Path
    clock: Callable[[], datetime]
    lookback_hours: float

    def folder(self, feed: str, day: datetime) -> Path:
        return self.land / self.tenant.name / feed / day.date().isoformat()


def split(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) in consecutive windows of at most `size`."""
    while start < end:
        yield start, min(start + size, end)
        start += size


def store_windows(
    ctx: Context,
    feed: str,
    windows: Sequence[tuple[datetime, Sequence[Landed]]],
    report: FeedReport,
) -> None:
    """Ingest every window's landed content in one run, then move the cursor over the windows
    (in order) whose content is all stored: never past one that is not."""
    store_landed(ctx, feed, [one for _, landed in windows for one in landed], report)
    tenant_id = ctx.tenant.tenant_id
    for end, landed in windows:
        ids = {one.content_id for one in landed}
        if len(ctx.checkpoints.seen(tenant_id, feed, list(ids))) != len(ids):
            report.error = (
                f"{len(report.failed_files)} content file(s) not stored; retried next pass"
            )
            return
        ctx.checkpoints.advance(tenant_id, feed, end, ctx.clock())
        report.windows += 1


def store_landed(ctx: Context, feed: str, landed: Sequence[Landed], report: FeedReport) -> bool:
    """Ingest landed content; each content's checkpoint row commits with its records. True when
    every content is stored (its id in collect_content)."""
    if not landed:
        return True
    by_path = {str(one.path): one for one in landed}
    now = ctx.clock()
    tenant_id = ctx.tenant.tenant_id

    def in_transaction(results: list[FileResult]) -> None:
        rows = []
        for result in results:
            one = by_path.get(str(result.path).split(SEPARATOR)[0])
            if one is not None and result.status in STORED:
                rows.append(
                    ContentRow(
                        tenant_id,
                        feed,
                        one.content_id,
                        one.created,
                        str(one.path),
                        result.status,
                        result.records_new,
                        now,
                    )
                )
        ctx.checkpoints.add_content(rows)

    summary = ingest(ctx.store, [one.path for one in landed], in_transaction=in_transaction)
    report.records_new += sum(f.records_new for f in summary.files)
    report.failed_files += [str(f.path) for f in summary.files if f.status not in STORED]
    stored = ctx.checkpoints.seen(tenant_id, feed, [one.content_id for one in landed])
    report.contents += len(stored)
    return len(stored) == len({one.content_id for one in landed})
