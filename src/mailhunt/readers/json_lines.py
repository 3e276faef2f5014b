"""JSON Lines: one record per line (Management Activity API exports, SIEM exports, Sentinel
and Graph records written one per line). Framed in a thread while DuckDB reads the file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import (
    READ_OBJECT_LIMIT,
    SNIFF_RECORDS,
    Layout,
    Reader,
    columns_literal,
)
from mailhunt.sources.framing import BOM, Framed, frame_lines
from mailhunt.sources.recovery import replace_spans

# Keys of a page: a line holding a list under one of them is a page, not a record.
PAGE_KEYS = ("value", "records", "items")


def json_read_sql(fmt: Format) -> str:
    """read_json of `$read_paths` (one record per line) with the format's typed columns;
    `_ordinal` is the file's place in `$read_paths` (rows numbered by position once read), or
    row_number() (one core, one file) when the format's relation does not keep one row per
    record."""
    reader = (
        "read_json($read_paths, format = 'newline_delimited', ignore_errors = true, "
        f"maximum_object_size = {READ_OBJECT_LIMIT}, "
        f"columns = {columns_literal(fmt.columns)}, filename = '_path')"
    )
    key = (
        "list_position($read_paths, _path)::BIGINT"
        if fmt.one_row_per_record
        else "row_number() OVER ()"
    )
    return f"SELECT {key} AS _ordinal, * EXCLUDE (_path) FROM {reader}"


def line_records(text: bytes) -> list[object]:
    """The first lines of `text` that parse as JSON (not the whole head)."""
    records = []
    for line in text.split(b"\n", SNIFF_RECORDS)[:SNIFF_RECORDS]:
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return records


class JsonLines(Reader):
    name = "json-lines"
    kind = "json"
    order = 10
    threaded = True
    recovers = True

    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        text = head.removeprefix(BOM).lstrip()
        records = [r for r in line_records(text) if isinstance(r, dict)]
        if not records or any(isinstance(r.get(k), list) for r in records for k in PAGE_KEYS):
            return None
        return Sample("json", tuple(records), name=path.name), Layout(self)

    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        return frame_lines(path, sha256=sha256)

    def rows_sql(self, fmt: Format) -> str:
        return json_read_sql(fmt)

    def recover(self, framed: Framed, work: Path, layout: Layout) -> Framed | None:
        """Lines framing flagged (one over DuckDB's object limit fails the whole read) read as
        `{}`: an empty row each, quarantined with framing's reason."""
        if not framed.errors:
            return None
        return replace(framed, read_path=replace_spans(framed, work, b"{}"))

    def batchable(self, fmt: Format) -> bool:
        return fmt.one_row_per_record


READER = JsonLines()
