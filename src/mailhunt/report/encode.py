"""The two machine encodings every record renderer uses: JSON Lines and CSV (cells guarded
against formulas, list cells joined with ';')."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from mailhunt.report.safe import csv_cell


def jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """One JSON object a line."""
    return "".join(orjson.dumps(record).decode() + "\n" for record in records)


def csv_text(names: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str:
    """A header row, then one row per record in the order of `names`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow(
            [
                csv_cell(";".join(v) if isinstance(v, list) else v)
                for v in (record[name] for name in names)
            ]
        )
    return buffer.getvalue()
