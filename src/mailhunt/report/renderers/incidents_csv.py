"""Incidents as CSV: one row each, lists joined with ``;`` (record and message ids counted,
listed in JSON Lines), cells guarded against spreadsheet formulas."""

from __future__ import annotations

from mailhunt.investigate.model import Incident
from mailhunt.report.encode import csv_text
from mailhunt.report.incidents import INCIDENT_CSV_FIELDS, incident_csv_record
from mailhunt.report.renderers.base import INCIDENTS, Renderer


def incidents_csv(incidents: list[Incident]) -> str:
    return csv_text(INCIDENT_CSV_FIELDS, (incident_csv_record(i) for i in incidents))


RENDERER = Renderer(INCIDENTS, "csv", incidents_csv, "for spreadsheets")
