"""Incidents: alerts grouped by what links them, and each incident's blast radius.

Reading (``list_incidents``, ``get_incident``, ``blast_radius``) returns the typed rows of
:mod:`mailhunt.investigate.model` from the incident tables; ``build_incidents`` (in
:mod:`mailhunt.investigate.grouping`) fills them from the alerts.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailhunt.errors import InputError
from mailhunt.investigate.grouping import WINDOW_DAYS, BuildSummary, build_incidents
from mailhunt.investigate.model import (
    STATUSES,
    AttributedRecord,
    BlastRadius,
    BlindWindow,
    FolderSync,
    Incident,
    MailboxAccess,
    MessageRead,
    Note,
    RelatedAction,
)
from mailhunt.store.db import Store, utc_now

log = logging.getLogger(__name__)

__all__ = [
    "STATUSES",
    "WINDOW_DAYS",
    "BlastRadius",
    "BuildSummary",
    "Incident",
    "UnknownIncident",
    "blast_radius",
    "build_incidents",
    "get_incident",
    "list_incidents",
    "resolve_id",
    "set_incident",
]


class UnknownIncident(InputError):
    """No incident has that id."""


_INCIDENT_COLUMNS = (
    "id, title, severity, status, assignee, tenant_ids, mailboxes, users, app_ids, client_ips, "
    "alert_ids, campaign_id, first_seen, last_seen, event_count, message_count, created_at, "
    "updated_at"
)


def _incidents(store: Store, where: str, params: Sequence[Any]) -> list[Incident]:
    rows = store.query(
        f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE {where} ORDER BY first_seen, id",
        params,
    )
    if not rows:
        return []
    ids = [row[0] for row in rows]
    events = _lists(
        store,
        "SELECT incident_id, list_sort(list(record_id)) FROM incident_records "
        "WHERE list_contains(?, incident_id) GROUP BY incident_id",
        ids,
    )
    messages = _lists(
        store,
        "SELECT incident_id, list_sort(list(DISTINCT internet_message_id)) "
        "FROM incident_messages WHERE list_contains(?, incident_id) GROUP BY incident_id",
        ids,
    )
    merged = _lists(
        store,
        "SELECT merged_into, list_sort(list(id)) FROM incidents "
        "WHERE list_contains(?, merged_into) GROUP BY merged_into",
        ids,
    )
    windows: dict[str, list[BlindWindow]] = {}
    for row in store.query(
        "SELECT incident_id, tenant_id, mailbox_upn, window_start, window_end, reason, record_id "
        "FROM incident_blind_windows WHERE list_contains(?, incident_id) "
        "ORDER BY incident_id, window_start, mailbox_upn, record_id",
        [ids],
    ):
        windows.setdefault(row[0], []).append(BlindWindow(*row[1:]))
    notes: dict[str, list[Note]] = {}
    for row in store.query(
        "SELECT coalesce(i.merged_into, n.incident_id) AS owner, n.noted_at, n.author, n.kind, "
        "n.text FROM incident_notes n LEFT JOIN incidents i ON i.id = n.incident_id "
        "WHERE list_contains(?, coalesce(i.merged_into, n.incident_id)) ORDER BY n.noted_at",
        [ids],
    ):
        notes.setdefault(row[0], []).append(Note(*row[1:]))
    return [
        Incident(
            **_named(_INCIDENT_COLUMNS, row),
            event_ids=events.get(row[0], []),
            messages=messages.get(row[0], []),
            blind_windows=windows.get(row[0], []),
            notes=notes.get(row[0], []),
            merged_ids=merged.get(row[0], []),
        )
        for row in rows
    ]


_MESSAGE_COLUMNS = (
    "tenant_id, mailbox_upn, folder_path, internet_message_id, size_bytes, subject, first_read, "
    "last_read, reads"
)
_SYNC_COLUMNS = "tenant_id, mailbox_upn, folder_path, first_sync, last_sync, syncs, messages_known"
_ACTION_COLUMNS = "record_id, tenant_id, time, kind, operation, actor_upn, mailbox_upn, object_id"


def _named(columns: str, row: Sequence[Any]) -> dict[str, Any]:
    """A row's values by the names of the columns it was selected as."""
    names = [name.strip() for name in columns.split(",")]
    return dict(zip(names, row, strict=True))


def _lists(store: Store, sql: str, ids: list[str]) -> dict[str, list[str]]:
    return {str(key): list(values) for key, values in store.query(sql, [ids])}


def list_incidents(store: Store, *, status: str | None = None) -> list[Incident]:
    """Live incidents (those not merged into another), oldest first; only those of a status
    when given."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    return _incidents(
        store,
        "merged_into IS NULL AND len(alert_ids) > 0 AND (? IS NULL OR status = ?)",
        [status, status],
    )


def resolve_id(store: Store, incident_id: str) -> str:
    """The live incident an id names: itself, or the incident it was merged into (followed
    to the end). UnknownIncident when no incident has that id."""
    seen: set[str] = set()
    current = incident_id.strip()
    while current not in seen:
        seen.add(current)
        rows = store.query(
            "SELECT merged_into FROM incidents WHERE lower(id) = lower(?)", [current]
        )
        if not rows:
            raise UnknownIncident(f"no incident {incident_id!r} (see 'mailhunt incidents')")
        target = rows[0][0]
        if target is None:
            found = store.query("SELECT id FROM incidents WHERE lower(id) = lower(?)", [current])
            return str(found[0][0])
        current = str(target)
    raise UnknownIncident(f"incident {incident_id!r} is merged in a loop")  # never written so


def get_incident(store: Store, incident_id: str) -> Incident:
    """The incident with this id (or the one it was merged into); UnknownIncident if none."""
    return _incidents(store, "id = ?", [resolve_id(store, incident_id)])[0]


def blast_radius(store: Store, incident_id: str) -> BlastRadius:
    """Everything the incident's intruder touched, as stored by the last build."""
    incident = get_incident(store, incident_id)
    key = [incident.id]
    mailboxes = [
        MailboxAccess(*row)
        for row in store.query(
            "SELECT tenant_id, mailbox_upn, first_access, last_access, records, messages_read, "
            "bind_records, sync_records, folders_synced, messages_sent, changes, blind_windows "
            "FROM incident_mailboxes WHERE incident_id = ? ORDER BY first_access, mailbox_upn",
            key,
        )
    ]
    messages = [
        MessageRead(**_named(_MESSAGE_COLUMNS, row[:9]), record_ids=list(row[9]))
        for row in store.query(
            f"SELECT {_MESSAGE_COLUMNS}, record_ids FROM incident_messages WHERE incident_id = ? "
            "ORDER BY mailbox_upn, first_read, internet_message_id",
            key,
        )
    ]
    syncs = [
        FolderSync(**_named(_SYNC_COLUMNS, row[:7]), record_ids=list(row[7]))
        for row in store.query(
            f"SELECT {_SYNC_COLUMNS}, record_ids FROM incident_syncs WHERE incident_id = ? "
            "ORDER BY mailbox_upn, first_sync, folder_path",
            key,
        )
    ]
    actions = [
        RelatedAction(
            **_named(_ACTION_COLUMNS, row[:8]),
            parameters=[(p["name"], p["value"]) for p in (row[8] or [])],
        )
        for row in store.query(
            f"SELECT {_ACTION_COLUMNS}, parameters FROM incident_actions WHERE incident_id = ? "
            "ORDER BY time, record_id",
            key,
        )
    ]
    records = [
        AttributedRecord(*row)
        for row in store.query(
            "SELECT record_id, table_name, tenant_id, time, mailbox_upn, actor_upn, operation, "
            "client_ip, link FROM incident_records WHERE incident_id = ? ORDER BY time, record_id",
            key,
        )
    ]
    return BlastRadius(
        incident=incident,
        mailboxes=mailboxes,
        messages=messages,
        syncs=syncs,
        blind_windows=incident.blind_windows,
        actions=actions,
        records=records,
    )


def set_incident(
    store: Store,
    incident_id: str,
    *,
    status: str | None = None,
    assignee: str | None = None,
    note: str | None = None,
    author: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Change an incident's status or assignee and add a note; every change is journalled
    (incident_notes) with its time and author. Returns the incident as changed."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if status is None and assignee is None and not note:
        raise InputError("nothing to set: give --status, --assignee or --note")
    target = resolve_id(store, incident_id)
    who = author or _operator()
    at = now or utc_now()
    with store.transaction():
        before = store.query("SELECT status, assignee FROM incidents WHERE id = ?", [target])[0]
        journal: list[dict[str, Any]] = []
        if status is not None and status != before[0]:
            store.run(
                "UPDATE incidents SET status = ?, updated_at = ? WHERE id = ?", [status, at, target]
            )
            journal.append(_note(target, at, who, "status", f"status: {before[0]} -> {status}"))
        if assignee is not None and assignee != (before[1] or ""):
            store.run(
                "UPDATE incidents SET assignee = nullif(?, ''), updated_at = ? WHERE id = ?",
                [assignee, at, target],
            )
            shown = assignee or "nobody"
            journal.append(
                _note(target, at, who, "assignee", f"assignee: {before[1] or 'nobody'} -> {shown}")
            )
        if note:
            store.run("UPDATE incidents SET updated_at = ? WHERE id = ?", [at, target])
            journal.append(_note(target, at, who, "note", note))
        store.insert_rows("incident_notes", journal)
    return get_incident(store, target)


def _note(incident_id: str, at: datetime, author: str, kind: str, text: str) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "noted_at": at,
        "author": author,
        "kind": kind,
        "text": text,
    }


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in a container without passwd entry
        return "unknown"
