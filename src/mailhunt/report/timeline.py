"""A timeline for machines (JSON Lines, CSV): one object per record, or per session.

``timeline --format jsonl`` is a contract: fields are added (at the end), never renamed or
reordered. Times are ISO 8601 UTC; lists stay lists (CSV joins them with ``;``, each part
guarded); strings are exact in JSON Lines (unsafe characters as JSON escapes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from mailhunt.investigate.timeline import Session, TimelineRow, TimelineView
from mailhunt.report.alerts import iso_utc
from mailhunt.report.encode import csv_text, jsonl

ROW_FIELDS = (
    "time",
    "kind",  # signin, mail_access, send, inbox_rule, admin or other
    "operation",
    "result",
    "tenant_id",
    "actor",
    "mailbox",
    "client_ip",
    "country",
    "asn",
    "as_org",
    "app_id",
    "app_name",
    "client",
    "access_type",
    "messages",
    "folders",
    "throttled",
    "object_id",
    "session",
    "session_kind",
    "session_id",
    "principal",
    "new_entities",
    "record_id",
    "source",
)
SESSION_FIELDS = (
    "session",
    "session_kind",
    "session_id",
    "first_time",
    "last_time",
    "records",
    "principals",
    "client_ips",
    "countries",
    "asns",
    "app_ids",
    "app_names",
    "clients",
    "kinds",
    "messages",
    "new_entities",
)


def row_record(row: TimelineRow) -> dict[str, Any]:
    """The row as a plain dict in contract order, its time as ISO 8601 UTC."""
    values = asdict(row)
    record = {name: values[name] for name in ROW_FIELDS}
    record["time"] = iso_utc(row.time)
    record["folders"] = list(row.folders)
    record["new_entities"] = list(row.new_entities)
    return record


def session_record(session: Session) -> dict[str, Any]:
    """The session as a plain dict in contract order, times as ISO 8601 UTC."""
    values = asdict(session)
    values["session"], values["session_kind"] = session.number, session.kind
    record = {name: values[name] for name in SESSION_FIELDS}
    record["first_time"] = iso_utc(session.first_time)
    record["last_time"] = iso_utc(session.last_time)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}


def _records(view: TimelineView) -> tuple[tuple[str, ...], Iterable[dict[str, Any]]]:
    if view.sessions:
        return SESSION_FIELDS, (session_record(s) for s in view.timeline.sessions)
    return ROW_FIELDS, (row_record(r) for r in view.timeline.rows)


def timeline_jsonl(view: TimelineView) -> str:
    return jsonl(_records(view)[1])


def timeline_csv(view: TimelineView) -> str:
    names, records = _records(view)
    return csv_text(names, records)
