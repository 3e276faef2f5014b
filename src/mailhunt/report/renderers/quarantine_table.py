"""Quarantined records for people: file, line, reason, detail and their first bytes, escaped;
then the counts by reason over the whole store."""

from __future__ import annotations

from pathlib import PurePath

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.investigate.quarantine import QuarantineListing
from mailhunt.report.renderers._table import cell, with_footer
from mailhunt.report.renderers.base import QUARANTINE, Renderer


def quarantine_table(listing: QuarantineListing) -> ConsoleRenderable:
    table = Table("file", "line", "reason", "detail", "starts with")
    for record in listing.records:
        table.add_row(
            cell(PurePath(record.source_path).name),
            str(record.line),
            cell(record.reason),
            cell(record.detail),
            cell(record.raw[:60].decode("utf-8", errors="replace")),
        )
    counts = ", ".join(f"{count} {name}" for name, count in listing.counts)
    return with_footer(table, counts or "nothing quarantined")


RENDERER = Renderer(QUARANTINE, "table", quarantine_table, "for people")
