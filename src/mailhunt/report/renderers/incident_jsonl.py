"""One incident as one JSON object (the fields of ``incidents --format jsonl``)."""

from __future__ import annotations

from mailhunt.investigate.model import Incident
from mailhunt.report.encode import jsonl
from mailhunt.report.incidents import incident_record
from mailhunt.report.renderers.base import INCIDENT, Renderer


def incident_jsonl(incident: Incident) -> str:
    return jsonl([incident_record(incident)])


RENDERER = Renderer(INCIDENT, "jsonl", incident_jsonl, "one JSON object")
