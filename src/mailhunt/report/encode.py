"""The two machine encodings every record renderer uses, each through its sanitiser
(:mod:`mailhunt.report.safe`):

- JSON Lines: one compact object a line, fields in the order given (the contract order of
  ``report.alerts.JSONL_FIELDS``). Lossless: control, bidi and other unsafe characters are
  written as JSON escapes (``\\u009b``, ``\\u202e``), so a parser reads back the same strings and
  a terminal showing the file obeys none of them.
- CSV: a header row, then cells guarded by :func:`~mailhunt.report.safe.csv_cell` (lists joined
  with ``;``, unsafe characters escaped, every part a spreadsheet could run as a formula
  neutralised). For spreadsheets and reading, not exact: the exact values are in JSON Lines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from mailhunt.report.safe import csv_cell, json_text


def _json_line(record: Mapping[str, Any]) -> str:
    try:
        encoded = orjson.dumps(record).decode()
    except orjson.JSONEncodeError:  # a lone surrogate (a non-UTF-8 name): the standard encoder
        encoded = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return json_text(encoded)


def jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """One JSON object a line."""
    return "".join(_json_line(record) + "\n" for record in records)


def csv_text(names: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str:
    """A header row, then one row per record in the order of `names`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow([csv_cell(record[name]) for name in names])
    return buffer.getvalue()
