"""One incident for people (``mailhunt incident show``): its fields, alerts, blind windows and
journal."""

from __future__ import annotations

from rich.console import ConsoleRenderable, Group
from rich.table import Table

from mailhunt.investigate.model import Incident
from mailhunt.report.alerts import iso_utc
from mailhunt.report.renderers._table import cell, lines
from mailhunt.report.renderers.base import INCIDENT, Renderer


def incident_table(incident: Incident) -> ConsoleRenderable:
    facts = Table("field", "value", show_header=False)
    facts.columns[1].ratio = 1
    rows: list[tuple[str, list[str]]] = [
        ("id", [incident.id]),
        ("title", [incident.title]),
        ("severity", [incident.severity]),
        ("status", [incident.status]),
        ("assignee", [incident.assignee or "nobody"]),
        ("tenants", incident.tenant_ids),
        ("mailboxes", incident.mailboxes),
        ("users", incident.users),
        ("applications", incident.app_ids),
        ("client IPs", incident.client_ips),
        ("campaign", [incident.campaign_id or "none"]),
        ("first seen", [iso_utc(incident.first_seen)]),
        ("last seen", [iso_utc(incident.last_seen)]),
        ("records", [str(incident.event_count)]),
        ("messages read", [str(incident.message_count)]),
        ("alerts", incident.alert_ids),
        ("merged from", incident.merged_ids or ["none"]),
        (
            "blind windows",
            [
                f"{w.mailbox_upn} {iso_utc(w.window_start)} .. {iso_utc(w.window_end)}: "
                "unaudited, assume everything in this mailbox in this window was read"
                for w in incident.blind_windows
            ]
            or ["none"],
        ),
    ]
    for name, values in rows:
        facts.add_row(cell(name), lines(values))
    journal = Table("when (UTC)", "who", "what", title="journal")
    journal.columns[2].ratio = 1
    for note in incident.notes:
        journal.add_row(
            cell(note.noted_at.strftime("%Y-%m-%d %H:%M")),
            cell(note.author),
            lines([f"{note.kind}: {note.text}" if note.kind == "note" else note.text]),
        )
    return Group(facts, journal) if incident.notes else facts


RENDERER = Renderer(INCIDENT, "table", incident_table, "for people")
