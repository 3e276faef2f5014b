"""Incidents for people: most severe first, then oldest."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.detect.base import SEVERITY_RANK
from mailhunt.investigate.model import Incident
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import INCIDENTS, Renderer


def incidents_table(incidents: list[Incident]) -> ConsoleRenderable:
    table = Table("id", "severity", "status", "first / last seen (UTC)", "mailboxes", "title")
    table.columns[5].ratio = 1
    for i in sorted(incidents, key=lambda i: (-SEVERITY_RANK.get(i.severity, 0), i.first_seen)):
        table.add_row(
            cell(i.id),
            cell(i.severity),
            lines([i.status, *([i.assignee] if i.assignee else [])]),
            lines(
                [i.first_seen.strftime("%Y-%m-%d %H:%M"), i.last_seen.strftime("%Y-%m-%d %H:%M")]
            ),
            lines(i.mailboxes),
            lines(
                [
                    i.title,
                    f"{len(i.alert_ids)} alert(s), {i.event_count} record(s), "
                    f"{i.message_count} message(s), {len(i.blind_windows)} blind window(s)"
                    + (f", campaign {i.campaign_id[:12]}" if i.campaign_id else ""),
                ]
            ),
        )
    return with_footer(table, f"{len(incidents)} incident(s)")


RENDERER = Renderer(INCIDENTS, "table", incidents_table, "for people")
