"""A blast radius as CSV: one row per mailbox, message, synced folder, blind window, action and
record (column ``section``), cells guarded against spreadsheet formulas."""

from __future__ import annotations

from mailhunt.investigate.model import BlastRadius
from mailhunt.report.encode import csv_text
from mailhunt.report.incidents import radius_csv_fields, radius_rows
from mailhunt.report.renderers.base import BLAST_RADIUS, Renderer


def blast_radius_csv(radius: BlastRadius) -> str:
    names = radius_csv_fields()
    rows = (
        {n: (_flat(row[n]) if n in row else None) for n in names} for row in radius_rows(radius)
    )
    return csv_text(names, rows)


def _flat(value: object) -> object:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [f"{p.get('name')}={p.get('value')}" for p in value]
    return value


RENDERER = Renderer(BLAST_RADIUS, "csv", blast_radius_csv, "for spreadsheets")
