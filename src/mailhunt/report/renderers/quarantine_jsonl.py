"""Quarantined records as JSON Lines, raw bytes as text with invalid bytes escaped."""

from __future__ import annotations

from mailhunt.investigate.quarantine import QuarantineListing
from mailhunt.report.quarantine import quarantine_jsonl
from mailhunt.report.renderers.base import QUARANTINE, Renderer


def _jsonl(listing: QuarantineListing) -> str:
    return quarantine_jsonl(listing.records)


RENDERER = Renderer(QUARANTINE, "jsonl", _jsonl, "one JSON object per record")
