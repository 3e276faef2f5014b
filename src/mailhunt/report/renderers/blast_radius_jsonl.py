"""A blast radius as JSON Lines: one object per row, ``incident_id`` and ``section`` (mailbox,
message, sync, blind-window, action, record) first, then that section's fields."""

from __future__ import annotations

from mailhunt.investigate.model import BlastRadius
from mailhunt.report.encode import jsonl
from mailhunt.report.incidents import radius_rows
from mailhunt.report.renderers.base import BLAST_RADIUS, Renderer


def blast_radius_jsonl(radius: BlastRadius) -> str:
    return jsonl(radius_rows(radius))


RENDERER = Renderer(BLAST_RADIUS, "jsonl", blast_radius_jsonl, "one JSON object per row")
