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

    def __len__(self) -> int:
        return len(self.offsets)

    def table(self) -> pa.Table:
        """The spans as an Arrow table, one row per record, in file order."""
        errors = [self.errors.get(index) for index in range(len(self))] if self.errors else None
        return pa.table(
            {
                "line": pa.array(self.lines, pa.int64()),
                "byte_offset": pa.array(self.offsets, pa.int64()),
                "byte_length": pa.array(self.lengths, pa.int64()),
                "framing_error": pa.array(errors if errors else [None] * len(self), pa.string()),
            }
        )


class _LineSplitter:
    """Accumulates line spans chunk by chunk; over-long lines are never held in memory."""

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.offsets: list[int] = []
        self.lengths: list[int] = []
        self.errors: dict[int, str] = {}
        self.line_number = 0

    def add(self, buffer: bytes, base: int, start: int, end: int) -> None:
        """Record the line buffer[start:end] (file offset base+start), skipping blank lines."""
        self.line_number += 1
        if end > start and buffer[end - 1] == 13:
            end -= 1
        if end == start or (buffer[start] in _WHITESPACE and not buffer[start:end].strip()):
            return
        self._append(base + start, end - start)

    def add_long(self, offset: int, length: int) -> None:
        """An over-long line: its span is kept, its bytes are not."""
        self.line_number += 1
        self.errors[len(self.offsets)] = "record_too_large"
        self._append(offset, length)

    def _append(self, offset: int, length: int) -> None:
        self.lines.append(self.line_number)
        self.offsets.append(offset)
        self.lengths.append(length)
        if length > MAX_RECORD_BYTES:
            self.errors[len(self.offsets) - 1] = "record_too_large"


def frame_lines(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> Framed:
    """Spans of the non-blank lines of a file, with its SHA-256 and size."""
    digest = hashlib.sha256()
    splitter = _LineSplitter()
    with path.open("rb") as stream:
        base = 0
        pending = b""
        long_start: int | None = None  # file offset where an over-long line began
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
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
        elif pending:
            splitter.add(pending, base, 0, len(pending))
        size = stream.tell()
    return Framed(
        path=path,
        sha256=digest.hexdigest(),
        size=size,
        lines=np.array(splitter.lines, dtype=np.int64),
        offsets=np.array(splitter.offsets, dtype=np.int64),
        lengths=np.array(splitter.lengths, dtype=np.int64),
        errors=splitter.errors,
    )


def _split_buffer(splitter: _LineSplitter, buffer: bytes, base: int) -> int:
    """Add every complete line in buffer; return how many bytes were consumed."""
    find = buffer.find
    start = 0
    while (newline := find(b"\n", start)) >= 0:
        splitter.add(buffer, base, start, newline)
        start = newline + 1
    return start


# --- JSON arrays -------------------------------------------------------------------------------

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_VALUE_KEY = re.compile(rb'"value"\s*:\s*\[')


class ArrayScanError(ValueError):
    """The file is not a well-formed JSON array of records (or a {"value": [...]} page)."""


def find_array_start(data: bytes) -> int:
    """Offset just after the '[' that opens the record array (top level, or under "value")."""
    stripped = data.lstrip(_WHITESPACE + BOM)
    begin = len(data) - len(stripped)
    if stripped.startswith(b"["):
        return begin + 1
    match = _VALUE_KEY.search(data)
    if stripped.startswith(b"{") and match:
        return match.end()
    raise ArrayScanError("no record array found")


def array_element_spans(data: bytes) -> tuple[list[tuple[int, int]], int | None]:
    """Spans (offset, length) of the elements of the record array, and the offset where the
    array stopped being well-formed (None when it closed properly)."""
    position = find_array_start(data)
    spans: list[tuple[int, int]] = []
    depth = 0
    element_start = -1
    for token in _TOKENS.finditer(data, position):
        text = token.group()
        if text[0] == 0x22:  # a string: only structure matters, unless it is an element itself
            if depth == 0:
                spans.append((token.start(), len(text)))
            continue
        if text in (b"[", b"{"):
            if depth == 0:
                element_start = token.start()
            depth += 1
        elif depth == 0:  # the closing bracket of the record array
            return spans, None
        else:
            depth -= 1
            if depth == 0:
                spans.append((element_start, token.end() - element_start))
                element_start = -1
    return spans, (spans[-1][0] + spans[-1][1]) if spans else position


def frame_array(path: Path, data: bytes) -> tuple[Framed, int | None]:
    """Spans of the elements of a JSON array file; line numbers are element numbers."""
    spans, broken_at = array_element_spans(data)
    offsets = np.array([offset for offset, _ in spans], dtype=np.int64)
    lengths = np.array([length for _, length in spans], dtype=np.int64)
    framed = Framed(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        lines=np.arange(1, len(spans) + 1, dtype=np.int64),
        offsets=offsets,
        lengths=lengths,
    )
    return framed, broken_at


def nesting_depth(text: bytes) -> int:
    """Maximum bracket nesting of a JSON text, brackets inside strings ignored."""
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        value = token.group()
        if value in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif value in (b"]", b"}"):
            depth -= 1
    return deepest
