"""The throttled-theft attack: its records, and the analytics that must catch it on the test
bed (with every noise source planted), and stay silent without it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store

KIND = "throttled-theft"
RULES = ("throttled-blind-window", "mail-read-volume-anomaly")


def bed(root: Path, *, inject: bool) -> tuple[SimulatedTenant, list[Alert]]:
    tenant = simulate_tenant(
        root / "logs",
        seed=5,
        days=12,
        users=10,
        attacks=[KIND],
        noise=sorted(NOISES),
        inject=inject,
    )
    with Store.open(root / "store.duckdb") as store:
        ingest(store, [root / "logs"])
        run_detections(store, analytics=[ANALYTICS[rule] for rule in RULES])
        return tenant, list_alerts(store)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulatedTenant, list[Alert]]:
    return bed(tmp_path_factory.mktemp("attacked"), inject=True)


def records(tenant: SimulatedTenant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in tenant.ual_files:
        text = path.read_text("utf-8")
        found += json.loads(text) if path.suffix == ".json" else map(json.loads, text.splitlines())
    return found


def when(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["CreationTime"])


def properties(record: dict[str, Any]) -> dict[str, str]:
    return {p["Name"]: p["Value"] for p in record.get("OperationProperties", [])}


def test_throttling_follows_a_thousand_records_and_blinds_bind(
    attacked: tuple[SimulatedTenant, list[Alert]],
) -> None:
    tenant, _ = attacked
    [intrusion] = tenant.intrusions
    [victim] = intrusion.mailboxes
    reads = [
        r
        for r in records(tenant)
        if r["Operation"] == "MailItemsAccessed" and r["MailboxOwnerUPN"] == victim
    ]
    [throttle] = [r for r in reads if properties(r)["IsThrottled"] == "True"]
    assert throttle["Id"] in intrusion.record_ids
    since = when(throttle)
    before = [r for r in reads if since - timedelta(hours=24) <= when(r) < since]
    assert len(before) == 1_000
    blind = [r for r in reads if since < when(r) < since + timedelta(hours=24)]
    assert blind
    assert {properties(r)["MailAccessType"] for r in blind} == {"Sync"}
    assert since.hour < 9  # Storm-0558's hours


def test_the_blind_window_and_the_volume_are_raised(
    attacked: tuple[SimulatedTenant, list[Alert]],
) -> None:
    tenant, alerts = attacked
    [intrusion] = tenant.intrusions
    keys = set(intrusion.key_record_ids or intrusion.record_ids)
    by_rule = {a.rule_id: a for a in alerts if keys & set(a.event_ids)}
    assert set(by_rule) == set(RULES)
    assert by_rule["throttled-blind-window"].severity == "critical"
    assert by_rule["mail-read-volume-anomaly"].severity == "high"
    assert [a for a in alerts if a not in by_rule.values()] == []


def test_without_the_attack_nothing_is_raised(tmp_path: Path) -> None:
    _, alerts = bed(tmp_path, inject=False)
    assert alerts == []
