"""Alerts as JSON Lines: the contract other tools build on (``report.alerts.JSONL_FIELDS``:
fields are added, never renamed)."""

from __future__ import annotations

from mailhunt.report.alerts import to_jsonl
from mailhunt.report.renderers.base import ALERTS, Renderer

RENDERER = Renderer(ALERTS, "jsonl", to_jsonl, "one JSON object per alert (a stable contract)")
