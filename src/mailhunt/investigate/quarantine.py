"""Quarantined records, read back for review: where each was, why, and its first bytes."""

from __future__ import annotations

from dataclasses import dataclass

from mailhunt.store.db import Store


@dataclass(frozen=True)
class QuarantinedRecord:
    """One record that could not be stored."""

    source_path: str
    line: int
    byte_offset: int
    format: str
    reason: str
    detail: str
    raw: bytes
    ingest_run_id: str


@dataclass(frozen=True)
class QuarantineListing:
    """What ``mailhunt quarantine`` shows: some records, and the counts over the whole store."""

    records: list[QuarantinedRecord]
    counts: list[tuple[str, int]]  # (reason, records), most frequent first


_SELECT = """
SELECT source_path, line, byte_offset, format, reason, detail, raw, ingest_run_id
FROM quarantine
WHERE (? IS NULL OR reason = ?)
ORDER BY source_path, line
LIMIT ?
"""


def list_quarantine(
    store: Store, *, reason: str | None = None, limit: int = 1000
) -> list[QuarantinedRecord]:
    """Quarantined records, by file and line; optionally only one reason."""
    return [QuarantinedRecord(*row) for row in store.query(_SELECT, [reason, reason, limit])]


def quarantine_counts(store: Store) -> list[tuple[str, int]]:
    """(reason, records) over the whole store, most frequent first."""
    rows = store.query(
        "SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY n DESC, reason"
    )
    return [(str(reason), int(count)) for reason, count in rows]


def quarantine_listing(
    store: Store, *, reason: str | None = None, limit: int = 1000
) -> QuarantineListing:
    """The records (as :func:`list_quarantine`) with the store's counts by reason."""
    return QuarantineListing(
        list_quarantine(store, reason=reason, limit=limit), quarantine_counts(store)
    )
