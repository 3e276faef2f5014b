"""Incidents as JSON Lines: the contract other tools build on (``report.incidents.INCIDENT_FIELDS``:
fields are added, never renamed)."""

from __future__ import annotations

from mailhunt.investigate.model import Incident
from mailhunt.report.encode import jsonl
from mailhunt.report.incidents import incident_record
from mailhunt.report.renderers.base import INCIDENTS, Renderer


def incidents_jsonl(incidents: list[Incident]) -> str:
    return jsonl(incident_record(i) for i in incidents)


RENDERER = Renderer(
    INCIDENTS, "jsonl", incidents_jsonl, "one JSON object per incident (a stable contract)"
)
