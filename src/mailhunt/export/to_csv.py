"""CSV for spreadsheets: alerts as ``alerts --format csv`` (the JSONL contract's fields, lists
joined with ``;``), every cell through the formula guard (``report.safe.csv_cell``): no cell
or list element a spreadsheet would run, control and bidi characters escaped."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from mailhunt.export.base import Export, Exporter, ExportFile
from mailhunt.export.data import AlertFinding, IncidentFinding
from mailhunt.export.subjects import ALERTS, INCIDENTS
from mailhunt.export.to_jsonl import plain
from mailhunt.investigate.model import AttributedRecord, Incident, MessageRead
from mailhunt.report.alerts import CSV_FIELDS, alert_record, to_csv
from mailhunt.report.encode import csv_text

INCIDENT_FIELDS = tuple(
    f.name for f in fields(Incident) if f.name not in ("notes", "blind_windows")
)
RECORD_FIELDS = ("incident_id", *(f.name for f in fields(AttributedRecord)))
MESSAGE_FIELDS = ("incident_id", *(f.name for f in fields(MessageRead)))


def alerts_csv(findings: list[AlertFinding]) -> list[ExportFile]:
    return [ExportFile("alerts.csv", to_csv([f.alert for f in findings]))]


def _rows(incident_id: str, items: list[Any]) -> list[dict[str, Any]]:
    return [{"incident_id": incident_id, **plain(asdict(item))} for item in items]


def incidents_csv(findings: list[IncidentFinding]) -> list[ExportFile]:
    """Four files in a directory: incidents (blind windows as a count), their alerts, the
    records attributed to the intruder, the messages read."""
    incidents, alerts, records, messages = [], [], [], []
    for finding in findings:
        incident = finding.radius.incident
        row = plain(asdict(incident))
        incidents.append({**row, "blind_windows": len(incident.blind_windows)})
        alerts += [{"incident_id": incident.id, **alert_record(a.alert)} for a in finding.alerts]
        records += _rows(incident.id, finding.radius.records)
        messages += _rows(incident.id, finding.radius.messages)
    return [
        ExportFile("incidents.csv", csv_text((*INCIDENT_FIELDS, "blind_windows"), incidents)),
        ExportFile("incident_alerts.csv", csv_text(("incident_id", *CSV_FIELDS), _why(alerts))),
        ExportFile("incident_records.csv", csv_text(RECORD_FIELDS, records)),
        ExportFile("incident_messages.csv", csv_text(MESSAGE_FIELDS, messages)),
    ]


def _why(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "why": None if r["why"] is None else json.dumps(r["why"])} for r in rows]


EXPORTER = Exporter(
    "csv",
    "for spreadsheets, formula-leading cells neutralised (incidents: a directory of four files)",
    (Export(ALERTS, alerts_csv), Export(INCIDENTS, incidents_csv)),
)
