"""Frame records out of files: where each record starts and ends, never what it says.

Framing is the only stage that walks bytes. For a line-per-record file it finds newlines with
``bytes.find`` (memchr speed, one Python step per line, no object per record) and yields three
integer arrays: line number, byte offset, byte length. DuckDB parses the same file in parallel and
its rows are paired with these arrays positionally, so every stored row knows exactly where its
original bytes are (evidence) without the bytes ever being copied into the store.

For a JSON array (a content blob, or a ``{"value": [...]}`` page), a small scanner finds each
element's span; the elements are rewritten one per line into a work file that takes the same
road as JSON Lines, and the spans map back to the original file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_NESTING = 64
CHUNK_BYTES = 16 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n\f\v"


@dataclass
class Framed:
    """The spans of the records in one file, plus the file's identity."""

    path: Path
    sha256: str
    size: int
    lines: np.ndarray  # 1-based line (or array element) number of each record
    offsets: np.ndarray  # byte offset of each record in the file
    lengths: np.ndarray  # byte length of each record
    errors: dict[int, str] = field(default_factory=dict)  # record index -> framing error
    texts: list[str | None] | None = None  # the records' text, for readers that need it
    read_path: Path | None = None  # a work file DuckDB reads instead of `path`, if any
    note: str = ""  # what a reader of the result should know (an array not closed properly)

    def __len__(self) -> int:
        return len(self.offsets)

    def table(self) -> pa.Table:
        """The spans as an Arrow table, one row per record, in file order."""
        if self.errors:
            errors = pa.array([self.errors.get(i) for i in range(len(self))], pa.string())
        else:
            errors = pa.nulls(len(self), pa.string())
        columns = {
            "ordinal": pa.array(np.arange(1, len(self) + 1, dtype=np.int64), pa.int64()),
            "line": pa.array(self.lines, pa.int64()),
            "byte_offset": pa.array(self.offsets, pa.int64()),
            "byte_length": pa.array(self.lengths, pa.int64()),
            "framing_error": errors,
        }
        if self.texts is not None:
            columns["text"] = pa.array(self.texts, pa.string())
        return pa.table(columns)


class _LineSplitter:
    """Accumulates line spans chunk by chunk; over-long lines are never held in memory."""

    def __init__(self) -> None:
        self.lines: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.errors: dict[int, str] = {}
        self.line_number = 0  # lines consumed so far
        self.records = 0  # records framed so far

    def add_buffer(self, buffer: bytes, base: int, newlines: list[int], last_end: int) -> None:
        """Add the lines of `buffer` ending at `newlines` (plus a final unterminated line
        ending at `last_end` when it is not -1); blank and whitespace-only lines are skipped."""
        ends = np.array(newlines + ([last_end] if last_end >= 0 else []), dtype=np.int64)
        if not len(ends):
            return
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        view = np.frombuffer(buffer, dtype=np.uint8)
        numbers = np.arange(self.line_number + 1, self.line_number + 1 + len(ends))
        self.line_number += len(ends)
        nonempty = ends > starts
        carriage = np.zeros(len(ends), dtype=bool)
        carriage[nonempty] = view[ends[nonempty] - 1] == 13
        ends = ends - carriage
        keep = ends > starts
        suspect = keep & np.isin(view[np.minimum(starts, len(view) - 1)], _WHITESPACE_CODES)
        for index in np.flatnonzero(suspect):
            keep[index] = bool(buffer[starts[index] : ends[index]].strip())
        self._extend(numbers[keep], starts[keep] + base, (ends - starts)[keep])

    def add_long(self, offset: int, length: int) -> None:
        """An over-long line: its span is kept, its bytes are not."""
        self.line_number += 1
        self.errors[self.records] = "record_too_large"
        self._extend(np.array([self.line_number]), np.array([offset]), np.array([length]))

    def _extend(self, lines: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> None:
        for index in np.flatnonzero(lengths > MAX_RECORD_BYTES):
            self.errors[self.records + int(index)] = "record_too_large"
        self.lines.append(lines)
        self.offsets.append(offsets)
        self.lengths.append(lengths)
        self.records += len(offsets)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def joined(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

        return joined(self.lines), joined(self.offsets), joined(self.lengths)


_WHITESPACE_CODES = np.frombuffer(_WHITESPACE, dtype=np.uint8)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (hashlib releases the GIL: this runs beside framing in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class _ChunkDigest:
    """The SHA-256 of chunks fed in file order, computed in a thread beside the caller's work
    (hashlib releases the GIL; one worker keeps the order); `known` skips the work."""

    def __init__(self, known: str | None = None) -> None:
        self._known = known
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1) if known is None else None

    def __enter__(self) -> _ChunkDigest:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def feed(self, chunk: bytes) -> None:
        if self._pool is not None:
            self._pool.submit(self._digest.update, chunk)

    def hexdigest(self) -> str:
        """The SHA-256 (once the block has ended)."""
        return self._known or self._digest.hexdigest()


def frame_lines(path: Path, *, chunk_bytes: int = CHUNK_BYTES, sha256: str | None = None) -> Framed:
    """Spans of the non-blank lines of a file, with its SHA-256 (computed beside the scan
    unless the caller already knows it) and size."""
    with _ChunkDigest(sha256) as digest:
        splitter, size = _split_file(path, chunk_bytes, digest.feed)
    lines, offsets, lengths = splitter.arrays()
    return Framed(path, digest.hexdigest(), size, lines, offsets, lengths, splitter.errors)


def _split_file(
    path: Path, chunk_bytes: int, on_chunk: Callable[[bytes], object] | None = None
) -> tuple[_LineSplitter, int]:
    """Split the file's lines chunk by chunk; `on_chunk` sees every chunk read, in order
    (the SHA-256 is computed from them in a thread: hashlib releases the GIL)."""
    splitter = _LineSplitter()
    with path.open("rb") as stream:
        base = 0
        pending = b""
        long_start: int | None = None  # file offset where an over-long line began
        while chunk := stream.read(chunk_bytes):
            if on_chunk:
                on_chunk(chunk)
            buffer = pending + chunk if pending else chunk
            if base == 0 and buffer.startswith(BOM):
                buffer, base = buffer[len(BOM) :], len(BOM)
            if long_start is not None:
                newline = buffer.find(b"\n")
                if newline < 0:
                    base += len(buffer)
                    pending = b""
                    continue
                splitter.add_long(long_start, base + newline - long_start)
                long_start = None
                buffer, base = buffer[newline + 1 :], base + newline + 1
            consumed = _split_buffer(splitter, buffer, base)
            pending, base = buffer[consumed:], base + consumed
            if len(pending) > MAX_RECORD_BYTES:
                long_start, base, pending = base, base + len(pending), b""
        if long_start is not None:
            splitter.add_long(long_start, base - long_start)
        elif pending:  # the last line, unterminated: checked for nesting like the others
            first_record = splitter.records
            splitter.add_buffer(pending, base, [], len(pending))
            _flag_deep(splitter, pending, base, first_record)
        size = stream.tell()
    return splitter, size


def _split_buffer(splitter: _LineSplitter, buffer: bytes, base: int) -> int:
    """Add every complete line in buffer; return how many bytes were consumed."""
    find = buffer.find
    newlines: list[int] = []
    append = newlines.append
    start = 0
    while (newline := find(b"\n", start)) >= 0:
        append(newline)
        start = newline + 1
    first_record = splitter.records
    splitter.add_buffer(buffer, base, newlines, -1)
    _flag_deep(splitter, buffer, base, first_record)
    return start


_OPENERS_AND_NEWLINES = bytes(b for b in range(256) if b not in b"{[\n")


def _flag_deep(splitter: _LineSplitter, lines: bytes, base: int, first_record: int) -> None:
    """Flag records nested deeper than MAX_NESTING among those framed from `lines`.

    Deep nesting needs more than MAX_NESTING openers on one line. Deleting every byte but
    '{', '[' and newline leaves a short text whose line lengths are the opener counts (one C
    pass over the chunk); the exact, string-aware depth is computed only for those few lines.
    """
    if splitter.records == first_record:  # no record framed from these lines (yet)
        return
    counts = lines.translate(None, _OPENERS_AND_NEWLINES).split(b"\n")
    if max(map(len, counts), default=0) <= MAX_NESTING:
        return
    offsets = np.concatenate(splitter.offsets)[first_record:] - base
    lengths = np.concatenate(splitter.lengths)[first_record:]
    for index, (start, length) in enumerate(zip(offsets.tolist(), lengths.tolist(), strict=True)):
        record = first_record + index
        text = lines[start : start + length]
        if text.count(b"{") + text.count(b"[") > MAX_NESTING and nesting_depth(text) > MAX_NESTING:
            splitter.errors.setdefault(record, "nesting_too_deep")


# --- JSON arrays -------------------------------------------------------------------------------

# A string is matched as runs of plain bytes between escapes ("unrolled"), never given back
# (possessive): the alternation `(?:[^"\\]|\\.)*` keeps state per byte in `re` (a 16 MiB
# string took 3 s and 2 GB), and backtracking over an unclosed one (a cut file) 1.3 s.
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_TOKENS = re.compile(_STRING + rb"|[\[\]{}]", re.DOTALL)
# The same, plus bare scalars (numbers, true, false, null): elements of the record array.
_ELEMENT_TOKENS = re.compile(_STRING + rb'|[\[\]{}]|[^\s,:\[\]{}"]+', re.DOTALL)
# Wrappers whose list holds the records: a Graph page ("value"), an Azure Monitor / Event Hub
# archive ("records"), a Google Reports API page ("items").
_LIST_KEYS = (b'"value"', b'"records"', b'"items"')
_KEY_THEN_LIST = re.compile(rb"\s*:\s*\[")


class ArrayScanError(ValueError):
    """The file is not a well-formed JSON array of records (or a {"value": [...]} page)."""


def find_array_start(data: bytes, start: int = 0) -> int:
    """Offset just after the '[' that opens the record array at or after `start`: a top-level
    array, or the list under "value" / "records" / "items" of a wrapper object; -1 - offset of
    the object when it is one lone record."""
    begin = _skip_blank(data, start)
    if data.startswith(b"[", begin):
        return begin + 1
    if data.startswith(b"{", begin):
        list_start = _wrapped_list_start(data, begin)
        return list_start if list_start is not None else -1 - begin
    raise ArrayScanError("no record array found")


def _skip_blank(data: bytes, position: int) -> int:
    """The first offset at or after `position` that is neither white space nor a BOM."""
    while True:
        if data.startswith(BOM, position):
            position += len(BOM)
        elif position < len(data) and data[position] in _WHITESPACE:
            position += 1
        else:
            return position


def _wrapped_list_start(data: bytes, begin: int) -> int | None:
    """Offset just after the '[' of a top-level "value"/"records"/"items" list of the object
    opening at `begin` (keys of nested objects do not count)."""
    for token, depth in _structure(data, begin):
        text = token.group()
        if depth == 0:
            return None
        if depth == 1 and text in _LIST_KEYS:
            match = _KEY_THEN_LIST.match(data, token.end())
            if match:
                return match.end()
    return None


def array_element_spans(data: bytes) -> tuple[list[tuple[int, int]], int | None]:
    """Spans (offset, length) of the elements of the record array(s), and the offset where the
    data stopped being well-formed (None when every array closed properly)."""
    spans, _, broken_at = _scan_pages(data)
    return spans, broken_at


def _scan_pages(data: bytes) -> tuple[list[tuple[int, int]], list[int], int | None]:
    """Every page of the file in turn (a file may hold several: one page per line)."""
    spans: list[tuple[int, int]] = []
    deep: list[int] = []
    position = 0
    find_array_start(data)  # no page at all is an error, not an empty file of records
    while data[position:].strip(_WHITESPACE + BOM):
        try:
            page_spans, page_deep, broken_at, end = _scan_array(data, position)
        except ArrayScanError:
            return spans, deep, position
        deep += [len(spans) + index for index in page_deep]
        spans += page_spans
        if broken_at is not None:
            return spans, deep, broken_at
        position = end
    return spans, deep, None


def _scan_array(
    data: bytes, start: int
) -> tuple[list[tuple[int, int]], list[int], int | None, int]:
    """Element spans of the page at `start`, the indexes of elements nested deeper than
    MAX_NESTING, where the page broke off (None when it closed) and where it ended."""
    position = find_array_start(data, start)
    if position < 0:  # one lone object: the record is the whole object
        lone, broken_at = _lone_object(data, -1 - position)
        too_deep = bool(lone) and nesting_depth(data[lone[0][0] : sum(lone[0])]) > MAX_NESTING
        end = sum(lone[0]) if lone else len(data)
        return lone, [0] if too_deep else [], broken_at, end
    spans: list[tuple[int, int]] = []
    deep: list[int] = []
    depth = deepest = 0
    element_start = -1
    for token in _ELEMENT_TOKENS.finditer(data, position):
        text = token.group()
        if text in (b"[", b"{"):
            if depth == 0:
                element_start, deepest = token.start(), 0
            depth += 1
            deepest = max(deepest, depth)
        elif text in (b"]", b"}"):
            if depth == 0:  # the closing bracket of the record array
                return spans, deep, None, _page_end(data, start, token.end())
            depth -= 1
            if depth == 0:
                if deepest > MAX_NESTING:
                    deep.append(len(spans))
                spans.append((element_start, token.end() - element_start))
        elif depth == 0:  # a string or bare scalar standing alone as an element
            spans.append((token.start(), len(text)))
    broken_at = (spans[-1][0] + spans[-1][1]) if spans else position
    return spans, deep, broken_at, len(data)


def _page_end(data: bytes, start: int, array_end: int) -> int:
    """Where the page that began at `start` ends: after its wrapper object, if it has one."""
    stripped_start = _skip_blank(data, start)
    if data.startswith(b"{", stripped_start):
        end = _object_end(data, stripped_start)
        return end if end is not None else len(data)
    return array_end


def _object_end(data: bytes, begin: int) -> int | None:
    """Offset just after the object (or array) that opens at `begin`; None if it never closes."""
    spans, broken_at = _lone_object(data, begin)
    return None if broken_at is not None or not spans else spans[0][0] + spans[0][1]


def _lone_object(data: bytes, begin: int) -> tuple[list[tuple[int, int]], int | None]:
    for token, depth in _structure(data, begin):
        if depth == 0:
            return [(begin, token.end() - begin)], None
    return [], begin


def frame_array(path: Path, data: bytes) -> tuple[Framed, int | None]:
    """Spans of the elements of a JSON array file; line numbers are element numbers."""
    spans, deep, broken_at = _scan_pages(data)
    cut = _cut_tail(data, broken_at)
    spans += [cut] if cut else []
    offsets = np.array([offset for offset, _ in spans], dtype=np.int64)
    lengths = np.array([length for _, length in spans], dtype=np.int64)
    framed = Framed(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        lines=np.arange(1, len(spans) + 1, dtype=np.int64),
        offsets=offsets,
        lengths=lengths,
        errors=dict.fromkeys(deep, "nesting_too_deep"),
    )
    for index in np.flatnonzero(lengths > MAX_RECORD_BYTES):
        framed.errors[int(index)] = "record_too_large"
    if cut:
        framed.errors[len(spans) - 1] = "truncated_record"
    return framed, broken_at


def _cut_tail(data: bytes, broken_at: int | None) -> tuple[int, int] | None:
    """The span of what follows the last complete element of an array that never closed (an
    element cut short, a page that does not parse): one record, flagged `truncated_record`, so
    the bytes no row was read from are quarantined rather than lost with a note only."""
    if broken_at is None:
        return None
    start = len(data) - len(data[broken_at:].lstrip(_WHITESPACE + b","))
    end = len(data[start:].rstrip(_WHITESPACE)) + start
    return (start, end - start) if end > start else None


def nesting_depth(text: bytes) -> int:
    """Maximum bracket nesting of a JSON text, brackets inside strings ignored."""
    return max((depth for _, depth in _structure(text)), default=0)


def _structure(data: bytes, begin: int = 0) -> Iterator[tuple[re.Match[bytes], int]]:
    """The strings and brackets of a JSON text from `begin`, each with the nesting depth
    after it, up to the bracket that closes what opened at `begin` (depth 0 again): the one
    bracket-depth walk the scanners here share (strings are skipped whole)."""
    depth = 0
    for token in _TOKENS.finditer(data, begin):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
        elif text in (b"]", b"}"):
            depth -= 1
        yield token, depth
        if depth == 0 and text in (b"]", b"}"):
            return


# --- text lines and CSV records ----------------------------------------------------------------


def with_texts(framed: Framed, data: bytes) -> Framed:
    """The framed lines' text (UTF-8); a line that is not valid UTF-8 gets a framing error."""
    texts: list[str | None] = []
    for index, (offset, length) in enumerate(
        zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True)
    ):
        try:
            texts.append(data[offset : offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
            framed.errors.setdefault(index, "invalid_utf8")
    framed.texts = texts
    return framed


def csv_record_spans(data: bytes) -> tuple[list[int], list[int], list[int]]:
    """(first line, offset, length) of each CSV record after the header, from bytes in memory
    (see `_CsvSplitter` for the rule)."""
    splitter = _CsvSplitter()
    splitter.feed(data, final=True)
    return splitter.lines, splitter.offsets, splitter.lengths


class _CsvSplitter:
    """CSV record spans, fed chunk by chunk (nothing but the current line is held).

    A record ends at a newline outside quotes: quotes inside a field are doubled, so a newline
    ends a record exactly when the quotes seen since the record began are even in number.
    Blank lines between records are skipped (DuckDB's reader skips them too); the first record
    is the header. A quote left open at the end of the file makes the rest one record, flagged
    `truncated_record` (a file cut inside a quoted cell, or a stray quote: DuckDB then refuses
    the file or pairs differently, and recovery frames it strictly).
    """

    def __init__(self, preamble_lines: int = 0) -> None:
        self.lines: list[int] = []
        self.offsets: list[int] = []
        self.lengths: list[int] = []
        self.errors: dict[int, str] = {}
        self._preamble = preamble_lines  # lines before the header (PowerShell's #TYPE line)
        self._pending = b""  # the unfinished last line
        self._base = 0  # file offset of _pending's first byte
        self._record_start = 0
        self._record_line = 1
        self._line = 0
        self._quotes = 0
        self._line_end = 0  # file offset where the last line's content ends
        self._header_done = False
        self._first = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Take the next bytes of the file; `final` ends an unterminated last line."""
        buffer = self._pending + chunk if self._pending else chunk
        if self._first and buffer.startswith(BOM):
            buffer, self._base, self._record_start = buffer[len(BOM) :], len(BOM), len(BOM)
        self._first = self._first and not buffer
        find = buffer.find
        position = 0
        while (newline := find(b"\n", position)) >= 0 or (final and position < len(buffer)):
            end = len(buffer) if newline < 0 else newline
            self._end_of_line(buffer, position, end)
            position = len(buffer) if newline < 0 else newline + 1
        self._pending, self._base = buffer[position:], self._base + position
        if final and self._quotes % 2 and self._header_done:
            self._open_tail()

    def _open_tail(self) -> None:
        """The record a quote left open at the end of the file, up to its last line's end."""
        self.errors[len(self.offsets)] = "truncated_record"
        self.lines.append(self._record_line)
        self.offsets.append(self._record_start)
        self.lengths.append(self._line_end - self._record_start)

    def _end_of_line(self, buffer: bytes, start: int, end: int) -> None:
        self._line += 1
        if self._preamble:
            self._preamble -= 1
            self._record_start, self._record_line = self._base + end + 1, self._line + 1
            return
        self._quotes += buffer.count(b'"', start, end)
        stop = end - 1 if end > start and buffer[end - 1] == 13 else end
        self._line_end = self._base + stop
        if self._quotes % 2:
            return  # inside a quoted field: the record goes on
        record_end = self._base + stop
        spans_lines = self._record_start < self._base + start
        if not self._header_done:
            self._header_done = True
        elif record_end > self._record_start and (spans_lines or buffer[start:stop].strip()):
            self.lines.append(self._record_line)
            self.offsets.append(self._record_start)
            self.lengths.append(record_end - self._record_start)
        self._record_start = self._base + end + 1
        self._record_line, self._quotes = self._line + 1, 0


def frame_csv(
    path: Path,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    preamble_lines: int = 0,
    sha256: str | None = None,
) -> Framed:
    """Spans of the data records of a CSV file (header excluded), read in chunks; the
    SHA-256 (unless the caller knows it) is computed from the same chunks in a thread
    (hashlib releases the GIL)."""
    splitter = _CsvSplitter(preamble_lines)
    with _ChunkDigest(sha256) as digest, path.open("rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.feed(chunk)
            splitter.feed(chunk)
        splitter.feed(b"", final=True)
        size = stream.tell()
    framed = Framed(
        path=path,
        sha256=digest.hexdigest(),
        size=size,
        lines=np.array(splitter.lines, dtype=np.int64),
        offsets=np.array(splitter.offsets, dtype=np.int64),
        lengths=np.array(splitter.lengths, dtype=np.int64),
        errors=splitter.errors,
    )
    for index in np.flatnonzero(framed.lengths > MAX_RECORD_BYTES):
        framed.errors[int(index)] = "record_too_large"
    return framed
