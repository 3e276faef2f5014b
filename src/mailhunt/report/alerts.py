"""Alerts rendered for machines (JSON Lines, CSV) and people (table rows).

``alerts --format jsonl`` is a contract other tools build on: fields are added, never renamed.
Strings are exact; characters a terminal would obey (C1 controls, bidi overrides) are written as
JSON escapes (``\\u009b``, ``\\u202e``), which every JSON parser reads back as the same text.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from mailhunt.alerts.query import Alert
from mailhunt.report.encode import csv_text, jsonl

JSONL_FIELDS = (
    "id",
    "rule_id",
    "title",
    "severity",
    "technique",
    "summary",
    "tenant_ids",
    "mailboxes",
    "users",
    "app_ids",
    "client_ips",
    "first_seen",
    "last_seen",
    "event_count",
    "event_ids",
    "entity",
    "created_at",
    "campaign_id",  # the cross-tenant campaign (its alert's id) the alert belongs to, or null
)
CSV_FIELDS = JSONL_FIELDS


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (or microsecond when present)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def alert_record(alert: Alert) -> dict[str, Any]:
    """The alert as a plain dict in contract field order, times as ISO 8601 UTC."""
    values = asdict(alert)
    record = {name: values[name] for name in JSONL_FIELDS}
    for name in ("first_seen", "last_seen", "created_at"):
        record[name] = iso_utc(values[name])
    return record


def to_jsonl(alerts: list[Alert]) -> str:
    return jsonl(alert_record(a) for a in alerts)


def to_csv(alerts: list[Alert]) -> str:
    return csv_text(CSV_FIELDS, (alert_record(a) for a in alerts))
