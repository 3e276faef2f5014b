"""The demo: a simulated tenant with an injected intrusion, through the whole pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.ingest import IngestSummary, ingest
from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.store.db import Store


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo made and found, and which alerts caught the injected intrusion."""

    folder: Path
    database: Path
    tenant: SimulatedTenant
    ingest: IngestSummary
    detect: DetectSummary
    alerts: list[Alert]
    caught_by: dict[str, list[str]]  # intrusion kind -> ids of alerts sharing its evidence


def run_demo(folder: Path, *, seed: int = 7, days: int = 21, users: int = 20) -> DemoResult:
    """Simulate a tenant into `folder`, ingest it into folder/mailhunt.duckdb, detect."""
    tenant = simulate_tenant(folder / "logs", seed=seed, days=days, users=users)
    database = folder / "mailhunt.duckdb"
    with Store.open(database) as store:
        ingested = ingest(store, [folder / "logs" / "ual", folder / "logs" / "signins"])
        detected = run_detections(store)
        alerts = list_alerts(store)
    caught = {
        intrusion.kind: [a.id for a in alerts if set(a.event_ids) & set(intrusion.record_ids)]
        for intrusion in tenant.intrusions
    }
    return DemoResult(folder, database, tenant, ingested, detected, alerts, caught)
