"""Quarantined records for tools (JSON Lines, CSV): raw bytes as text with invalid bytes
escaped, so a bad record can be shown without being executed or breaking the output."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

import orjson

from mailhunt.investigate.quarantine import QuarantinedRecord
from mailhunt.report.safe import csv_cell


def quarantine_record(record: QuarantinedRecord) -> dict[str, Any]:
    values = asdict(record)
    values["raw"] = record.raw.decode("utf-8", errors="backslashreplace")
    return values


def quarantine_jsonl(records: list[QuarantinedRecord]) -> str:
    return "".join(orjson.dumps(quarantine_record(r)).decode() + "\n" for r in records)


def quarantine_csv(records: list[QuarantinedRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(QuarantinedRecord.__dataclass_fields__)
    writer.writerow(names)
    for record in records:
        values = quarantine_record(record)
        writer.writerow([csv_cell(values[name]) for name in names])
    return buffer.getvalue()
