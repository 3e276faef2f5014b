"""Shared by the table renderers: data made safe for a terminal, and a table with a footer."""

from __future__ import annotations

from rich.console import ConsoleRenderable, Group
from rich.table import Table
from rich.text import Text

from mailhunt.report.safe import terminal, terminal_text


def cell(value: object) -> Text:
    """Data shown in the terminal: control characters escaped, never read as Rich markup."""
    return terminal(value)


def lines(values: list[str]) -> Text:
    """Several values, one per line, each escaped (a newline in a value is shown, not obeyed)."""
    return Text("\n".join(terminal_text(v) for v in values))


def with_footer(table: Table, footer: str) -> ConsoleRenderable:
    """The table, then one line under it (counts, totals)."""
    return Group(table, cell(footer))
