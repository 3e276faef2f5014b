"""What an ingest run tells its caller: one result per input file, and the run's totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# ingested: read and stored; duplicate: the same content was stored before; skipped: no
# format recognised it; failed: recognised, but the reader could not take it.
FileStatus = Literal["ingested", "duplicate", "skipped", "failed"]


@dataclass(frozen=True)
class FileResult:
    """What happened to one input file."""

    path: Path
    format: str | None
    status: FileStatus
    records_read: int = 0
    records_new: int = 0
    quarantined: int = 0
    detail: str = ""
    warnings: Counter[str] = field(default_factory=Counter)
    skipped_lines: int = 0  # lines the format recognises as not records (not quarantined)


@dataclass
class IngestSummary:
    """What one ingest run did, file by file, with quarantine reasons counted."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def records_read(self) -> int:
        return sum(f.records_read for f in self.files)

    @property
    def records_new(self) -> int:
        return sum(f.records_new for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def all_stored(self) -> bool:
        """Was everything stored: every file ingested (or stored before), no record
        quarantined? (Lines a format skips as not records do not count.)"""
        return all(f.status in ("ingested", "duplicate") and not f.quarantined for f in self.files)
