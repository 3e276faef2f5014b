"""Ingest: the last ingest per source format, the latest input files and the quarantine
(``mailhunt quarantine``: records that could not be stored, why, their first bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from mailhunt.investigate.overview import IngestRun, SourceIngest, ingest_runs, last_ingest
from mailhunt.investigate.quarantine import quarantine_listing
from mailhunt.report.safe import terminal_text
from mailhunt.web.routes.common import Access, Config, page

router = APIRouter()
RAW_SHOWN = 400  # bytes of a quarantined record shown


@dataclass(frozen=True)
class QuarantineRow:
    source_path: str
    line: int
    byte_offset: int
    format: str
    reason: str
    detail: str
    raw: str  # the first bytes as text, undecodable bytes as \\xNN
    ingest_run_id: str


@dataclass(frozen=True)
class Ingest:
    sources: list[SourceIngest]
    runs: list[IngestRun]
    quarantine_counts: dict[str, int]
    quarantine: list[QuarantineRow]


def _ingest(access: Access, reason: str | None, limit: int) -> Ingest:
    with access.read() as store:
        listing = quarantine_listing(store, reason=reason, limit=limit)
        return Ingest(
            last_ingest(store),
            ingest_runs(store, limit=limit),
            dict(listing.counts),
            [
                QuarantineRow(
                    r.source_path,
                    r.line,
                    r.byte_offset,
                    r.format,
                    r.reason,
                    r.detail,
                    r.raw[:RAW_SHOWN].decode("utf-8", errors="backslashreplace"),
                    r.ingest_run_id,
                )
                for r in listing.records
            ],
        )


Reason = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=5000)]


@router.get("/api/ingest", tags=["ingest"])
def ingest_api(access: Access, reason: Reason = None, limit: Limit = 500) -> Ingest:
    """Sources, ingest runs (newest first) and quarantined records (one reason if given)."""
    return _ingest(access, reason, limit)


@router.get("/ingest", response_class=HTMLResponse, include_in_schema=False)
def ingest_page(
    access: Access, settings: Config, reason: Reason = None, limit: Limit = 500
) -> HTMLResponse:
    found = _ingest(access, reason, limit)
    return page(settings, "ingest.html.j2", ingest=found, reason=reason or "", shown=terminal_text)
