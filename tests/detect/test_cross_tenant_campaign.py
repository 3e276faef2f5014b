"""cross-tenant-campaign: alerts of several tenants sharing the actor's infrastructure.

Each tenant holds 400 ordinary reads (Outlook desktop from its own office address) so that what
an attacker's few records carry is rare there; alerts are written by hand into the store, with
their evidence, as the other analytics would have raised them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.analytics.cross_tenant_campaign import ANALYTIC, RULE_ID
from mailhunt.detect.runner import ordered, run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, ROGUE_APP, Record, at, mail_access, write_jsonl

TENANTS = [
    "7f1c9e2a-4b7d-4e8a-9c31-2d5e6f708192",
    "0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f",
    "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716",
    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
]
ACTOR_IP = "45.77.10.5"
OTHER_APP = "3b1f0e2d-7c6a-4b59-8e4d-2a1c0b9f8e7d"
THIRD_APP = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
TOOL = "Client=WebServices;python-requests/2.31.0;"
GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
DESKTOP = "Client=MSExchangeRPC"


def mailbox(tenant: int) -> str:
    return f"ceo@tenant{tenant}.onmicrosoft.com"


def ordinary(tenant: int, *, ip: str | None = None) -> list[Record]:
    """400 reads of the tenant's mailbox through Outlook desktop, from its office."""
    return [
        mail_access(
            f"t{tenant}-ok-{n}",
            at(n // 40, 8 + n % 40 // 20, n % 20),
            mailbox(tenant),
            OUTLOOK,
            ip=ip or f"198.51.100.{10 + tenant}",
            tenant=TENANTS[tenant],
            client_info=DESKTOP,
        )
        for n in range(400)
    ]


def reads(
    tenant: int,
    tag: str,
    *,
    ip: str = ACTOR_IP,
    app: str = ROGUE_APP,
    info: str = TOOL,
    count: int = 3,
) -> list[Record]:
    return [
        mail_access(
            f"t{tenant}-{tag}-{n}",
            at(10, 2, n),
            mailbox(tenant),
            app,
            ip=f"{ip}:443" if "." in ip else f"[{ip}]:443",
            tenant=TENANTS[tenant],
            client_info=info,
        )
        for n in range(count)
    ]


def raise_alert(store: Store, alert_id: str, records: list[Record], severity: str = "high") -> None:
    """Store an alert of another analytic with these records as its evidence."""
    tenants = sorted({r["OrganizationId"] for r in records})
    ids = [r["Id"] for r in records]
    store.run(
        "INSERT INTO alerts (id, rule_id, title, severity, technique, entity, summary, "
        "tenant_ids, mailboxes, users, app_ids, client_ips, first_seen, last_seen, event_count, "
        "created_at) VALUES (?, 'token-without-signin', 'a token no sign-in issued', ?, "
        "'T1550.001', ?, 'summary', ?, ?, ?, [], [], ?, ?, ?, now())",
        [
            alert_id,
            severity,
            json.dumps([alert_id]),
            tenants,
            sorted({r["MailboxOwnerUPN"] for r in records}),
            sorted({r["UserId"] for r in records}),
            at(10, 2),
            at(10, 3),
            len(ids),
        ],
    )
    for record_id in ids:
        store.run("INSERT INTO alert_evidence VALUES (?, ?)", [alert_id, record_id])


def detect(
    store: Store,
    tmp_path: Path,
    alerts: dict[str, list[Record]],
    *,
    background: list[Record] | None = None,
    severities: dict[str, str] | None = None,
    **overrides: object,
) -> tuple[list[Alert], list[Alert]]:
    """Ingest every tenant's ordinary reads, the alerts' records and ``background``; raise the
    alerts; run the analytic: (campaign alerts, the others)."""
    records = [r for tenant in range(4) for r in ordinary(tenant)]
    records += [r for evidence in alerts.values() for r in evidence] + (background or [])
    write_jsonl(tmp_path / "ual.jsonl", records)
    assert ingest(store, [tmp_path]).quarantined == 0
    for alert_id, evidence in alerts.items():
        raise_alert(store, alert_id, evidence, (severities or {}).get(alert_id, "high"))
    summary = run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    assert summary.failed == {}
    listed = list_alerts(store)
    return (
        [a for a in listed if a.rule_id == RULE_ID],
        [a for a in listed if a.rule_id != RULE_ID],
    )


def campaign_id(kind: str, value: str) -> str:
    """The campaign alert's id: the hash of the rule, its indicator and the fixed bucket."""
    text = json.dumps(
        [RULE_ID, json.dumps([kind, value], separators=(",", ":")), "1970-01-01T00:00:00Z"],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def test_an_address_shared_by_alerts_of_two_tenants_is_one_campaign(
    store: Store, tmp_path: Path
) -> None:
    evidence = {
        "a0": reads(0, "x", app=ROGUE_APP),
        "a1": reads(1, "x", app=OTHER_APP),
        "a2": reads(2, "x", ip="203.0.113.99", app=THIRD_APP, info="Client=REST;"),  # another
    }
    [campaign], others = detect(store, tmp_path, evidence)
    assert json.loads(campaign.entity) == ["ip", ACTOR_IP]
    assert campaign.id == campaign_id("ip", ACTOR_IP)
    assert (campaign.severity, campaign.tenant_ids) == ("high", sorted(TENANTS[:2]))
    assert campaign.event_ids == sorted(r["Id"] for r in evidence["a0"] + evidence["a1"])
    assert campaign.client_ips == []
    assert campaign.mailboxes == sorted([mailbox(0), mailbox(1)])
    assert campaign.summary == (
        f"One actor behind alerts in 2 tenants ({', '.join(sorted(TENANTS[:2]))}): they share "
        f"address {ACTOR_IP}; 2 alert(s) of token-without-signin"
    )
    assert campaign.campaign_id == campaign.id
    members = {a.id: a.campaign_id for a in others}
    assert members == {"a0": campaign.id, "a1": campaign.id, "a2": None}
    assert store.query("SELECT campaign_id, kind, value, tenant_ids, alert_ids FROM campaigns") == [
        (campaign.id, "ip", ACTOR_IP, sorted(TENANTS[:2]), ["a0", "a1"])
    ]


def test_the_campaign_cites_only_the_records_carrying_what_is_shared(
    store: Store, tmp_path: Path
) -> None:
    """An alert citing the actor's reads and another person's (one application's fan-out, two
    actors in one mailbox): the campaign claims the actor's only, so the other intruder's
    incident is not told the actor was seen elsewhere; an alert of the other reads alone is in
    no campaign."""
    other = reads(0, "y", ip="203.0.113.50", app=OUTLOOK, info=DESKTOP)
    evidence = {
        "a0": reads(0, "x") + other,
        "a1": reads(1, "x", app=OTHER_APP),
        "b0": other,
    }
    [campaign], others = detect(store, tmp_path, evidence)
    assert campaign.id == campaign_id("ip", ACTOR_IP)
    assert campaign.event_ids == sorted(r["Id"] for r in evidence["a1"] + reads(0, "x"))
    members = {a.id: a.campaign_id for a in others}
    assert members == {"a0": campaign.id, "a1": campaign.id, "b0": None}


def test_application_network_and_fingerprint_link_three_tenants_critical(
    store: Store, tmp_path: Path
) -> None:
    """Three addresses of one /24 and one tool: a network, an application and a fingerprint,
    all shared; a0b, another tool of the same actor, joins through the network."""
    evidence = {
        "a0": reads(0, "x", ip="45.77.10.5"),
        "a0b": reads(0, "y", ip="45.77.10.5", app=OTHER_APP, info="Client=REST;", count=1),
        "a1": reads(1, "x", ip="45.77.10.6"),
        "a2": reads(2, "x", ip="45.77.10.7"),
    }
    [campaign], others = detect(store, tmp_path, evidence, severities={"a1": "medium"})
    assert json.loads(campaign.entity) == ["prefix", "45.77.10.0/24"]
    assert (campaign.severity, campaign.tenant_ids) == ("critical", sorted(TENANTS[:3]))
    assert "network 45.77.10.0/24 (3 addresses)" in campaign.summary
    assert f"client application {ROGUE_APP}" in campaign.summary
    assert f'client string "{TOOL}" with application {ROGUE_APP}' in campaign.summary
    assert all(a.campaign_id == campaign.id for a in others)


def test_a_critical_member_makes_two_tenants_critical(store: Store, tmp_path: Path) -> None:
    evidence = {"a0": reads(0, "x"), "a1": reads(1, "x")}
    [campaign], _ = detect(store, tmp_path, evidence, severities={"a0": "critical"})
    assert campaign.severity == "critical"


def test_one_tenant_alone_is_no_campaign(store: Store, tmp_path: Path) -> None:
    evidence = {"a0": reads(0, "x"), "a0b": reads(0, "y")}
    campaigns, others = detect(store, tmp_path, evidence)
    assert campaigns == []
    assert [a.campaign_id for a in others] == [None, None]


@pytest.mark.parametrize(
    ("ip", "app", "info"),
    [
        ("40.107.22.35", OUTLOOK, DESKTOP),  # Exchange Online Protection, Outlook desktop
        ("2603:10a6:20b:3a1::12", GRAPH_CLI, "Client=REST;Client=RESTSystem;;"),  # Microsoft
        ("10.20.30.40", "00000003-0000-0000-c000-000000000000", DESKTOP),  # private, Graph
    ],
    ids=["exchange-and-outlook", "microsoft-ipv6-and-graph-cli", "private-and-graph"],
)
def test_microsoft_and_private_things_never_link(
    store: Store, tmp_path: Path, ip: str, app: str, info: str
) -> None:
    evidence = {f"a{t}": reads(t, "x", ip=ip, app=app, info=info) for t in range(3)}
    campaigns, others = detect(store, tmp_path, evidence)
    assert campaigns == []
    assert {a.campaign_id for a in others} == {None}


def test_a_value_ordinary_in_the_tenants_never_links(store: Store, tmp_path: Path) -> None:
    """The shared egress of a VPN both tenants use for most of their reads."""
    vpn = "185.213.154.10"
    background = [r for t in (0, 1) for r in ordinary(t, ip=vpn)[:40]]
    background = [{**r, "Id": r["Id"] + "-vpn"} for r in background]
    evidence = {f"a{t}": reads(t, "x", ip=vpn, app=OUTLOOK, info=DESKTOP) for t in (0, 1)}
    campaigns, _ = detect(store, tmp_path, evidence, background=background)
    assert campaigns == []


def test_a_value_more_tenants_use_quietly_is_a_common_tool(store: Store, tmp_path: Path) -> None:
    """An add-in flagged in two tenants that three others use without an alert."""
    evidence = {"a0": reads(0, "x", ip="203.0.113.7"), "a1": reads(1, "x", ip="192.0.2.7")}
    quiet = [
        {**r, "OrganizationId": f"00000000-0000-4000-8000-00000000000{n}", "Id": f"q{n}-{r['Id']}"}
        for n in range(3)
        for r in reads(3, "q", ip=f"198.18.0.{n}", count=1)
    ]
    quiet_ordinary = [
        {**r, "OrganizationId": f"00000000-0000-4000-8000-00000000000{n}", "Id": f"q{n}-{r['Id']}"}
        for n in range(3)
        for r in ordinary(3)
    ]
    campaigns, _ = detect(store, tmp_path, evidence, background=quiet + quiet_ordinary)
    assert campaigns == []


def test_low_alerts_do_not_link(store: Store, tmp_path: Path) -> None:
    evidence = {"a0": reads(0, "x"), "a1": reads(1, "x")}
    campaigns, _ = detect(store, tmp_path, evidence, severities={"a1": "low"})
    assert campaigns == []


def test_min_tenants_three_needs_a_third_tenant(store: Store, tmp_path: Path) -> None:
    evidence = {"a0": reads(0, "x"), "a1": reads(1, "x")}
    campaigns, _ = detect(store, tmp_path, evidence, min_tenants=3)
    assert campaigns == []


def test_rerun_updates_the_same_campaign(store: Store, tmp_path: Path) -> None:
    evidence = {"a0": reads(0, "x"), "a1": reads(1, "x")}
    [campaign], _ = detect(store, tmp_path, evidence)
    again = run_detections(store, analytics=[ANALYTIC])
    assert (again.detections, again.new_alerts) == ({RULE_ID: 1}, {RULE_ID: 0})
    [still] = [a for a in list_alerts(store) if a.rule_id == RULE_ID]
    assert (still.id, still.event_ids) == (campaign.id, campaign.event_ids)


def test_it_runs_after_every_other_analytic() -> None:
    assert ANALYTIC.after_alerts
    assert ordered(ANALYTICS.values())[-1] is ANALYTIC
    assert [a.id for a in ordered(ANALYTICS.values())][:-1] == [
        a for a in ANALYTICS if a != RULE_ID
    ]
