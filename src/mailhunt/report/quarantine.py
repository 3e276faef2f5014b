"""Quarantined records for tools (JSON Lines, CSV): raw bytes as text with invalid bytes
escaped, so a bad record can be shown without being executed or breaking the output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mailhunt.investigate.quarantine import QuarantinedRecord
from mailhunt.report.encode import csv_text, jsonl


def quarantine_record(record: QuarantinedRecord) -> dict[str, Any]:
    values = asdict(record)
    values["raw"] = record.raw.decode("utf-8", errors="backslashreplace")
    return values


def quarantine_jsonl(records: list[QuarantinedRecord]) -> str:
    return jsonl(quarantine_record(r) for r in records)


def quarantine_csv(records: list[QuarantinedRecord]) -> str:
    names = list(QuarantinedRecord.__dataclass_fields__)
    return csv_text(names, (quarantine_record(r) for r in records))
