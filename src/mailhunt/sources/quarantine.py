"""Why a record could not be stored: the reason for each suspect row, decided from its bytes.

Only the rows that DuckDB could not map (or that framing flagged) come here, so this path may
look at each record in Python: it decides the precise reason a defender will read. A file of
nothing but bad records must not cost a Python judgement (and a stored row) per record: past
QUARANTINE_KEEP records a file's quarantine is a sample (`kept_places`: the first ones and some
spread over the rest); the others are counted by a reason known without reading them (their
framing error, or ``not_judged``) and the file's note says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import orjson

from mailhunt.sources.archives import QUARANTINE_KEEP, STOP_REASONS
from mailhunt.sources.framing import MAX_NESTING, MAX_RECORD_BYTES, nesting_depth

RAW_KEEP_BYTES = 4096
# Of those kept past the first ones, how many are spread over the rest of the file.
QUARANTINE_SPREAD = 100

REASONS = {
    "record_too_large": f"record longer than {MAX_RECORD_BYTES} bytes",
    "nesting_too_deep": f"JSON nesting deeper than {MAX_NESTING}",
    "invalid_utf8": "record is not valid UTF-8",
    "invalid_json": "record is not valid JSON",
    "not_object": "record is not a JSON object",
    "missing_id": "record has no id",
    "missing_time": "record has no time",
    "bad_time": "record time cannot be parsed",
    "unrecognised_line": "line does not match the format's pattern",
    "missing_fields": "record lacks its id or time, or they cannot be parsed",
    "not_wrapped": "record does not hold a wrapped record where its file's others do",
    "csv_columns": "CSV record has another number of columns than the header",
    "csv_quoting": "CSV record's quotes are malformed (a stray or unclosed quote)",
    "truncated_record": "the file ends inside this record (cut short)",
    "not_judged": "not judged: over the file's quarantine cap (counted, not kept)",
    "quarantine_cap": "how many of the file's quarantined records were counted, not kept",
    **STOP_REASONS,
}


@dataclass(frozen=True)
class Verdict:
    """A quarantined record: where, why, and its first bytes."""

    line: int
    byte_offset: int
    reason: str
    detail: str
    raw: bytes


def judge(
    raw: bytes, framing_error: str | None, id_field: str, time_field: str, reader: str = "json"
) -> tuple[str, str]:
    """(reason, detail) for one record that could not be mapped: the first check that fails."""
    if framing_error:
        return framing_error, REASONS[framing_error]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return "invalid_utf8", f"{REASONS['invalid_utf8']} (byte {error.start})"
    if reader != "json":
        if reader == "text":
            return "unrecognised_line", REASONS["unrecognised_line"]
        return "missing_fields", f"{REASONS['missing_fields']} ({id_field}, {time_field})"
    return _judge_json(raw, id_field, time_field)


def _judge_json(raw: bytes, id_field: str, time_field: str) -> tuple[str, str]:
    if nesting_depth(raw) > MAX_NESTING:
        return "nesting_too_deep", REASONS["nesting_too_deep"]
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return "invalid_json", f"{REASONS['invalid_json']}: {str(error)[:120]}"
    if not isinstance(value, dict):
        return "not_object", f"{REASONS['not_object']} (a {type(value).__name__})"
    return _missing_field(value, id_field, time_field)


def field_value(record: dict[str, Any], path: str) -> Any:
    """A field by dotted path ("properties.id", "id.time"); None where any step is missing."""
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _missing_field(record: dict[str, Any], id_field: str, time_field: str) -> tuple[str, str]:
    if field_value(record, id_field) in (None, ""):
        return "missing_id", f"{REASONS['missing_id']} ({id_field})"
    time_value = field_value(record, time_field)
    if time_value in (None, ""):
        return "missing_time", f"{REASONS['missing_time']} ({time_field})"
    return "bad_time", f"{REASONS['bad_time']}: {str(time_value)[:40]!r}"


def read_span(path: Path, offset: int, length: int, limit: int = RAW_KEEP_BYTES) -> bytes:
    """The first `limit` bytes of a record's span in its file."""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(min(length, limit))


def read_full_span(path: Path, offset: int, length: int) -> bytes:
    """A record's exact original bytes."""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(length)


def kept_places(count: int, keep: int = QUARANTINE_KEEP) -> list[int]:
    """Which of a file's `count` quarantined records (0-based, in file order) are kept: all
    up to `keep`; past it the first ones and QUARANTINE_SPREAD (at most a tenth of `keep`)
    spread evenly over the rest, so a defender sees where the bad records run to."""
    if count <= keep:
        return list(range(count))
    spread = min(QUARANTINE_SPREAD, keep // 10)
    first = keep - spread
    rest = count - first
    return list(range(first)) + sorted({first + (i * rest) // spread for i in range(spread)})


class SpanReader:
    """Reads records' bytes from one file kept open (``with SpanReader(path) as spans``)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stream: BinaryIO | None = None

    def __enter__(self) -> SpanReader:
        self._stream = self._path.open("rb")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()

    def read(self, offset: int, length: int) -> bytes:
        """The `length` bytes at `offset`."""
        if self._stream is None:
            raise ValueError("use SpanReader as a context manager")
        self._stream.seek(offset)
        return self._stream.read(length)
