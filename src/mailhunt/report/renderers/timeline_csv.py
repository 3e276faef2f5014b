"""A timeline as CSV, cells guarded against spreadsheet formulas."""

from __future__ import annotations

from mailhunt.report.renderers.base import TIMELINE, Renderer
from mailhunt.report.timeline import timeline_csv

RENDERER = Renderer(TIMELINE, "csv", timeline_csv, "for spreadsheets")
