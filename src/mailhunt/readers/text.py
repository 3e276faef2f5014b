"""Text lines, one record per line (Dovecot, Postfix, Exchange protocol logs): framing reads
each line's text, and DuckDB takes the rows from the frames themselves (column `line`), so a
line's row is its frame by construction."""

from __future__ import annotations

from pathlib import Path

from mailhunt.formats.base import Format, Sample
from mailhunt.readers.base import SNIFF_TEXT_LINES, Layout, Reader
from mailhunt.sources.framing import BOM, Framed, frame_lines, with_texts

TEXT_ROWS_SQL = "SELECT ordinal AS _ordinal, text AS line FROM {frames}"


class Text(Reader):
    name = "text"
    kind = "text"
    order = 40

    def sample(self, path: Path, head: bytes) -> tuple[Sample, Layout] | None:
        decoded = head.removeprefix(BOM).lstrip().decode("utf-8", errors="replace")
        first_lines = tuple(
            line.rstrip("\r")
            for line in decoded.split("\n", SNIFF_TEXT_LINES)[:SNIFF_TEXT_LINES]
            if line.strip()
        )
        return Sample("text", lines=first_lines, name=path.name), Layout(self)

    def frame(self, path: Path, work: Path, layout: Layout, *, sha256: str | None = None) -> Framed:
        return with_texts(frame_lines(path, sha256=sha256), path.read_bytes())

    def rows_sql(self, fmt: Format) -> str:
        return TEXT_ROWS_SQL

    def numbers_rows(self, fmt: Format) -> bool:
        return True


READER = Text()
