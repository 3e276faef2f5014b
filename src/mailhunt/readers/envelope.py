"""Records inside the envelopes other tools wrap them in: one generic unwrap step.

Log shippers and SIEMs keep the record a source wrote inside a document of their own: Wazuh's
office365 integration (``{"integration": "office365", "office365": {...}}``, in ``alerts.json``
under ``data``), Elastic documents that keep the original in ``event.original`` (or a
``_source`` around it, as ``_search`` and exports give them), Splunk exports (``_raw``, or
``result._raw`` in the REST export's lines), Graylog, Logstash and Filebeat (``message``,
GELF's ``full_message``). The wrapped record is a JSON object, JSON text in a string, or a plain
log line (a Dovecot line shipped by Filebeat).

This reader frames the outer records (JSON lines, or an array or pages of them), unwraps each
one, and hands the inner records to the formats as if they were the file: JSON records go to a
work file read like JSON lines, log lines become the text reader's lines. Every row keeps the
outer record's span: evidence points at the exact bytes of the document the tool exported,
which hold the source's record. Sniffing offers the unwrapped records first; when no format
claims them, the file is sniffed as it is (this reader settles nothing).

References: Wazuh office365 module docs (``integration`` / ``office365`` fields); Elastic
Common Schema ``event.original``; Splunk ``_raw``; GELF 1.1 ``short_message``/``full_message``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import SNIFF_RECORDS, Layout, Reader
from mailhunt.readers.json_array import array_records
from mailhunt.readers.json_lines import json_read_sql, line_records
from mailhunt.readers.text import TEXT_ROWS_SQL
from mailhunt.sources.framing import BOM, Framed, frame_array, frame_lines
from mailhunt.sources.quarantine import REASONS, judge

MAX_DEPTH = 3  # envelopes inside envelopes: Elastic's _source around event.original
DYNAMIC = "{integration}"  # a path step named by the record's own `integration` field


@dataclass(frozen=True)
class Envelope:
    """Where one kind of tool keeps the record it wraps (the first path present wins)."""

    name: str
    paths: tuple[tuple[str, ...], ...]


ENVELOPES = (
    Envelope("wazuh", ((DYNAMIC,), ("data", DYNAMIC))),
    Envelope("elastic-source", (("_source",),)),
    Envelope("elastic-event-original", (("event", "original"),)),
    Envelope("splunk-raw", (("_raw",), ("result", "_raw"))),
    Envelope("message", (("full_message",), ("message",))),
)


def _lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a path (nested objects, or one dotted key as flattened exports write);
    the step DYNAMIC is named by the `integration` field beside it (Wazuh)."""
    value: Any = record
    for step in path:
        if not isinstance(value, dict):
            value = None
            break
        name = str(value.get("integration") or "") if step == DYNAMIC else step
        value = value.get(name) if name else None
    if value is None and len(path) > 1 and DYNAMIC not in path:
        value = record.get(".".join(path))
    return value


def unwrap(record: object, depth: int = 0) -> tuple[str, dict[str, Any] | str] | None:
    """(envelope names, the wrapped record: an object, or a log line) or None."""
    if not isinstance(record, dict) or depth >= MAX_DEPTH:
        return None
    for envelope in ENVELOPES:
        for path in envelope.paths:
            inner = _lookup(record, path)
            if isinstance(inner, str):
                inner = _parsed(inner)
            if isinstance(inner, dict):
                deeper = unwrap(inner, depth + 1)
                if deeper is not None:
                    return f"{envelope.name}/{deeper[0]}", deeper[1]
                return envelope.name, inner
            if isinstance(inner, str) and inner.strip():
                return envelope.name, inner
    return None


def _parsed(text: str) -> dict[str, Any] | str:
    """JSON text holding an object, parsed; anything else stays text."""
    if text.lstrip()[:1] != "{":
        return text
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, dict) else text


def _outer_records(path: Path, head: bytes) -> tuple[str, list[object]]:
    """The first outer records and how they are laid out."""
    text = head.removeprefix(BOM).lstrip()
    lines: list[object] = [r for r in line_records(text) if isinstance(r, dict)]
    if lines:
        return "json-lines", lines
    return "json-array", array_records(path, head)


class JsonEnvelope(Reader):
    name = "json-envelope"
    kind = "json"
    order = 5
    exclusive = False

    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        outer, records = _outer_records(path, head)
        sampled = records[:SNIFF_RECORDS]
        inners = [u[1] for u in map(unwrap, sampled) if u is not None]
        if not inners or 2 * len(inners) < len(sampled):  # most records are envelopes
            return None
        if all(isinstance(i, dict) for i in inners):
            dicts = tuple(i for i in inners if isinstance(i, dict))
            return Sample("json", dicts, name=path.name), Layout(self, outer=outer, inner="json")
        if all(isinstance(i, str) for i in inners):
            lines = tuple(str(i).splitlines()[0] if str(i).strip() else "" for i in inners)
            return Sample("text", lines=lines, name=path.name), Layout(
                self, outer=outer, inner="text"
            )
        return None

    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        data = path.read_bytes()
        if layout.outer == "json-array":
            framed, _ = frame_array(path, data)
        else:
            framed = frame_lines(path, sha256=sha256)
        names: set[str] = set()
        if layout.inner == "text":
            texts: list[str | None] = []
            for index, (_, inner) in enumerate(_unwrapped(framed, data)):
                texts.append(inner[1] if inner and isinstance(inner[1], str) else None)
                if texts[-1] is None:
                    framed.errors.setdefault(index, "not_wrapped")
                names.update([inner[0]] if inner else [])
            framed.texts = texts
        else:
            framed.read_path = work / f"{framed.sha256}.envelope.jsonl"
            with framed.read_path.open("wb") as out:
                for raw, inner in _unwrapped(framed, data):
                    if inner and isinstance(inner[1], dict):
                        names.add(inner[0])
                        out.write(orjson.dumps(inner[1]) + b"\n")
                    else:  # read as it is: a row lacking the record's fields, judged below
                        out.write(raw.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n")
        framed.note = f"records unwrapped from {', '.join(sorted(names))} envelopes"
        return framed

    def rows_sql(self, fmt: Format) -> str:
        return TEXT_ROWS_SQL if fmt.reader == "text" else json_read_sql(fmt)

    def numbers_rows(self, fmt: Format) -> bool:
        return fmt.reader == "text" or not fmt.one_row_per_record

    def judge(
        self, raw: bytes, framing_error: str | None, fmt: Format, path: Path
    ) -> tuple[str, str]:
        """Judged by the wrapped record, as the format would judge it unwrapped."""
        if framing_error and framing_error != "not_wrapped":
            return judge(raw, framing_error, fmt.id_field, fmt.time_field, "json")
        try:
            unwrapped = unwrap(orjson.loads(raw))
        except orjson.JSONDecodeError:
            return judge(raw, None, fmt.id_field, fmt.time_field, "json")
        if unwrapped is None or isinstance(unwrapped[1], str) != (fmt.reader == "text"):
            return "not_wrapped", REASONS["not_wrapped"]
        name, inner = unwrapped
        inner_raw = inner.encode() if isinstance(inner, str) else orjson.dumps(inner)
        reason, detail = judge(inner_raw, None, fmt.id_field, fmt.time_field, fmt.reader)
        return reason, f"{detail} (in a {name} envelope)"


def _unwrapped(
    framed: Framed, data: bytes
) -> Iterator[tuple[bytes, tuple[str, dict[str, Any] | str] | None]]:
    """Each outer record's bytes and what it wraps (None: not an envelope, or not JSON)."""
    for offset, length in zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True):
        raw = data[offset : offset + length]
        try:
            yield raw, unwrap(orjson.loads(raw))
        except orjson.JSONDecodeError:
            yield raw, None


READER = JsonEnvelope()
