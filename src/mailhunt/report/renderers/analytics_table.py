"""The analytics for people: id and title, default severity, ATT&CK technique, and each
parameter with its default, what it accepts and what it does."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.detect.base import Analytic
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import ANALYTICS, Renderer


def analytics_table(analytics: list[Analytic]) -> ConsoleRenderable:
    table = Table("analytic", "severity", "technique", "parameters (--param NAME=VALUE)")
    table.columns[3].ratio = 1
    for analytic in analytics:
        table.add_row(
            lines([analytic.id, analytic.title]),
            cell(analytic.severity),
            cell(analytic.technique),
            lines(
                [f"{p.name}={p.default} ({p.expects}): {p.help}" for p in analytic.parameters]
                or ["-"]
            ),
        )
    return with_footer(table, f"{len(analytics)} analytic(s)")


RENDERER = Renderer(ANALYTICS, "table", analytics_table, "for people")
