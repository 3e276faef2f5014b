"""Suppressions for people: number, what they match, why, who added them and when, until when,
and how many alerts each holds."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.alerts.suppressions import Suppression
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import SUPPRESSIONS, Renderer

_FIELDS = (
    ("rule", "rule_id"),
    ("tenant", "tenant_id"),
    ("app", "app_id"),
    ("mailbox", "mailbox"),
    ("user", "user_upn"),
    ("ip", "cidr"),
)


def matches(suppression: Suppression) -> list[str]:
    """What it matches, one 'field: value' a line."""
    found = [(label, getattr(suppression, name)) for label, name in _FIELDS]
    return [f"{label}: {value}" for label, value in found if value is not None]


def suppressions_table(suppressions: list[Suppression]) -> ConsoleRenderable:
    table = Table("id", "matches", "reason", "added (UTC)", "expires (UTC)", "alerts")
    table.columns[2].ratio = 1
    for s in suppressions:
        expires = s.expires_at.strftime("%Y-%m-%d %H:%M") if s.expires_at else "never"
        table.add_row(
            str(s.id),
            lines(matches(s)),
            cell(s.reason),
            lines([s.created_at.strftime("%Y-%m-%d %H:%M"), s.created_by]),
            cell(expires if s.active else f"{expires} (expired)"),
            str(s.alerts),
        )
    active = sum(1 for s in suppressions if s.active)
    return with_footer(table, f"{len(suppressions)} suppression(s), {active} active")


RENDERER = Renderer(SUPPRESSIONS, "table", suppressions_table, "for people")
