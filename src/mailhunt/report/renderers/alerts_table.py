"""Alerts for people: most severe first, then oldest, every mailbox of an alert listed."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.alerts.query import Alert
from mailhunt.detect.base import SEVERITY_RANK
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import ALERTS, Renderer


def alerts_table(alerts: list[Alert]) -> ConsoleRenderable:
    table = Table("severity", "first seen (UTC)", "rule", "mailboxes", "summary", "id")
    table.columns[4].ratio = 1
    for alert in sorted(alerts, key=lambda a: (-SEVERITY_RANK[a.severity], a.first_seen)):
        table.add_row(
            cell(alert.severity),
            alert.first_seen.strftime("%Y-%m-%d %H:%M"),
            cell(alert.rule_id),
            lines(alert.mailboxes),
            cell(alert.summary),
            cell(alert.id[:12]),
        )
    return with_footer(table, f"{len(alerts)} alert(s)")


RENDERER = Renderer(ALERTS, "table", alerts_table, "for people")
