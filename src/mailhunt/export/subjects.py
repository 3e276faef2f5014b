"""The subjects ``mailhunt export --what`` accepts, each declared once with its reader."""

from __future__ import annotations

from typing import Any

from mailhunt.export.base import Subject
from mailhunt.export.data import (
    AlertFinding,
    IncidentFinding,
    read_alert_findings,
    read_incident_findings,
)

ALERTS: Subject[AlertFinding] = Subject(
    "alerts", read_alert_findings, "alerts no suppression holds, with their evidence's access"
)

INCIDENTS: Subject[IncidentFinding] = Subject(
    "incidents",
    read_incident_findings,
    "live incidents with their alerts, attributed records and messages read",
)

SUBJECTS: dict[str, Subject[Any]] = {s.name: s for s in (ALERTS, INCIDENTS)}
