"""The evaluation for people: per attack kind, detected or not and by which analytics, evidence
recall; then false alerts per 1000 mailbox-days by severity and by analytic; then per injected
intrusion the incidents holding it and their record and message recall, and their precision."""

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
    parts: list[ConsoleRenderable] = [kinds, false]
    incidents = result.incident_score
    if incidents is not None:
        covered = Table("intrusion", "tenant", "incidents", "records", "messages")
        for i in incidents.intrusions:
            covered.add_row(
                cell(i.kind),
                cell(i.tenant_id[:8]),
                lines(list(i.incidents) or ["NONE"]),
                cell(f"{i.record_recall:.1%} ({i.records_attributed}/{i.records})"),
                cell(f"{i.message_recall:.1%} ({i.messages_attributed}/{i.messages})"),
            )
        parts += [
            covered,
            cell(
                f"incidents: {incidents.incidents} ({incidents.incidents_with_intrusion} hold an "
                f"intrusion); record recall {incidents.record_recall:.2%}, message recall "
                f"{incidents.message_recall:.2%}, precision {incidents.precision:.2%} "
                f"({incidents.attributed_foreign} of {incidents.attributed} attributed records "
                "belong to no intrusion)"
            ),
        ]
    verdict = "; ".join(result.failures) or "every acceptance line holds"
    footer = (
        f"seed {result.seed}: {len(result.plans)} tenants x {result.users} mailboxes x "
        f"{result.days} days = {figures.mailbox_days} mailbox-days, {figures.alerts} alerts; "
        f"{verdict}"
    )
    return Group(*parts, cell(footer))


RENDERER = Renderer(EVALUATION, "table", evaluation_table, "for people")
