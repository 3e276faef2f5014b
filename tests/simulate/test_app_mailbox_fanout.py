"""The app-mailbox-fanout attack on the test bed (every noise source planted, the backup
product's nightly fan-out among them): caught by app-mailbox-fanout, and silence without it."""

from __future__ import annotations

from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store

KIND = "app-mailbox-fanout"


def bed(root: Path, *, inject: bool) -> tuple[SimulatedTenant, list[Alert]]:
    tenant = simulate_tenant(
        root / "logs",
        seed=6,
        days=12,
        users=10,
        attacks=[KIND],
        noise=sorted(NOISES),
        inject=inject,
    )
    with Store.open(root / "store.duckdb") as store:
        ingest(store, [root / "logs"])
        run_detections(store, analytics=[ANALYTICS[KIND]])
        return tenant, list_alerts(store)


def test_the_fan_out_is_raised(tmp_path: Path) -> None:
    tenant, alerts = bed(tmp_path, inject=True)
    [intrusion] = tenant.intrusions
    assert len(intrusion.mailboxes) >= 8
    [alert] = alerts
    assert set(intrusion.key_record_ids) <= set(alert.event_ids)
    assert (alert.severity, alert.mailboxes) == ("high", list(intrusion.mailboxes))


def test_without_the_attack_nothing_is_raised(tmp_path: Path) -> None:
    tenant, alerts = bed(tmp_path, inject=False)
    assert "backup-app" in tenant.noise
    assert alerts == []
