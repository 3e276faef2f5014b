"""The cross-tenant-campaign attack on the test bed: one actor in three tenants (same campaign
seed), a fourth tenant untouched, every noise source planted, all in one store: one campaign
alert links exactly the three, and their alerts carry its id; without the attack, none."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.simulate.attacks import ATTACKS
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store

KIND = "cross-tenant-campaign"
USED = ("mailbox-first-seen-app", "token-without-signin", KIND)


def bed(root: Path, *, inject: bool, count: int = 4) -> tuple[list[SimulatedTenant], list[Alert]]:
    tenants = [
        simulate_tenant(
            root / "logs" / f"tenant{n}",
            seed=40 + n,
            days=10,
            users=10,
            tenant_name=f"tenant{n}",
            attacks=[KIND],
            noise=sorted(NOISES),
            inject=inject and n < 3,
            campaign_seed=9,
        )
        for n in range(count)
    ]
    with Store.open(root / "store.duckdb") as store:
        ingest(store, [root / "logs"])
        run_detections(store, analytics=[ANALYTICS[name] for name in USED])
        return tenants, list_alerts(store)


def test_one_campaign_links_exactly_the_attacked_tenants(tmp_path: Path) -> None:
    assert not ATTACKS[KIND].single_tenant
    tenants, alerts = bed(tmp_path, inject=True)
    intrusions = [i for t in tenants for i in t.intrusions]
    assert len(intrusions) == 3
    assert not tenants[3].intrusions
    assert len({i.client_app_id for i in intrusions}) == 1  # the actor's one tool
    assert len({ip.rsplit(".", 1)[0] for i in intrusions for ip in i.client_ips}) == 1
    [campaign] = [a for a in alerts if a.rule_id == KIND]
    assert campaign.tenant_ids == sorted(i.tenant_id for i in intrusions)
    assert campaign.severity == "critical"
    for intrusion in intrusions:
        assert set(intrusion.key_record_ids) <= set(campaign.event_ids)
    members = [a for a in alerts if a.rule_id != KIND and a.campaign_id == campaign.id]
    assert {t for a in members for t in a.tenant_ids} == set(campaign.tenant_ids)
    attack_records = {r for i in intrusions for r in i.record_ids}
    for alert in alerts:
        cites_attack = bool(set(alert.event_ids) & attack_records)
        assert (alert.campaign_id == campaign.id) == cites_attack
    assert json.loads(campaign.entity)[0] in ("ip", "prefix")


def test_without_the_attack_no_campaign(tmp_path: Path) -> None:
    tenants, alerts = bed(tmp_path, inject=False, count=3)
    assert "backup-app" in tenants[0].noise
    assert [a for a in alerts if a.rule_id == KIND] == []
    assert {a.campaign_id for a in alerts} <= {None}
