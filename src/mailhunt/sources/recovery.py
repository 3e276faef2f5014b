"""Recovery: a file DuckDB could not read as it is, read again without its bad records.

DuckDB reads a whole file in one statement; one record it cannot take (a CSV row with a stray
quote or a column too many, a row cut short at the end of the file, a JSON line longer than
its object limit) fails the statement and, without this, the file. Framing knows every
record's span, so the bad ones can be set aside: `replace_spans` writes a work copy of the
file in which each record framing flagged is replaced by a one-line placeholder that DuckDB
reads as an empty row (dropped and quarantined like any row framing rejected). Every other
record keeps its place, so rows still pair with frames by ordinal and the pairing check holds;
the spans stay those of the original file, so evidence is its exact bytes.

CSV needs framing of its own for this (`frame_csv_strict`): the fast framing counts quotes,
which a stray quote throws off for the rest of the file. Here each record is parsed with
Python's csv module (strict): a record that does not parse, or has another number of cells
than the header, is flagged and framing goes on at the next line, so one stray quote costs
one line. It costs a pass in Python over the file (about 0.45 s for 40 MB of Purview CSV), paid
only by files DuckDB refused.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mailhunt.sources.framing import BOM, CHUNK_BYTES, MAX_RECORD_BYTES, Framed


@dataclass(frozen=True)
class _Line:
    """One physical line: its number, where it starts, its length with its terminator, its
    bytes (None for a line too long to hold) and the length of its terminator (LF, CRLF)."""

    number: int
    offset: int
    length: int
    data: bytes | None
    terminator: int

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def content_end(self) -> int:
        return self.end - self.terminator


class _TooLong(Exception):
    """A line longer than MAX_RECORD_BYTES reached the CSV parser."""


class _Feeder:
    """The text lines the csv module parses, from a position of the file; remembers the lines
    handed out since the last `take` (the lines of the record being parsed). A line that is
    not UTF-8 raises UnicodeDecodeError (DuckDB refuses it too); NUL characters are read as
    spaces (the csv module refuses them, DuckDB does not)."""

    def __init__(self, stream: BinaryIO, offset: int, number: int) -> None:
        self._lines = _physical_lines(stream, offset, number)
        self.pending: list[_Line] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.pending.append(line)
        if line.data is None:
            raise _TooLong
        return line.data.decode("utf-8").replace("\0", " ")

    def take(self) -> list[_Line]:
        taken, self.pending = self.pending, []
        return taken


def _physical_lines(stream: BinaryIO, offset: int, number: int) -> Iterator[_Line]:
    """The lines of the file from `offset` (line `number` + 1 on); a line over
    MAX_RECORD_BYTES is given without its bytes (never held in memory)."""
    stream.seek(offset)
    while data := stream.readline(MAX_RECORD_BYTES + 1):
        length = len(data)
        number += 1
        last, long = data, length > MAX_RECORD_BYTES and not data.endswith(b"\n")
        while long and not last.endswith(b"\n") and (more := stream.readline(CHUNK_BYTES)):
            last = last[-1:] + more  # the CR of a CRLF split between reads stays seen
            length += len(more)
        terminator = 2 if last.endswith(b"\r\n") else int(last.endswith(b"\n"))
        yield _Line(number, offset, length, None if long else data, terminator)
        offset += length


@dataclass
class _Spans:
    """The records framed so far. After a record whose quotes broke, the lines that are no
    record either are the rest of it (the lines of a multi-line cell): they join it, so one
    broken record is one quarantined record, not one per line."""

    size: int  # the file's
    lines: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    joinable: bool = False  # the last record's quotes broke: what does not parse joins it

    def good(self, first: _Line, end: int) -> None:
        too_large = end - first.offset > MAX_RECORD_BYTES
        self._add(first, end, "record_too_large" if too_large else None)
        self.joinable = False

    def bad(self, first: _Line, last: _Line, error: str, *, broken_quotes: bool = False) -> None:
        """A record that could not be read, from its first line to its last. A line opening a
        quoted cell (a quote, then neither a quote nor a delimiter) starts a record of its own:
        inside a quoted cell a quote is doubled or closes the cell, so no line of a multi-line
        cell starts so (two stray quotes in a row are two records, not one)."""
        if self.joinable and not (broken_quotes and _opens_cell(first.data)):
            self.lengths[-1] = last.content_end - self.offsets[-1]
        else:
            self._add(first, last.content_end, error)
            self.joinable = broken_quotes
        if self.joinable and last.end >= self.size:  # it ran to the end of the file
            self.errors[len(self.offsets) - 1] = "truncated_record"

    def _add(self, first: _Line, end: int, error: str | None) -> None:
        if error:
            self.errors[len(self.offsets)] = error
        self.lines.append(first.number)
        self.offsets.append(first.offset)
        self.lengths.append(end - first.offset)


_NOT_OPENING = (b'"', b",", b"\r", b"\n", b"")  # after a doubled, or a closing, quote


def _opens_cell(data: bytes | None) -> bool:
    """Does the line start with a quote opening a cell (not a doubled or closing quote)?"""
    return data is not None and data[:1] == b'"' and data[1:2] not in _NOT_OPENING


def frame_csv_strict(path: Path, sha256: str, *, preamble_lines: int = 0) -> Framed | None:
    """Spans of a CSV file's records after the header, each parsed: a record that does not
    parse strictly or has another number of cells than the header gets a framing error
    (csv_quoting, csv_columns, truncated_record at the end of the file, record_too_large) and
    framing goes on at its next line. None when the header itself cannot be read."""
    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)  # process-wide: the default (128 KiB) is less
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        spans = _Spans(size)
        stream.seek(0)
        start = len(BOM) if stream.read(len(BOM)) == BOM else 0
        feeder = _Feeder(stream, start, 0)
        try:
            for _ in range(preamble_lines):
                next(feeder)
            columns = len(next(csv.reader(feeder, strict=True)))
        except (StopIteration, csv.Error, _TooLong, UnicodeDecodeError):
            return None
        feeder.take()
        going: _Feeder | None = feeder
        while going is not None:
            going = _frame_records(stream, going, columns, spans)
    return Framed(
        path=path,
        sha256=sha256,
        size=size,
        lines=np.array(spans.lines, dtype=np.int64),
        offsets=np.array(spans.offsets, dtype=np.int64),
        lengths=np.array(spans.lengths, dtype=np.int64),
        errors=spans.errors,
    )


def _frame_records(
    stream: BinaryIO, feeder: _Feeder, columns: int, spans: _Spans
) -> _Feeder | None:
    """Frame records until the file ends (None) or one does not parse: that record's first
    line is flagged, and a feeder from the next line is returned."""
    try:
        for row in csv.reader(feeder, strict=True):
            lines = feeder.take()
            first, last = lines[0], lines[-1]
            if len(lines) == 1 and not (first.data or b"x").strip():
                continue  # a blank line (DuckDB skips it too); NULs or `""` are a record
            if len(row) == columns:
                spans.good(first, last.content_end)
            elif last.end >= spans.size and not last.terminator:
                spans.bad(first, last, "truncated_record")
            else:
                spans.bad(first, last, "csv_columns")
    except (csv.Error, _TooLong, UnicodeDecodeError) as failure:
        lines = feeder.take()
        first = lines[0]
        if isinstance(failure, _TooLong) and len(lines) == 1:
            spans.bad(first, first, "record_too_large")
        elif isinstance(failure, UnicodeDecodeError) and len(lines) == 1:
            spans.bad(first, first, "invalid_utf8")
        else:
            spans.bad(first, first, "csv_quoting", broken_quotes=True)
        return _Feeder(stream, first.end, first.number)
    return None


def replace_spans(framed: Framed, work: Path, placeholder: bytes) -> Path:
    """A work copy of the framed file where every record with a framing error is replaced by
    `placeholder` (one line, read as an empty row): DuckDB reads one row per frame, in order."""
    target = work / f"{uuid.uuid4().hex}-recovered{''.join(framed.path.suffixes[-1:])}"
    with framed.path.open("rb") as source, target.open("wb") as out:
        position = 0
        for index in sorted(framed.errors):
            offset, length = int(framed.offsets[index]), int(framed.lengths[index])
            _copy(source, out, position, offset - position)
            out.write(placeholder)
            position = offset + length
        _copy(source, out, position, None)
    return target


def rewrite_records(framed: Framed, work: Path, head: bytes, placeholder: bytes) -> Path:
    """A work copy of a CSV file: `head` (its preamble and header), then each framed record on
    a line of its own ending in LF, a record with a framing error replaced by `placeholder`.
    The same records in the same order (rows pair with frames by ordinal), without what
    DuckDB's CSV sniffer refuses around them: blank lines, mixed line ends (CRLF and LF)."""
    target = work / f"{uuid.uuid4().hex}-recovered{''.join(framed.path.suffixes[-1:])}"
    with framed.path.open("rb") as source, target.open("wb") as out:
        out.write(head)
        for index, (offset, length) in enumerate(
            zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True)
        ):
            if index in framed.errors:
                out.write(placeholder)
            else:
                _copy(source, out, offset, length)
            out.write(b"\n")
    return target


def csv_head(path: Path, framed: Framed) -> bytes:
    """The lines of a CSV file before its first record (preamble, header; BOM kept), blank
    lines dropped, each ending in LF."""
    end = int(framed.offsets[0]) if len(framed) else None
    with path.open("rb") as stream:
        data = stream.read(end) if end is not None else stream.read()
    lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
    return b"".join(line + b"\n" for line in lines if line.strip(b" \t\r\f\v"))


def _copy(source: BinaryIO, out: BinaryIO, offset: int, length: int | None) -> None:
    """Copy `length` bytes (None: to the end) from `offset` of source to out, in chunks."""
    source.seek(offset)
    while length is None or length > 0:
        chunk = source.read(CHUNK_BYTES if length is None else min(length, CHUNK_BYTES))
        if not chunk:
            return
        out.write(chunk)
        if length is not None:
            length -= len(chunk)
