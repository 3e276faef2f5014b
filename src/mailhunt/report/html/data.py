"""What the HTML report draws, read from the store: typed rows, no markup (incidents, their
blast radius and the mailbox timelines come from :mod:`mailhunt.investigate`).

The charts are scoped by a set of record ids (an incident's ``event_ids``; with no incident
stored, the evidence of the alerts): mail access per hour or day, all of it and the scope's, and
messages read per mailbox per day by the scope's records, never a mailbox's whole traffic. Each
query binds the scope as one list parameter (``?::VARCHAR[]``); nothing from the store or the user
is ever written into the SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from mailhunt.store.db import Store

HOURLY_BELOW_DAYS = 4  # activity is charted per hour when the data spans fewer days


@dataclass(frozen=True)
class Bucket:
    """Mail access in one period: every MailItemsAccessed record, and those in scope."""

    start: datetime
    total: int
    in_scope: int


@dataclass(frozen=True)
class Activity:
    """Mail access over the store's whole period, per ``unit`` (hour or day)."""

    unit: str
    buckets: list[Bucket]


@dataclass(frozen=True)
class MailboxDay:
    """Messages read (and folders synced whole) in one mailbox on one day, in scope."""

    mailbox: str
    day: date
    messages: int
    syncs: int


@dataclass(frozen=True)
class Source:
    """One input file the store was built from."""

    path: str
    format: str | None
    status: str | None
    records: int
    sha256: str | None


@dataclass(frozen=True)
class Totals:
    """What the store holds."""

    events: int
    signins: int
    mail_accesses: int
    first_seen: datetime | None
    last_seen: datetime | None


_SCOPE = "scope AS (SELECT DISTINCT unnest(?::VARCHAR[]) AS record_id)"

_TOTALS = """
SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM signins),
       (SELECT count(*) FROM events WHERE operation = 'MailItemsAccessed'),
       least((SELECT min(time) FROM events), (SELECT min(time) FROM signins)),
       greatest((SELECT max(time) FROM events), (SELECT max(time) FROM signins))
"""


def totals(store: Store) -> Totals:
    """Counts and the period of everything stored."""
    return Totals(*store.query(_TOTALS)[0])


_SPAN_DAYS = "SELECT coalesce(datediff('day', min(time), max(time)), 0) FROM events"

_ACTIVITY = f"""
WITH {_SCOPE}
SELECT date_trunc(?, e.time) AS start, count(*) AS total,
       count(s.record_id) AS in_scope
FROM events e LEFT JOIN scope s USING (record_id)
WHERE e.operation = 'MailItemsAccessed'
GROUP BY start ORDER BY start
"""


def activity(store: Store, scope: list[str]) -> Activity:
    """Mail access per hour (a short period) or per day, all of it and the scope's."""
    unit = "hour" if store.scalar(_SPAN_DAYS) < HOURLY_BELOW_DAYS else "day"
    rows = store.query(_ACTIVITY, [scope, unit])
    return Activity(unit, [Bucket(*row) for row in rows])


_PER_DAY = f"""
WITH {_SCOPE}
SELECT m.mailbox_upn, CAST(m.time AS DATE) AS day, count(m.internet_message_id),
       count(*) FILTER (WHERE m.internet_message_id IS NULL)
FROM mail_items m JOIN scope USING (record_id)
WHERE m.mailbox_upn IS NOT NULL
GROUP BY ALL ORDER BY 1, 2
"""


def per_day(store: Store, scope: list[str]) -> list[MailboxDay]:
    """Messages read and folders synced whole per mailbox per day by the scope's records."""
    return [MailboxDay(*row) for row in store.query(_PER_DAY, [scope])]


_SOURCES = """
SELECT source_path, format, status, coalesce(sum(records_read), 0), any_value(file_sha256)
FROM ingest_runs GROUP BY source_path, format, status ORDER BY source_path
"""


def sources(store: Store) -> list[Source]:
    """The files the store was built from."""
    return [Source(*row) for row in store.query(_SOURCES)]
