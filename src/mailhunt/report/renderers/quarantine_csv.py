"""Quarantined records as CSV, cells guarded against spreadsheet formulas."""

from __future__ import annotations

from mailhunt.investigate.quarantine import QuarantineListing
from mailhunt.report.quarantine import quarantine_csv
from mailhunt.report.renderers.base import QUARANTINE, Renderer


def _csv(listing: QuarantineListing) -> str:
    return quarantine_csv(listing.records)


RENDERER = Renderer(QUARANTINE, "csv", _csv, "for spreadsheets")
