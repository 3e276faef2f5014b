"""The evaluation as JSON Lines: one object per attack kind (``"type": "attack_kind"``), then
one with the false alerts (``"type": "false_alerts"``), one per injected intrusion with how the
incidents cover it (``"type": "intrusion"``), one with the incidents' figures (``"type":
"incidents"``) and one with the run (``"type": "run"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mailhunt.report.encode import jsonl
from mailhunt.report.renderers.base import EVALUATION, Renderer

if TYPE_CHECKING:
    from mailhunt.evaluate.run import Evaluation


def evaluation_records(result: Evaluation) -> Iterator[dict[str, Any]]:
    figures = result.score
    for kind in figures.kinds:
        yield {
            "type": "attack_kind",
            "seed": result.seed,
            "kind": kind.kind,
            "instances": kind.instances,
            "detected": kind.detected,
            "instances_detected": kind.instances_detected,
            "analytics": list(kind.analytics),
            "records": kind.records,
            "records_cited": kind.records_cited,
            "evidence_recall": round(kind.evidence_recall, 4),
        }
    yield {
        "type": "false_alerts",
        "seed": result.seed,
        "mailbox_days": figures.mailbox_days,
        "alerts": figures.alerts,
        "false_alerts": figures.false_alerts,
        "per_1000_mailbox_days": round(figures.false_any_rate, 3),
        "high_or_critical_per_1000_mailbox_days": round(figures.false_high_rate, 3),
        "by_severity": figures.false_by_severity,
        "by_analytic": figures.false_by_analytic,
        "by_analytic_per_1000_mailbox_days": {
            rule: round(figures.per_1000(n), 3) for rule, n in figures.false_by_analytic.items()
        },
    }
    incidents = result.incident_score
    if incidents is not None:
        for intrusion in incidents.intrusions:
            yield {
                "type": "intrusion",
                "seed": result.seed,
                "kind": intrusion.kind,
                "tenant_id": intrusion.tenant_id,
                "incidents": list(intrusion.incidents),
                "campaign_ids": list(intrusion.campaign_ids),
                "records": intrusion.records,
                "records_attributed": intrusion.records_attributed,
                "record_recall": round(intrusion.record_recall, 4),
                "messages": intrusion.messages,
                "messages_attributed": intrusion.messages_attributed,
                "message_recall": round(intrusion.message_recall, 4),
            }
        yield {
            "type": "incidents",
            "seed": result.seed,
            "incidents": incidents.incidents,
            "incidents_with_intrusion": incidents.incidents_with_intrusion,
            "records_attributed": incidents.attributed,
            "records_attributed_foreign": incidents.attributed_foreign,
            "precision": round(incidents.precision, 4),
            "record_recall": round(incidents.record_recall, 4),
            "message_recall": round(incidents.message_recall, 4),
        }
    yield {
        "type": "run",
        "seed": result.seed,
        "tenants": [p.name for p in result.plans],
        "days": result.days,
        "users": result.users,
        "records": result.ingest.records_read,
        "ingest_seconds": round(result.ingest_seconds, 3),
        "detect_seconds": round(result.detect_seconds, 3),
        "incidents_seconds": round(result.incidents_seconds, 3),
        "blind_tenant_alerts": result.blind_tenant_alerts,
        "failed_analytics": result.detect.failed,
        "blind_tenant_findings": result.blind_tenant_findings,
        "acceptance_failures": result.failures,
    }


def evaluation_jsonl(result: Evaluation) -> str:
    return jsonl(evaluation_records(result))


RENDERER = Renderer(EVALUATION, "jsonl", evaluation_jsonl, "one JSON object per line")
