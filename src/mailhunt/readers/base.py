"""What a reader is: how one layout of bytes (JSON lines, a JSON array or pages, CSV, text
lines) becomes records DuckDB reads, with every record's span kept for evidence.

A reader owns everything about its layout: the sample sniffers see, framing (where each record
starts and ends), the SQL that reads the rows, and the quarantine judgement (why a record of
that layout could not be stored). Formats say which kind of record they read (`Format.reader`:
json, csv or text); readers of the same kind are alternative layouts, tried in `order`.

The rows SQL gives the format's fields plus one key column, `_ordinal`, that a format's
relation carries through untouched: for a reader that numbers its own rows (`numbers_rows`:
one file at a time) the record's ordinal among the file's frames; otherwise the file's 1-based
place in `$read_paths`, and the store numbers the rows by position once read.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailhunt.formats.base import Format, Sample
from mailhunt.sources.framing import Framed
from mailhunt.sources.quarantine import judge

# read_json's own object limit; records over MAX_RECORD_BYTES are already flagged by framing.
# (A limit far above what is needed made DuckDB's scan 3x slower here.)
READ_OBJECT_LIMIT = 32 * 1024 * 1024
SNIFF_RECORDS = 5
SNIFF_TEXT_LINES = 20


@dataclass(frozen=True)
class Layout:
    """How a file is laid out, as sniffing found it."""

    reader: Reader
    preamble_lines: int = 0  # lines before a CSV header (PowerShell's #TYPE line)
    # Envelopes: how the outer records are laid out (json-lines | json-array) and what kind of
    # record they wrap (json | text).
    outer: str = ""
    inner: str = ""


class Reader(ABC):
    """One layout of records in a file (one module per reader, exposing `READER`)."""

    name: str  # json-lines | json-array | csv | text
    kind: str  # the Format.reader it serves: json | csv | text
    order: int  # sampling order: lower is tried first among readers of its kind
    threaded: bool = False  # framing runs in a thread while DuckDB reads the file itself
    # A sample from this reader settles its kind's layout: later readers of the kind are not
    # tried (JSON lines before a JSON array). An envelope reader settles nothing: when no
    # format claims what it unwrapped, the file is sniffed as it is.
    exclusive: bool = True
    # `recover` may read again a file DuckDB refused (or read in a way that did not pair).
    recovers: bool = False

    @abstractmethod
    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        """The first records of the file as sniffers see them, or None: not this layout."""

    @abstractmethod
    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        """Every record's span (and the file's SHA-256 unless given). A reader whose records
        DuckDB cannot read in place writes them to a work file (`Framed.read_path`)."""

    @abstractmethod
    def rows_sql(self, fmt: Format) -> str:
        """SQL giving the format's fields and `_ordinal` (see the module's docstring)."""

    def numbers_rows(self, fmt: Format) -> bool:
        """Does the rows SQL number rows itself, rather than give the file's place?"""
        return not fmt.one_row_per_record

    def recover(self, framed: Framed, work: Path, layout: Layout) -> Framed | None:
        """Frames for reading again a file DuckDB refused or did not pair (`framed` are the
        first frames): the records it cannot take flagged, and a work copy (`read_path`)
        without them where needed (see sources/recovery.py); None when nothing can be set
        aside."""
        return None

    def judge(
        self, raw: bytes, framing_error: str | None, fmt: Format, path: Path
    ) -> tuple[str, str]:
        """(reason, detail) for a record of this layout that could not be stored."""
        return judge(raw, framing_error, fmt.id_field, fmt.time_field, self.kind)

    def batchable(self, fmt: Format) -> bool:
        """Can several files be read in one statement (rows numbered by position)?"""
        return False


_GLOB_CHARACTERS = frozenset("*?[")


def readable(path: Path, work: Path) -> Path:
    """A path DuckDB reads as exactly this file: DuckDB expands `*`, `?` and `[...]` in the
    paths it is given, so a file named `audit[1].json` would be read as `audit1.json`; such a
    file is read through a link in the work folder."""
    if not _GLOB_CHARACTERS & set(str(path)):
        return path
    link = work / f"{uuid.uuid4().hex}{''.join(path.suffixes[-1:])}"
    link.symlink_to(path)
    return link


def columns_literal(columns: Mapping[str, str]) -> str:
    """DuckDB struct literal for read_json's columns (names and types come from format code)."""
    items = ", ".join(
        "'" + name.replace("'", "''") + "': '" + type_.replace("'", "''") + "'"
        for name, type_ in columns.items()
    )
    return "{" + items + "}"
