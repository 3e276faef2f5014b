"""Coverage findings for people: where detection is blind, and what it leaves unjudged."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.detect.coverage import Finding
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import COVERAGE, Renderer


def coverage_table(findings: list[Finding]) -> ConsoleRenderable:
    table = Table("gap", "tenant / mailbox", "days", "records", "blind", "what it means")
    table.columns[5].ratio = 1
    for finding in findings:
        where = [finding.tenant_id] + ([finding.mailbox] if finding.mailbox else [])
        span = f"{finding.first_day:%Y-%m-%d} .. {finding.last_day:%Y-%m-%d} ({finding.days})"
        table.add_row(
            cell(finding.kind),
            lines(where),
            cell(span),
            cell(finding.records),
            lines(["every mail analytic" if a == "*" else a for a in finding.blind_analytics]),
            cell(finding.detail),
        )
    footer = (
        f"{len(findings)} coverage finding(s)"
        if findings
        else "no coverage gap found: every tenant with mail access has sign-ins, and reads are "
        "audited on every day and mailbox seen"
    )
    return with_footer(table, footer)


RENDERER = Renderer(COVERAGE, "table", coverage_table, "for people")
