"""Alerts rendered for machines (JSON Lines, CSV) and people (table rows).

``alerts --format jsonl`` is a contract other tools build on: fields are added, never renamed.
Strings are exact; characters a terminal would obey (C1 controls, bidi overrides) are written as
JSON escapes (``\\u009b``, ``\\u202e``), which every JSON parser reads back as the same text.
"""

from __future__ import annotations

import json
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
    "techniques",  # every MITRE ATT&CK id of the rule, `technique` first
    "why",  # the analytic's JSON object (baseline, new, ...) or null
    "suppressed_by",  # the suppression holding the alert (listed with --include-suppressed)
    "campaign_id",  # the cross-tenant campaign (its alert's id) the alert belongs to, or null
)
CSV_FIELDS = JSONL_FIELDS
SHORT = 60  # characters of each part of a short why


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
    """CSV rows; ``why`` is its JSON text."""
    records = (alert_record(a) for a in alerts)
    return csv_text(CSV_FIELDS, ({**r, "why": _json(r["why"])} for r in records))


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def why_short(why: dict[str, Any] | None) -> str:
    """The why for people, on one line: 'baseline: ...; new: ...' (then the other keys), each
    value cut to SHORT characters; '' when there is none."""
    if not why:
        return ""
    order = ["baseline", "new", *sorted(k for k in why if k not in ("baseline", "new"))]
    return "; ".join(f"{key}: {_cut(why[key])}" for key in order if key in why)


def _cut(value: object) -> str:
    text = value if isinstance(value, str) else _json(value) or ""
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."
