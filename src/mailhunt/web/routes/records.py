"""One record's original bytes (``mailhunt show``): shown as text (escaped), or downloaded
exactly as the source wrote them."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from mailhunt.investigate.evidence import EvidenceUnavailableError, original_bytes
from mailhunt.report.safe import terminal_lines
from mailhunt.web.routes.common import Access, Config, page

router = APIRouter()


@dataclass(frozen=True)
class RecordEvidence:
    record_id: str
    available: bool
    reason: str | None = None
    source: str | None = None
    source_ref: str | None = None
    sha256: str | None = None
    text: str | None = None  # the bytes as UTF-8 (undecodable bytes as \\xNN)
    base64: str | None = None  # the exact bytes


def _evidence(access: Access, record_id: str) -> RecordEvidence:
    with access.read() as store:
        try:
            found = original_bytes(store, record_id)
        except EvidenceUnavailableError as error:
            return RecordEvidence(record_id, available=False, reason=str(error))
    return RecordEvidence(
        record_id, True, None, found.source, found.source_ref, found.sha256,
        found.data.decode("utf-8", errors="backslashreplace"),
        base64.b64encode(found.data).decode("ascii"),
    )  # fmt: skip


@router.get("/api/records/{record_id}", tags=["records"], responses={404: {}})
def record_api(access: Access, record_id: str) -> RecordEvidence:
    """A record's original bytes and where they come from (unavailable: the file changed)."""
    return _evidence(access, record_id)


@router.get("/records/{record_id}", response_class=HTMLResponse, include_in_schema=False)
def record_page(access: Access, settings: Config, record_id: str) -> HTMLResponse:
    found = _evidence(access, record_id)
    shown = terminal_lines(found.text) if found.text is not None else None
    return page(settings, "record.html.j2", record=found, shown=shown)


@router.get("/records/{record_id}/raw", include_in_schema=False)
def record_raw(access: Access, record_id: str) -> Response:
    found = _evidence(access, record_id)
    if found.base64 is None:
        return Response(found.reason or "unavailable", status_code=410, media_type="text/plain")
    return Response(
        base64.b64decode(found.base64),
        media_type="application/octet-stream",
        headers={"Content-Disposition": 'attachment; filename="record.bin"'},
    )
