"""OCSF Detection Findings (class 2004, category 2 Findings), one JSON object per line, each
validated with ``py-ocsf-models`` before it is written (a finding the models would drop a field
of, or reject, fails the export: it is a bug, never a silent loss).

Mapping of an alert (OCSF 1.x, https://schema.ocsf.io/classes/detection_finding):

- ``finding_info``: uid = alert id, title, desc = summary, types = [rule id], analytic (uid =
  rule id, name = title, type Rule), attacks (every ATT&CK id of the rule: technique and
  sub-technique with their names), first/last seen and created times;
- ``severity_id``: informational 1, low 2, medium 3, high 4, critical 5; ``status_id`` New (1),
  Suppressed (3) for an alert a suppression holds; ``time`` = when the alert was raised;
  ``start_time``/``end_time`` = its evidence's first and last; ``count`` = evidence records;
- ``metadata``: uid = alert id, product mailhunt and its version, OCSF version, the datetime
  profile (every time also as ``*_dt``), tenant when the alert has one;
- ``observables``: client IPs (IP Address), mailboxes (Email Address, or User Name when not an
  address), users (User Name), application ids (Resource UID), user agents (Other, typed
  "HTTP User-Agent": the models know no type 16);
- ``resources``: the mailboxes read; ``evidences``: one per access context (client IP,
  application, user agent: records, first/last seen, Entra session ids, token ids);
- ``unmapped``: the rest of the alerts JSONL contract (tenants, users, app ids, client IPs,
  evidence record ids, entity, techniques, why, suppression, campaign).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from mailhunt import __version__
from mailhunt.alerts.query import Alert
from mailhunt.errors import MailhuntError
from mailhunt.export import _attack
from mailhunt.export.base import Export, Exporter, ExportFile
from mailhunt.export.data import AccessContext, AlertFinding, IncidentFinding
from mailhunt.export.subjects import ALERTS, INCIDENTS
from mailhunt.export.to_jsonl import access_record, plain
from mailhunt.investigate.model import Incident
from mailhunt.report.alerts import iso_utc
from mailhunt.report.encode import jsonl

OCSF_VERSION = "1.5.0"  # the version py-ocsf-models 0.10 implements
SEVERITY_IDS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
STATUS_NEW, STATUS_SUPPRESSED = (1, "New"), (3, "Suppressed")
IP_ADDRESS, USER_NAME, EMAIL_ADDRESS, RESOURCE_UID, OTHER = 2, 4, 5, 10, 99
ANALYTIC_RULE = 1
DETECTION_FINDING = {
    "activity_id": 1,
    "activity_name": "Create",
    "category_uid": 2,
    "category_name": "Findings",
    "class_uid": 2004,
    "class_name": "Detection Finding",
    "type_uid": 200401,  # class_uid * 100 + activity_id
    "type_name": "Detection Finding: Create",
}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _times(prefix: str, moment: datetime) -> dict[str, Any]:
    """``prefix`` as epoch milliseconds and, for the datetime profile, ``prefix_dt``."""
    return {prefix: _ms(moment), f"{prefix}_dt": iso_utc(moment)}


def _attacks(techniques: list[str]) -> list[dict[str, Any]]:
    found = []
    for technique in dict.fromkeys(techniques):
        parent = technique.split(".", 1)[0]
        attack: dict[str, Any] = {
            "technique": {
                "uid": parent,
                "name": _attack.name(parent),
                "src_url": _attack.url(parent),
            }
        }
        if parent != technique:
            attack["sub_technique"] = {
                "uid": technique,
                "name": _attack.name(technique),
                "src_url": _attack.url(technique),
            }
        found.append(attack)
    return found


def _observable(
    name: str, type_id: int, value: str, type_name: str | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "type_id": type_id, "value": value}
    if type_name:
        found["type"] = type_name
    return found


def _observables(alert: Alert | Incident, access: list[AccessContext]) -> list[dict[str, Any]]:
    agents = dict.fromkeys(c.user_agent for c in access if c.user_agent)
    return [
        *(_observable("unmapped.client_ips", IP_ADDRESS, ip) for ip in alert.client_ips),
        *(
            _observable("resources.uid", EMAIL_ADDRESS if "@" in m else USER_NAME, m)
            for m in alert.mailboxes
        ),
        *(_observable("unmapped.users", USER_NAME, user) for user in alert.users),
        *(_observable("unmapped.app_ids", RESOURCE_UID, app) for app in alert.app_ids),
        *(
            _observable("evidences.data.user_agent", OTHER, agent, "HTTP User-Agent")
            for agent in agents
        ),
    ]


def _evidence(context: AccessContext) -> dict[str, Any]:
    return {"name": "access", "data": access_record(context)}


def _finding_info(finding: AlertFinding) -> dict[str, Any]:
    alert = finding.alert
    return {
        "uid": alert.id,
        "title": alert.title,
        "desc": alert.summary,
        "types": [alert.rule_id],
        "analytic": {
            "uid": alert.rule_id,
            "name": alert.title,
            "type": "Rule",
            "type_id": ANALYTIC_RULE,
        },
        "attacks": _attacks(alert.techniques or [alert.technique]),
        **_times("first_seen_time", alert.first_seen),
        **_times("last_seen_time", alert.last_seen),
        **_times("created_time", alert.created_at),
    }


def _metadata(uid: str, tenant_ids: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "uid": uid,
        "product": {"name": "mailhunt", "vendor_name": "mailhunt", "version": __version__},
        "version": OCSF_VERSION,
        "profiles": ["datetime"],
    }
    if len(tenant_ids) == 1:
        metadata["tenant_uid"] = tenant_ids[0]
    return metadata


def alert_finding(finding: AlertFinding) -> dict[str, Any]:
    """One alert as an OCSF Detection Finding (a plain dict, not yet validated)."""
    alert = finding.alert
    status_id, status = STATUS_SUPPRESSED if alert.suppressed_by is not None else STATUS_NEW
    return {
        **DETECTION_FINDING,
        "severity_id": SEVERITY_IDS.get(alert.severity, 99),
        "severity": alert.severity.capitalize(),
        "status_id": status_id,
        "status": status,
        "message": alert.summary,
        **_times("time", alert.created_at),
        **_times("start_time", alert.first_seen),
        **_times("end_time", alert.last_seen),
        "count": alert.event_count,
        "metadata": _metadata(alert.id, alert.tenant_ids),
        "finding_info": _finding_info(finding),
        "observables": _observables(alert, finding.access),
        "resources": [{"type": "Mailbox", "uid": m, "name": m} for m in alert.mailboxes],
        "evidences": [_evidence(c) for c in finding.access],
        "unmapped": {
            "tenant_ids": alert.tenant_ids,
            "users": alert.users,
            "app_ids": alert.app_ids,
            "client_ips": alert.client_ips,
            "event_ids": alert.event_ids,
            "entity": alert.entity,
            "techniques": alert.techniques,
            "why": alert.why,
            "suppressed_by": alert.suppressed_by,
            "campaign_id": alert.campaign_id,
        },
    }


class InvalidFindingError(MailhuntError):
    """An OCSF object the models reject or would change: a bug in the mapping."""


def validated(finding: dict[str, Any]) -> dict[str, Any]:
    """The finding, checked against py-ocsf-models' DetectionFinding: it must validate and
    dump back unchanged (a field the models do not know would be dropped: refused too)."""
    from py_ocsf_models.events.findings.detection_finding import (
        DetectionFinding,
    )
    from pydantic import ValidationError  # imported only when exporting OCSF

    uid = finding["finding_info"]["uid"]
    try:
        model = DetectionFinding.model_validate(finding)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidFindingError(f"OCSF finding {uid}: {where}: {first['msg']}") from None
    dumped = model.model_dump(mode="json", exclude_unset=True)
    if _canonical(dumped) != _canonical(finding):
        raise InvalidFindingError(f"OCSF finding {uid}: fields the models do not keep")
    return finding


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def alerts_ocsf(findings: list[AlertFinding]) -> list[ExportFile]:
    return [ExportFile("alerts.ocsf.jsonl", jsonl(validated(alert_finding(f)) for f in findings))]


# An incident's status (investigate.model.STATUSES) as OCSF's: New, In Progress, Resolved.
INCIDENT_STATUS = {
    "new": (1, "New"),
    "investigating": (2, "In Progress"),
    "contained": (2, "In Progress"),
    "resolved": (4, "Resolved"),
    "false-positive": (4, "Resolved"),
}


def incident_finding(finding: IncidentFinding) -> dict[str, Any]:
    """One incident as an OCSF Detection Finding: its alerts' techniques, access contexts and
    observables together; alert ids, attributed records, messages read and blind windows in
    ``unmapped``."""
    incident = finding.radius.incident
    status_id, status = INCIDENT_STATUS.get(incident.status, (99, incident.status))
    techniques = [t for a in finding.alerts for t in a.alert.techniques or [a.alert.technique]]
    access = [c for a in finding.alerts for c in a.access]
    summary = (
        f"{len(incident.mailboxes)} mailbox(es) in {len(incident.tenant_ids)} tenant(s), "
        f"{incident.message_count} message(s) read, {incident.event_count} record(s) attributed"
    )
    info = {
        "uid": incident.id,
        "title": incident.title,
        "desc": summary,
        "types": ["incident"],
        "analytic": {
            "uid": "incident",
            "name": "mailhunt incident",
            "type": "Rule",
            "type_id": ANALYTIC_RULE,
        },
        "attacks": _attacks(techniques),
        **_times("first_seen_time", incident.first_seen),
        **_times("last_seen_time", incident.last_seen),
        **_times("created_time", incident.created_at),
        **_times("modified_time", incident.updated_at),
    }
    return {
        **DETECTION_FINDING,
        "severity_id": SEVERITY_IDS.get(incident.severity, 99),
        "severity": incident.severity.capitalize(),
        "status_id": status_id,
        "status": status,
        "message": summary,
        **_times("time", incident.updated_at),
        **_times("start_time", incident.first_seen),
        **_times("end_time", incident.last_seen),
        "count": incident.event_count,
        "metadata": _metadata(incident.id, incident.tenant_ids),
        "finding_info": info,
        "observables": _observables(incident, access),
        "resources": [{"type": "Mailbox", "uid": m, "name": m} for m in incident.mailboxes],
        "evidences": [_evidence(c) for c in access],
        "unmapped": {
            "tenant_ids": incident.tenant_ids,
            "users": incident.users,
            "app_ids": incident.app_ids,
            "client_ips": incident.client_ips,
            "alert_ids": incident.alert_ids,
            "campaign_id": incident.campaign_id,
            "assignee": incident.assignee,
            "event_ids": incident.event_ids,
            "messages": incident.messages,
            "blind_windows": plain([asdict(w) for w in incident.blind_windows]),
            "merged_ids": incident.merged_ids,
        },
    }


def incidents_ocsf(findings: list[IncidentFinding]) -> list[ExportFile]:
    return [
        ExportFile("incidents.ocsf.jsonl", jsonl(validated(incident_finding(f)) for f in findings))
    ]


EXPORTER = Exporter(
    "ocsf",
    "OCSF 1.x Detection Findings (class 2004), one per line, validated",
    (Export(ALERTS, alerts_ocsf), Export(INCIDENTS, incidents_ocsf)),
)
