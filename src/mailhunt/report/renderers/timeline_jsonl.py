"""A timeline as JSON Lines: one object per record (or per session with --sessions), fields
in the contract order of ``report.timeline``."""

from __future__ import annotations

from mailhunt.report.renderers.base import TIMELINE, Renderer
from mailhunt.report.timeline import timeline_jsonl

RENDERER = Renderer(TIMELINE, "jsonl", timeline_jsonl, "one JSON object per record or session")
