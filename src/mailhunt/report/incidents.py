"""Incidents and blast radius as plain records, in contract field order, for every renderer.

``INCIDENT_FIELDS`` is the JSON Lines contract of ``mailhunt incidents --format jsonl``: fields
are added, never renamed. Times are ISO 8601 UTC with a Z.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

from mailhunt.investigate.model import (
    AttributedRecord,
    BlastRadius,
    BlindWindow,
    FolderSync,
    Incident,
    MailboxAccess,
    MessageRead,
    RelatedAction,
)
from mailhunt.report.alerts import iso_utc

INCIDENT_FIELDS = (
    "id",
    "title",
    "severity",
    "tenant_ids",
    "mailboxes",
    "users",
    "alert_ids",
    "campaign_id",
    "event_ids",
    "messages",
    "first_seen",
    "last_seen",
    "blind_windows",
    "status",
    "assignee",
    "app_ids",
    "client_ips",
    "event_count",
    "message_count",
    "created_at",
    "updated_at",
    "merged_ids",
    "notes",
)
# CSV: one row per incident, long lists as counts (the lists are in JSON Lines).
INCIDENT_CSV_FIELDS = (
    "id",
    "title",
    "severity",
    "status",
    "assignee",
    "tenant_ids",
    "mailboxes",
    "users",
    "alert_ids",
    "campaign_id",
    "event_count",
    "message_count",
    "first_seen",
    "last_seen",
    "blind_windows",
)


def _plain(value: Any) -> Any:
    """JSON-ready: times as ISO text, dataclasses as dicts. Shallow where it can be: an
    incident's lists of ids hold up to millions of strings (``dataclasses.asdict`` deep-copied
    each one, most of the cost of listing incidents)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], str | int | float) and not isinstance(value[0], bool):
            return list(value)  # a list of ids or counts: nothing inside to convert
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def incident_record(incident: Incident) -> dict[str, Any]:
    """The incident as a plain dict in contract order."""
    return {name: _plain(getattr(incident, name)) for name in INCIDENT_FIELDS}


def incident_csv_record(incident: Incident) -> dict[str, Any]:
    record = incident_record(incident)
    windows = [
        f"{w.mailbox_upn} {iso_utc(w.window_start)}..{iso_utc(w.window_end)}"
        for w in incident.blind_windows
    ]
    return {**{n: record[n] for n in INCIDENT_CSV_FIELDS}, "blind_windows": windows}


# The blast radius as rows: one kind of row per section, each row naming its section.
SECTIONS: dict[str, type] = {
    "mailbox": MailboxAccess,
    "message": MessageRead,
    "sync": FolderSync,
    "blind-window": BlindWindow,
    "action": RelatedAction,
    "record": AttributedRecord,
}


def radius_rows(radius: BlastRadius) -> list[dict[str, Any]]:
    """Every row of the blast radius as a dict with ``incident_id`` and ``section`` first."""
    parts: list[tuple[str, list[Any]]] = [
        ("mailbox", list(radius.mailboxes)),
        ("message", list(radius.messages)),
        ("sync", list(radius.syncs)),
        ("blind-window", list(radius.blind_windows)),
        ("action", list(radius.actions)),
        ("record", list(radius.records)),
    ]
    rows = []
    for section, items in parts:
        for item in items:
            values = {f.name: _plain(getattr(item, f.name)) for f in fields(item)}
            if section == "action":
                values["parameters"] = [{"name": n, "value": v} for n, v in item.parameters]
            rows.append({"incident_id": radius.incident.id, "section": section, **values})
    return rows


def radius_csv_fields() -> list[str]:
    """Every column any section has, in a fixed order (a section leaves the others empty)."""
    names = ["incident_id", "section"]
    for kind in SECTIONS.values():
        names += [f.name for f in fields(kind) if f.name not in names]
    return names
