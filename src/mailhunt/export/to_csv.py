"""CSV for spreadsheets: alerts as ``alerts --format csv`` (the JSONL contract's fields, lists
joined with ``;``), every cell through the formula guard (``report.safe.csv_cell``): no cell
or list element a spreadsheet would run, control and bidi characters escaped."""

from __future__ import annotations

from mailhunt.export.base import Export, Exporter, ExportFile
from mailhunt.export.data import AlertFinding
from mailhunt.export.subjects import ALERTS
from mailhunt.report.alerts import to_csv


def alerts_csv(findings: list[AlertFinding]) -> list[ExportFile]:
    return [ExportFile("alerts.csv", to_csv([f.alert for f in findings]))]


EXPORTER = Exporter(
    "csv", "for spreadsheets, formula-leading cells neutralised", (Export(ALERTS, alerts_csv),)
)
