"""CSV with a header row (Purview and Search-UnifiedAuditLog exports, Sentinel tables exported
as CSV), every cell read as text. Windows PowerShell 5.1's `#TYPE ...` line before the header
is skipped. Framed (quoted newlines respected) in a thread while DuckDB reads the file."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import READ_OBJECT_LIMIT, SNIFF_RECORDS, Layout, Reader
from mailhunt.sources.framing import BOM, Framed, frame_csv
from mailhunt.sources.quarantine import judge

POWERSHELL_TYPE_LINE = b"#TYPE "


def has_type_line(head: bytes) -> bool:
    """Windows PowerShell 5.1 Export-Csv (without -NoTypeInformation) writes a `#TYPE ...`
    line before the header; the CSV starts on the next line."""
    return head.removeprefix(BOM).startswith(POWERSHELL_TYPE_LINE)


def csv_records(text: str) -> list[dict[str, str]]:
    """The first records of a CSV text, as header -> cell (rows of another width left out)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        rows = [row for _, row in zip(range(SNIFF_RECORDS), reader, strict=False)]
    except (csv.Error, StopIteration):
        return []
    if len(header) < 2:
        return []
    return [dict(zip(header, row, strict=False)) for row in rows if len(row) == len(header)]


@lru_cache(maxsize=8)
def _header(path: Path) -> tuple[str, ...]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        return tuple(next(csv.reader(stream), []))


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
            f"max_line_size = {READ_OBJECT_LIMIT}{options})"
        )
        key = "1::BIGINT" if fmt.one_row_per_record else "row_number() OVER ()"
        return f"SELECT {key} AS _ordinal, * FROM {reader}"

    def judge(
        self, raw: bytes, framing_error: str | None, fmt: Format, path: Path
    ) -> tuple[str, str]:
        """A CSV whose record is JSON in one column (Purview's AuditData) is judged by that
        cell: what is missing or malformed in the record itself."""
        if not fmt.embedded_json or framing_error:
            return super().judge(raw, framing_error, fmt, path)
        cell = _cell(raw, _header(path), fmt.embedded_json)
        reason, detail = judge(cell, None, fmt.id_field, fmt.time_field, "json")
        return reason, f"{fmt.embedded_json}: {detail}"


READER = Csv()
