"""Alerts for people: most severe first, then oldest, every mailbox of an alert listed; under
the rule its ATT&CK techniques, under the summary why in short; a suppressed alert (listed
with --include-suppressed) says which suppression holds it."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.alerts.query import Alert
from mailhunt.detect.base import SEVERITY_RANK
from mailhunt.report.alerts import why_short
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import ALERTS, Renderer


def alerts_table(alerts: list[Alert]) -> ConsoleRenderable:
    table = Table("severity", "first seen (UTC)", "rule", "mailboxes", "summary", "id")
    table.columns[4].ratio = 1
    for alert in sorted(alerts, key=lambda a: (-SEVERITY_RANK[a.severity], a.first_seen)):
        held = [] if alert.suppressed_by is None else [f"suppressed #{alert.suppressed_by}"]
        why = why_short(alert.why)
        table.add_row(
            lines([alert.severity, *held]),
            alert.first_seen.strftime("%Y-%m-%d %H:%M"),
            lines([alert.rule_id, ", ".join(alert.techniques or [alert.technique])]),
            lines(alert.mailboxes),
            lines([alert.summary, *([f"why: {why}"] if why else [])]),
            cell(alert.id[:12]),
        )
    suppressed = sum(1 for a in alerts if a.suppressed_by is not None)
    return with_footer(
        table,
        f"{len(alerts)} alert(s)" + (f", {suppressed} of them suppressed" if suppressed else ""),
    )


RENDERER = Renderer(ALERTS, "table", alerts_table, "for people")
