"""The pairing check: DuckDB's rows are paired with framing's spans by ordinal; a reader that
skipped or split a record would shift every later pairing. A few staged rows spread evenly over
each file are checked against the bytes of their spans: the record id must be there. A file
that fails stores nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

PAIRING_SAMPLE = 32


def sample_ordinals(records: int) -> list[int]:
    """Up to PAIRING_SAMPLE ordinals (1-based) spread evenly over a file's records."""
    return sorted({round(x) for x in np.linspace(1, records, min(PAIRING_SAMPLE, records))})


def unpaired(rows: Iterable[tuple[Any, ...]], paths: Mapping[int, Path]) -> set[int]:
    """The files (places) where a sampled row's bytes do not hold its id. `rows` are
    (place, record_id, byte_offset, byte_length); a composite id ("<source id>|<suffix>") is
    checked by its source id."""
    failed: set[int] = set()
    streams: dict[int, BinaryIO] = {}
    try:
        for place, record_id, offset, length in rows:
            if place not in streams:
                streams[place] = paths[place].open("rb")
            streams[place].seek(offset)
            if not _holds_id(streams[place].read(length), str(record_id).split("|", 1)[0]):
                failed.add(place)
    finally:
        for stream in streams.values():
            stream.close()
    return failed


def _holds_id(raw: bytes, source_id: str) -> bool:
    """Whether a record's bytes carry the id: verbatim, JSON-escaped, either of them in a
    quoted CSV cell (each ``"`` doubled), or (escaped otherwise, e.g. \\u00e9 or \\/) among
    the string values of the parsed record."""
    forms = (source_id.encode(), orjson.dumps(source_id)[1:-1])
    if any(form in raw or form.replace(b'"', b'""') in raw for form in forms):
        return True
    try:
        return source_id in _strings(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return False


def _strings(value: object, depth: int = 0) -> set[str]:
    """Every string value of a parsed record (to a bounded depth)."""
    if isinstance(value, str):
        return {value}
    children: list[object] = []
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    if depth > 8:
        return set()
    return set().union(*(_strings(child, depth + 1) for child in children))
