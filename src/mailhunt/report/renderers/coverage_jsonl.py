"""Coverage findings as JSON Lines, one object per finding (a contract: fields added, never
renamed)."""

from __future__ import annotations

from typing import Any

from mailhunt.detect.coverage import ID, Finding
from mailhunt.report.encode import jsonl
from mailhunt.report.renderers.base import COVERAGE, Renderer


def finding_record(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": ID,
        "kind": finding.kind,
        "tenant_id": finding.tenant_id,
        "mailbox": finding.mailbox,
        "first_day": finding.first_day.date().isoformat(),
        "last_day": finding.last_day.date().isoformat(),
        "days": finding.days,
        "records": finding.records,
        "detail": finding.detail,
        "blind_analytics": finding.blind_analytics,
    }


def coverage_jsonl(findings: list[Finding]) -> str:
    return jsonl(finding_record(f) for f in findings)


RENDERER = Renderer(COVERAGE, "jsonl", coverage_jsonl, "one JSON object per finding")
