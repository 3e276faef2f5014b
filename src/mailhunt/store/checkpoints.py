"""Live collection's bookkeeping in the store: cursors, content collected, gaps (the
``collect_*`` tables of ``model/schema.py``). Content rows are written by the collector inside
ingest's transaction (``ingest(..., in_transaction=...)``), so they commit with the records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailhunt.store.db import Store


@dataclass(frozen=True)
class ContentRow:
    tenant_id: str
    feed: str
    content_id: str
    content_created: datetime | None
    landed_path: str
    status: str
    records_new: int
    collected_at: datetime


@dataclass(frozen=True)
class FeedStatus:
    """One feed of one tenant as `mailhunt status` shows it."""

    tenant_id: str
    feed: str
    window_end: datetime | None
    last_content: datetime | None
    contents: int
    records: int
    gaps: int
    gap_hours: float
    last_error: str | None
    last_error_at: datetime | None


class Checkpoints:
    """The collect_* tables of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def cursor(self, tenant_id: str, feed: str) -> datetime | None:
        rows = self.store.query(
            "SELECT window_end FROM collect_cursors WHERE tenant_id = ? AND feed = ?",
            [tenant_id, feed],
        )
        return rows[0][0] if rows and rows[0][0] is not None else None

    def seen(self, tenant_id: str, feed: str, content_ids: Sequence[str]) -> set[str]:
        """Which of these content ids are stored already."""
        if not content_ids:
            return set()
        rows = self.store.query(
            "SELECT content_id FROM collect_content WHERE tenant_id = ? AND feed = ? "
            "AND content_id IN (SELECT unnest(?::VARCHAR[]))",
            [tenant_id, feed, list(content_ids)],
        )
        return {str(r[0]) for r in rows}

    def add_content(self, rows: Sequence[ContentRow]) -> None:
        """Record collected content (call inside the transaction storing its records)."""
        self.store.insert_rows("collect_content", [row.__dict__ for row in rows])

    def advance(self, tenant_id: str, feed: str, window_end: datetime, now: datetime) -> None:
        """Move the cursor (never back) and clear the feed's error."""
        self.store.run(
            "INSERT INTO collect_cursors (tenant_id, feed, window_end, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, feed) DO UPDATE SET "
            "window_end = greatest(coalesce(collect_cursors.window_end, excluded.window_end), "
            "excluded.window_end), updated_at = excluded.updated_at, last_error = NULL, "
            "last_error_at = NULL",
            [tenant_id, feed, window_end, now],
        )

    def error(self, tenant_id: str, feed: str, message: str, now: datetime) -> None:
        self.store.run(
            "INSERT INTO collect_cursors (tenant_id, feed, last_error, last_error_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, feed) DO UPDATE SET "
            "last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            [tenant_id, feed, message[:500], now],
        )

    def gap(self, tenant_id: str, feed: str, start: datetime, end: datetime, now: datetime) -> None:
        self.store.insert_rows(
            "collect_gaps",
            [
                {
                    "tenant_id": tenant_id,
                    "feed": feed,
                    "gap_start": start,
                    "gap_end": end,
                    "found_at": now,
                    "reason": "content past the service's retention (collector away too long)",
                }
            ],
        )

    def status(self) -> list[FeedStatus]:
        rows = self.store.query(
            "WITH feeds AS (SELECT tenant_id, feed FROM collect_cursors UNION "
            "SELECT tenant_id, feed FROM collect_content UNION "
            "SELECT tenant_id, feed FROM collect_gaps), "
            "c AS (SELECT tenant_id, feed, max(content_created) AS last_content, "
            "count(*) AS contents, sum(records_new) AS records FROM collect_content GROUP BY ALL), "
            "g AS (SELECT tenant_id, feed, count(*) AS gaps, "
            "sum(epoch(gap_end) - epoch(gap_start)) / 3600 AS hours FROM collect_gaps "
            "GROUP BY ALL) "
            "SELECT f.tenant_id, f.feed, k.window_end, c.last_content, coalesce(c.contents, 0), "
            "coalesce(c.records, 0), coalesce(g.gaps, 0), coalesce(g.hours, 0), k.last_error, "
            "k.last_error_at FROM feeds f "
            "LEFT JOIN collect_cursors k USING (tenant_id, feed) "
            "LEFT JOIN c USING (tenant_id, feed) LEFT JOIN g USING (tenant_id, feed) "
            "ORDER BY f.tenant_id, f.feed"
        )
        return [
            FeedStatus(
                str(r[0]),
                str(r[1]),
                r[2],
                r[3],
                int(r[4]),
                int(r[5]),
                int(r[6]),
                float(r[7]),
                r[8],
                r[9],
            )
            for r in rows
        ]
