"""A JSON array of records, or pages of them (`{"value": [...]}`, `{"records": [...]}`,
`{"items": [...]}`, several pages in one file), or one lone object: Management Activity API
content blobs, Graph pages, Event Hub messages. A scanner finds each element's span; the
elements are rewritten one per line into a work file that DuckDB reads like JSON Lines, and the
spans map back to the original file (evidence points at the original bytes)."""

from __future__ import annotations

from pathlib import Path

import orjson

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import SNIFF_RECORDS, Layout, Reader
from mailhunt.readers.json_lines import json_read_sql
from mailhunt.sources.framing import BOM, ArrayScanError, Framed, frame_array


def array_records(path: Path, head: bytes) -> list[object]:
    """The first elements of a JSON array (or page) whose start is `head`."""
    try:
        framed, _ = frame_array(path, head)
    except ArrayScanError:
        return []
    records = []
    for offset, length in zip(
        framed.offsets[:SNIFF_RECORDS].tolist(),
        framed.lengths[:SNIFF_RECORDS].tolist(),
        strict=True,
    ):
        try:
            records.append(orjson.loads(head[offset : offset + length]))
        except orjson.JSONDecodeError:
            continue
    return records


def is_empty_container(path: Path, head: bytes) -> bool:
    """An empty array or page (`[]`, `{"value": []}`): common as the last page of an API."""
    if head.removeprefix(BOM).lstrip()[:1] not in (b"[", b"{"):
        return False
    try:
        framed, broken_at = frame_array(path, head)
    except ArrayScanError:
        return False
    return len(framed) == 0 and broken_at is None


class JsonArray(Reader):
    name = "json-array"
    kind = "json"
    order = 20

    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        if head.removeprefix(BOM).lstrip()[:1] not in (b"[", b"{"):
            return None
        records = [r for r in array_records(path, head) if isinstance(r, dict)]
        if not records:
            return None
        return Sample("json", tuple(records), name=path.name), Layout(self)

    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        data = path.read_bytes()
        framed, broken_at = frame_array(path, data)
        framed.read_path = work / f"{framed.sha256}.jsonl"
        with framed.read_path.open("wb") as out:
            for index, (offset, length) in enumerate(
                zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True)
            ):
                if index in framed.errors:  # flagged (cut, too large, too deep): an empty row
                    out.write(b"{}\n")
                    continue
                element = data[offset : offset + length]
                out.write(element.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n")
        if broken_at is not None:
            framed.note = f"array not closed properly after byte {broken_at}"
        return framed

    def rows_sql(self, fmt: Format) -> str:
        return json_read_sql(fmt)

    def batchable(self, fmt: Format) -> bool:
        return fmt.one_row_per_record


READER = JsonArray()
