"""The evaluation for people: per attack kind, detected or not and by which analytics, evidence
recall; then false alerts per 1000 mailbox-days by severity and by analytic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import ConsoleRenderable, Group
from rich.table import Table

from mailhunt.report.renderers._table import cell, lines
from mailhunt.report.renderers.base import EVALUATION, Renderer

if TYPE_CHECKING:
    from mailhunt.evaluate.run import Evaluation


def evaluation_table(result: Evaluation) -> ConsoleRenderable:
    figures = result.score
    kinds = Table("attack kind", "detected", "by analytics", "evidence recall")
    for kind in figures.kinds:
        verdict = "yes" if kind.detected else f"NO ({kind.instances_detected}/{kind.instances})"
        kinds.add_row(
            cell(kind.kind),
            cell(verdict),
            lines(list(kind.analytics) or ["-"]),
            cell(f"{kind.evidence_recall:.0%} ({kind.records_cited}/{kind.records})"),
        )
    false = Table("false alerts", "count", "per 1000 mailbox-days")
    for severity, count in figures.false_by_severity.items():
        false.add_row(cell(severity), cell(count), cell(f"{figures.per_1000(count):.2f}"))
    for rule, count in figures.false_by_analytic.items():
        false.add_row(cell(rule), cell(count), cell(f"{figures.per_1000(count):.2f}"))
    false.add_row(cell("all"), cell(figures.false_alerts), cell(f"{figures.false_any_rate:.2f}"))
    verdict = "; ".join(result.failures) or "every acceptance line holds"
    footer = (
        f"seed {result.seed}: {len(result.plans)} tenants x {result.users} mailboxes x "
        f"{result.days} days = {figures.mailbox_days} mailbox-days, {figures.alerts} alerts; "
        f"{verdict}"
    )
    return Group(kinds, false, cell(footer))


RENDERER = Renderer(EVALUATION, "table", evaluation_table, "for people")
