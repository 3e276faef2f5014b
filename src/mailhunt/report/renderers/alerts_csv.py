"""Alerts as CSV, lists joined with ``;``, cells guarded against spreadsheet formulas."""

from __future__ import annotations

from mailhunt.report.alerts import to_csv
from mailhunt.report.renderers.base import ALERTS, Renderer

RENDERER = Renderer(ALERTS, "csv", to_csv, "for spreadsheets")
