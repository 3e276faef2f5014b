"""Run the evaluation: simulate the test bed, ingest it into a fresh store, detect, score."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.coverage import coverage_findings
from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.evaluate.incidents import IncidentScore, score_incidents
from mailhunt.evaluate.score import Score, score
from mailhunt.evaluate.testbed import NO_SIGNINS, TenantPlan, plan
from mailhunt.ingest import IngestSummary, ingest
from mailhunt.investigate.incidents import build_incidents, list_incidents
from mailhunt.investigate.model import Incident
from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

START = datetime(2026, 6, 1, tzinfo=UTC)
# Analytics that need sign-in logs: on the tenant without them they must stay silent.
NEEDS_SIGNINS = ("token-without-signin",)


@dataclass(frozen=True)
class Evaluation:
    """What ``mailhunt evaluate`` made and measured."""

    seed: int
    days: int
    users: int
    plans: tuple[TenantPlan, ...]
    tenants: tuple[SimulatedTenant, ...]
    ingest: IngestSummary
    detect: DetectSummary
    alerts: tuple[Alert, ...]
    score: Score
    blind_tenant_alerts: int  # alerts of NEEDS_SIGNINS analytics in the tenant without sign-ins
    blind_tenant_findings: int  # its no-signin-logs coverage findings (there must be one)
    ingest_seconds: float
    detect_seconds: float
    database: Path
    incidents: tuple[Incident, ...] = ()
    incident_score: IncidentScore | None = None
    incidents_seconds: float = 0.0

    @property
    def failures(self) -> list[str]:
        """The acceptance lines that do not hold, in words (empty when all hold)."""
        failed = list(self.score.failures)
        if self.incident_score is not None:
            failed += self.incident_score.failures
        if self.blind_tenant_alerts:
            failed.append(
                f"{self.blind_tenant_alerts} sign-in-based alert(s) in the tenant without sign-ins"
            )
        if not self.blind_tenant_findings:
            failed.append("no coverage finding for the tenant without sign-ins")
        return failed


def evaluate(
    folder: Path, *, seed: int = 1, tenants: int = 4, days: int = 21, users: int = 20
) -> Evaluation:
    """Generate the test bed for ``seed`` under ``folder``, ingest it into
    ``folder/evaluate.duckdb`` (a fresh store: any earlier one is replaced) and score."""
    plans = tuple(plan(seed, tenants))
    simulated = tuple(_simulate(folder / "logs" / p.name, p, seed, days, users) for p in plans)
    database = folder / "evaluate.duckdb"
    database.unlink(missing_ok=True)
    with Store.open(database) as store:
        started = time.perf_counter()
        ingested = ingest(store, [folder / "logs"])
        ingest_seconds = time.perf_counter() - started
        started = time.perf_counter()
        detected = run_detections(store)
        detect_seconds = time.perf_counter() - started
        started = time.perf_counter()
        build_incidents(store)
        incidents_seconds = time.perf_counter() - started
        alerts = tuple(list_alerts(store))
        incidents = tuple(list_incidents(store))
        findings = coverage_findings(store)
    intrusions = [i for tenant in simulated for i in tenant.intrusions]
    mailbox_days = len(plans) * users * days
    blind = {t.tenant_id for t, p in zip(simulated, plans, strict=True) if p.name == NO_SIGNINS}
    blind_alerts = sum(
        1 for a in alerts if a.rule_id in NEEDS_SIGNINS and set(a.tenant_ids) & blind
    )
    blind_findings = sum(1 for f in findings if f.kind == "no-signin-logs" and f.tenant_id in blind)
    result = Evaluation(
        seed=seed,
        days=days,
        users=users,
        plans=plans,
        tenants=simulated,
        ingest=ingested,
        detect=detected,
        alerts=alerts,
        score=score(alerts, intrusions, mailbox_days),
        blind_tenant_alerts=blind_alerts,
        blind_tenant_findings=blind_findings,
        ingest_seconds=ingest_seconds,
        detect_seconds=detect_seconds,
        database=database,
        incidents=incidents,
        incident_score=score_incidents(incidents, intrusions),
        incidents_seconds=incidents_seconds,
    )
    log.info(
        "evaluation seed %d: %d alerts, %d false", seed, len(alerts), result.score.false_alerts
    )
    return result


def _simulate(
    out: Path, bed: TenantPlan, campaign_seed: int, days: int, users: int
) -> SimulatedTenant:
    return simulate_tenant(
        out,
        seed=bed.seed,
        days=days,
        users=users,
        start=START,
        inject=bool(bed.attacks),
        attacks=bed.attacks,
        noise=bed.noise,
        signin_logs=bed.signin_logs,
        campaign_seed=campaign_seed,
        tenant_name=bed.name,
    )
