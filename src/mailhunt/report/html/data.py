"""What the HTML report shows, read from the store: typed rows, no markup.

Everything the report says about the intruder is scoped by a set of record ids (an incident's
``event_ids``, or, where no incident is given, the evidence of every alert listed): the mailboxes,
messages, Sync folders and per-day counts below are those records' rows, never a mailbox's whole
traffic. Each query binds the scope as one list parameter (``?::VARCHAR[]``); nothing from the
store or the user is ever written into the SQL text.

Tables that could grow without bound (messages read, timelines) are capped: the report says how
many rows it left out and which command lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from mailhunt.store.db import Store

MAX_MESSAGES = 2000  # messages listed per scope; the rest are counted
MAX_TIMELINE = 150  # rows per mailbox timeline
MAX_MAILBOX_TIMELINES = 12
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
class MailboxRead:
    """One mailbox of the blast radius: what was read there, and when."""

    tenant_id: str | None
    mailbox: str
    first_seen: datetime
    last_seen: datetime
    messages: int
    size_bytes: int
    sync_folders: int
    records: int


@dataclass(frozen=True)
class MessageRead:
    """One message read (Bind), as the audit record lists it."""

    time: datetime
    tenant_id: str | None
    mailbox: str | None
    folder: str | None
    internet_message_id: str
    size_bytes: int | None
    record_id: str


@dataclass(frozen=True)
class SyncFolder:
    """A folder synced whole: every message in it is presumed read."""

    tenant_id: str | None
    mailbox: str | None
    folder: str | None
    first_seen: datetime
    last_seen: datetime
    syncs: int


@dataclass(frozen=True)
class BlindWindow:
    """A period a mailbox's reads went unaudited (the blind_windows view)."""

    tenant_id: str | None
    mailbox: str
    window_start: datetime
    window_end: datetime
    reason: str
    record_id: str


@dataclass(frozen=True)
class TimelineRow:
    """One audit record of a mailbox, marked when it is in scope (the intruder's)."""

    time: datetime
    operation: str | None
    actor: str | None
    app: str | None
    client_ip: str | None
    user_agent: str | None
    detail: str | None
    record_id: str
    in_scope: bool


@dataclass(frozen=True)
class Timeline:
    """A mailbox's audit records around the scope's period (capped at ``MAX_TIMELINE``)."""

    mailbox: str
    rows: list[TimelineRow]
    total: int


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


@dataclass(frozen=True)
class Reach:
    """What the records of one scope reached: mailboxes, messages, folders, blind windows."""

    mailboxes: list[MailboxRead]
    messages: list[MessageRead]
    messages_total: int
    sync_folders: list[SyncFolder]
    blind_windows: list[BlindWindow]
    per_day: list[MailboxDay]

    @property
    def size_bytes(self) -> int:
        return sum(m.size_bytes for m in self.mailboxes)


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


_MAILBOXES = f"""
WITH {_SCOPE}
SELECT m.tenant_id, m.mailbox_upn, min(m.time), max(m.time),
       count(m.internet_message_id),
       coalesce(sum(m.size_bytes) FILTER (WHERE m.internet_message_id IS NOT NULL), 0),
       count(DISTINCT m.folder_path) FILTER (WHERE m.internet_message_id IS NULL),
       count(DISTINCT m.record_id)
FROM mail_items m JOIN scope USING (record_id)
WHERE m.mailbox_upn IS NOT NULL
GROUP BY ALL ORDER BY 5 DESC, 2
"""

_MESSAGES = f"""
WITH {_SCOPE}
SELECT m.time, m.tenant_id, m.mailbox_upn, m.folder_path, m.internet_message_id,
       m.size_bytes, m.record_id
FROM mail_items m JOIN scope USING (record_id)
WHERE m.internet_message_id IS NOT NULL
ORDER BY m.time, m.mailbox_upn, m.internet_message_id
LIMIT ?
"""

_MESSAGE_COUNT = f"""
WITH {_SCOPE}
SELECT count(*) FROM mail_items m JOIN scope USING (record_id)
WHERE m.internet_message_id IS NOT NULL
"""

_SYNCS = f"""
WITH {_SCOPE}
SELECT m.tenant_id, m.mailbox_upn, m.folder_path, min(m.time), max(m.time), count(*)
FROM mail_items m JOIN scope USING (record_id)
WHERE m.internet_message_id IS NULL
GROUP BY ALL ORDER BY 2, 3
"""

# Blind windows of the mailboxes the scope read, overlapping the scope's period (a window that
# opened up to 24 hours before the first read still hides reads in it).
_BLIND = f"""
WITH {_SCOPE},
reads AS (SELECT e.mailbox_upn, min(e.time) AS first, max(e.time) AS last
          FROM events e JOIN scope USING (record_id)
          WHERE e.mailbox_upn IS NOT NULL GROUP BY ALL)
SELECT b.tenant_id, b.mailbox_upn, b.window_start, b.window_end, b.reason, b.record_id
FROM blind_windows b JOIN reads r USING (mailbox_upn)
WHERE b.window_end >= r.first AND b.window_start <= r.last + INTERVAL 1 DAY
ORDER BY b.window_start, b.mailbox_upn
"""

_PER_DAY = f"""
WITH {_SCOPE}
SELECT m.mailbox_upn, CAST(m.time AS DATE) AS day, count(m.internet_message_id),
       count(*) FILTER (WHERE m.internet_message_id IS NULL)
FROM mail_items m JOIN scope USING (record_id)
WHERE m.mailbox_upn IS NOT NULL
GROUP BY ALL ORDER BY 1, 2
"""


def reach(store: Store, scope: list[str]) -> Reach:
    """Every mailbox, message, Sync folder and blind window the scope's records reached."""
    return Reach(
        mailboxes=[MailboxRead(*row) for row in store.query(_MAILBOXES, [scope])],
        messages=[MessageRead(*row) for row in store.query(_MESSAGES, [scope, MAX_MESSAGES])],
        messages_total=store.scalar(_MESSAGE_COUNT, [scope]),
        sync_folders=[SyncFolder(*row) for row in store.query(_SYNCS, [scope])],
        blind_windows=[BlindWindow(*row) for row in store.query(_BLIND, [scope])],
        per_day=[MailboxDay(*row) for row in store.query(_PER_DAY, [scope])],
    )


_TIMELINE = f"""
WITH {_SCOPE},
period AS (SELECT min(time) - INTERVAL 1 DAY AS since, max(time) + INTERVAL 1 DAY AS until
           FROM events JOIN scope USING (record_id)),
rows AS (
    SELECT e.time, e.operation, e.actor_upn, coalesce(e.client_app_id, e.app_id) AS app,
           e.client_ip, e.user_agent,
           coalesce(nullif(concat_ws(', ', e.access_type,
                                     CASE WHEN e.throttled THEN 'throttled' END), ''),
                    e.object_id) AS detail,
           e.record_id, s.record_id IS NOT NULL AS in_scope
    FROM events e LEFT JOIN scope s USING (record_id), period p
    WHERE (e.mailbox_upn = ? OR e.actor_upn = ?) AND e.time BETWEEN p.since AND p.until
)
SELECT *, count(*) OVER () FROM rows ORDER BY time, record_id LIMIT ?
"""


def timeline(store: Store, scope: list[str], mailbox: str) -> Timeline:
    """The mailbox's audit records from a day before the scope's first record to a day after
    its last, the scope's marked."""
    rows = store.query(_TIMELINE, [scope, mailbox, mailbox, MAX_TIMELINE])
    total = rows[0][-1] if rows else 0
    return Timeline(mailbox, [TimelineRow(*row[:-1]) for row in rows], total)


_SOURCES = """
SELECT source_path, format, status, coalesce(sum(records_read), 0), any_value(file_sha256)
FROM ingest_runs GROUP BY source_path, format, status ORDER BY source_path
"""


def sources(store: Store) -> list[Source]:
    """The files the store was built from."""
    return [Source(*row) for row in store.query(_SOURCES)]
