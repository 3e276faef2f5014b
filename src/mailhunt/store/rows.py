"""Typed rows for the tables ingest writes row by row (a test keeps their keys equal to the
schema's columns, declared in model/schema.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict


class QuarantineRow(TypedDict):
    """A record that could not be stored."""

    ingest_run_id: str
    source_path: str
    line: int
    byte_offset: int
    format: str
    reason: str
    detail: str
    raw: bytes


class IngestRunRow(TypedDict):
    """One input file of one run."""

    ingest_run_id: str
    started_at: datetime
    source_path: str
    file_sha256: str | None
    file_size: int | None
    format: str | None
    records_read: int
    records_new: int
    records_quarantined: int
    status: str
    detail: str
