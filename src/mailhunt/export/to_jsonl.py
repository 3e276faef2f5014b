"""JSON Lines: one object per finding. An alert is the ``alerts --format jsonl`` contract
(``report.alerts.JSONL_FIELDS``, in that order, never renamed) followed by ``access``: its
evidence grouped by client IP, application and user agent (records, first and last seen,
Entra session ids, token ids). Strings are exact; unsafe characters are JSON escapes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from mailhunt.export.base import Export, Exporter, ExportFile
from mailhunt.export.data import AccessContext, AlertFinding, IncidentFinding
from mailhunt.export.subjects import ALERTS, INCIDENTS
from mailhunt.report.alerts import alert_record, iso_utc
from mailhunt.report.encode import jsonl

ACCESS_FIELDS = (
    "client_ip",
    "app_id",
    "user_agent",
    "records",
    "first_seen",
    "last_seen",
    "session_ids",
    "token_ids",
)


def access_record(context: AccessContext) -> dict[str, Any]:
    """An access context as a plain dict in ACCESS_FIELDS order, times ISO 8601 UTC."""
    record = {name: getattr(context, name) for name in ACCESS_FIELDS}
    record["first_seen"] = iso_utc(context.first_seen)
    record["last_seen"] = iso_utc(context.last_seen)
    return record


def finding_record(finding: AlertFinding) -> dict[str, Any]:
    return {
        **alert_record(finding.alert),
        "access": [access_record(c) for c in finding.access],
    }


def alerts_jsonl(findings: list[AlertFinding]) -> list[ExportFile]:
    return [ExportFile("alerts.jsonl", jsonl(finding_record(f) for f in findings))]


def plain(value: Any) -> Any:
    """Dataclass values (asdict) as JSON values: times ISO 8601 UTC, tuples as lists."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


RADIUS_PARTS = ("mailboxes", "messages", "syncs", "actions", "records")


def incident_record(finding: IncidentFinding) -> dict[str, Any]:
    """The incident's fields in contract order (its analysts' notes left out: they stay in the
    store), then its alerts as the alerts export, then its blast radius."""
    radius = finding.radius
    record: dict[str, Any] = plain(
        {k: v for k, v in asdict(radius.incident).items() if k != "notes"}
    )
    record["alerts"] = [finding_record(a) for a in finding.alerts]
    record["blast_radius"] = {
        part: plain([asdict(r) for r in getattr(radius, part)]) for part in RADIUS_PARTS
    }
    return record


def incidents_jsonl(findings: list[IncidentFinding]) -> list[ExportFile]:
    return [ExportFile("incidents.jsonl", jsonl(incident_record(f) for f in findings))]


EXPORTER = Exporter(
    "jsonl",
    "one JSON object per finding (the alerts JSONL contract, plus its evidence's access)",
    (Export(ALERTS, alerts_jsonl), Export(INCIDENTS, incidents_jsonl)),
)
