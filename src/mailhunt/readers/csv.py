"""CSV with a header row (Purview and Search-UnifiedAuditLog exports, Sentinel tables exported
as CSV), every cell read as text. Windows PowerShell 5.1's `#TYPE ...` line before the header
is skipped. Framed (quoted newlines respected) in a thread while DuckDB reads the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import READ_OBJECT_LIMIT, SNIFF_RECORDS, Layout, Reader
from mailhunt.sources.framing import BOM, Framed, frame_csv
from mailhunt.sources.quarantine import REASONS, judge
from mailhunt.sources.recovery import csv_head, frame_csv_strict, rewrite_records

POWERSHELL_TYPE_LINE = b"#TYPE "
SNIFF_ROWS = 100  # rows looked at for the first SNIFF_RECORDS records of the header's width


def has_type_line(head: bytes) -> bool:
    """Windows PowerShell 5.1 Export-Csv (without -NoTypeInformation) writes a `#TYPE ...`
    line before the header; the CSV starts on the next line."""
    return head.removeprefix(BOM).startswith(POWERSHELL_TYPE_LINE)


def csv_records(text: str) -> list[dict[str, str]]:
    """The first records of a CSV text, as header -> cell. Rows of another width (a broken
    record, or the lines of a multi-line cell whose quotes broke) are passed over, up to
    SNIFF_ROWS rows, so one bad record at the head does not hide the file's layout; when a
    quote left open swallowed the rest, the rows are parsed again strictly, each one that
    does not parse passed over (parsing resumed at its next line, as recovery frames)."""
    lines = text.splitlines(keepends=True)
    try:
        header = next(csv.reader(lines[:1]))
    except (csv.Error, StopIteration):
        return []
    if len(header) < 2:
        return []
    records = _records(header, csv.reader(lines[1:]))
    return records or _records(header, _strict_rows(lines[1:]))


def _records(header: list[str], rows: Iterator[list[str]]) -> list[dict[str, str]]:
    """The first SNIFF_RECORDS rows of the header's width among the first SNIFF_ROWS rows."""
    records: list[dict[str, str]] = []
    try:
        for _, row in zip(range(SNIFF_ROWS), rows, strict=False):
            if len(row) == len(header):
                records.append(dict(zip(header, row, strict=True)))
                if len(records) == SNIFF_RECORDS:
                    break
    except csv.Error:
        pass
    return records


class _Lines:
    """The lines from a position on, as the csv module reads them; `position` is the next."""

    def __init__(self, lines: list[str], position: int) -> None:
        self._lines = lines
        self.position = position

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position >= len(self._lines):
            raise StopIteration
        self.position += 1
        return self._lines[self.position - 1]


def _strict_rows(lines: list[str]) -> Iterator[list[str]]:
    """Rows parsed strictly; one that does not parse is passed over (given as an empty row,
    so it counts among the rows looked at) and parsing resumes at the line after its first."""
    start = 0
    while start < len(lines):
        feeder = _Lines(lines, start)
        try:
            for row in csv.reader(feeder, strict=True):
                start = feeder.position
                yield row
        except csv.Error:
            start += 1
            yield []
        else:
            return


@lru_cache(maxsize=8)
def _header(path: Path, preamble_lines: int = 0) -> tuple[str, ...]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        for _ in range(preamble_lines):
            stream.readline()
        return tuple(next(csv.reader(stream), []))


def _preamble(path: Path) -> int:
    with path.open("rb") as stream:
        return 1 if has_type_line(stream.read(len(BOM) + len(POWERSHELL_TYPE_LINE))) else 0


def _cell(raw: bytes, header: tuple[str, ...], column: str) -> bytes:
    """One cell of a CSV record, by column name (empty when the row has no such cell)."""
    try:
        row = next(csv.reader(io.StringIO(raw.decode("utf-8"))), [])
    except (UnicodeDecodeError, csv.Error):
        return raw
    return dict(zip(header, row, strict=False)).get(column, "").encode("utf-8")


class Csv(Reader):
    name = "csv"
    kind = "csv"
    order = 30
    threaded = True
    recovers = True

    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        decoded = head.removeprefix(BOM).lstrip().decode("utf-8", errors="replace")
        preamble = 1 if has_type_line(head) else 0
        records = csv_records(decoded.split("\n", 1)[-1] if preamble else decoded)
        if not records:
            return None
        return Sample("csv", tuple(records), name=path.name), Layout(self, preamble)

    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        return frame_csv(path, preamble_lines=layout.preamble_lines, sha256=sha256)

    def rows_sql(self, fmt: Format) -> str:
        options = "".join(f", {name} = {value}" for name, value in fmt.csv_options.items())
        reader = (
            "read_csv($read_path, header = true, all_varchar = true, skip = $csv_skip, "
            "delim = ',', quote = '\"', escape = '\"', "
            f"max_line_size = {READ_OBJECT_LIMIT}{options})"
        )
        key = "1::BIGINT" if fmt.one_row_per_record else "row_number() OVER ()"
        return f"SELECT {key} AS _ordinal, * FROM {reader}"

    def recover(self, framed: Framed, work: Path, layout: Layout) -> Framed | None:
        """The file framed strictly (a stray quote, a cell too many, a row cut short: that
        record flagged, the next line framed afresh) and copied one record per LF line, the
        flagged records as a row of empty cells (DuckDB also refuses a file whose line ends
        are mixed, as a blank LF line after a CRLF header makes them)."""
        strict = frame_csv_strict(framed.path, framed.sha256, preamble_lines=layout.preamble_lines)
        if strict is None:
            return None
        empty = b"," * (len(_header(framed.path, layout.preamble_lines)) - 1)
        head = csv_head(framed.path, strict)
        return replace(strict, read_path=rewrite_records(strict, work, head, empty))

    def judge(
        self, raw: bytes, framing_error: str | None, fmt: Format, path: Path
    ) -> tuple[str, str]:
        """A CSV whose record is JSON in one column (Purview's AuditData) is judged by that
        cell: what is missing or malformed in the record itself. A row of another width says
        how many cells it has."""
        if framing_error == "csv_columns":
            cells = len(next(csv.reader(io.StringIO(raw.decode("utf-8", "replace"))), []))
            header = len(_header(path, _preamble(path)))
            return framing_error, f"{REASONS[framing_error]}: {cells} cells, header {header}"
        if not fmt.embedded_json or framing_error:
            return super().judge(raw, framing_error, fmt, path)
        cell = _cell(raw, _header(path, _preamble(path)), fmt.embedded_json)
        reason, detail = judge(cell, None, fmt.id_field, fmt.time_field, "json")
        return reason, f"{fmt.embedded_json}: {detail}"


READER = Csv()
