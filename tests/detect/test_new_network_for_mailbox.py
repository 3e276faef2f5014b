"""new-network-for-mailbox: new networks with and without sign-ins, enrichment on and off,
severity, and the test bed (forged tokens through a familiar application; benign noise).

Every hand-built dataset is twelve days (0 to 11): alice signs in each morning from her home
address and reads with Outlook; bob reads from the office. Then the records under test.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.new_network_for_mailbox import ANALYTIC
from mailhunt.detect.runner import detections, run_detections
from mailhunt.enrich import enrich_ips
from mailhunt.ingest import ingest
from mailhunt.simulate import simulate_tenant
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store
from tests.enrich.world import write_world
from tests.helpers import OUTLOOK, TENANT, Record, at, mail_access, signin_record, write_jsonl

ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"
HOME = "86.12.40.7"  # Virgin Media, GB, in the test world
OFFICE = "62.150.3.9"
VPS = "45.77.12.34"  # Vultr: hosting


def read(record_id: str, moment: datetime, mailbox: str, ip: str, **fields: object) -> Record:
    return mail_access(record_id, moment, mailbox, OUTLOOK, uti=f"tok-{record_id}", ip=ip, **fields)


def signin(record_id: str, moment: datetime, user: str, ip: str, token: str) -> Record:
    return signin_record(record_id, moment, user, OUTLOOK, uti=token, ip=ip)


def history() -> tuple[list[Record], list[Record]]:
    audit, signins = [], []
    for d in range(12):
        signins.append(signin(f"s-a-{d}", at(d, 7), ALICE, HOME, f"tok-h-a-{d}"))
        audit.append(read(f"h-a-{d}", at(d, 7, 5), ALICE, HOME))
        signins.append(signin(f"s-b-{d}", at(d, 8), BOB, OFFICE, f"tok-h-b-{d}"))
        audit.append(read(f"h-b-{d}", at(d, 8, 5), BOB, OFFICE))
    return audit, signins  # each read carries the token its morning's sign-in issued


def detect(
    store: Store,
    tmp_path: Path,
    extra: list[Record],
    extra_signins: list[Record] | None = None,
    *,
    geoip: bool = False,
) -> list[Alert]:
    audit, signins = history()
    write_jsonl(tmp_path / "in" / "ual.jsonl", audit + extra)
    write_jsonl(tmp_path / "in" / "signins.jsonl", signins + (extra_signins or []))
    ingest(store, [tmp_path / "in"])
    if geoip:
        enrich_ips(store, write_world(tmp_path / "world"))
    summary = run_detections(store, analytics=[ANALYTIC])
    assert summary.failed == {}
    return list_alerts(store)


def test_history_alone_raises_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []


@pytest.mark.parametrize("geoip", [False, True])
def test_reads_from_a_server_nobody_signed_in_from(
    store: Store, tmp_path: Path, geoip: bool
) -> None:
    extra = [read("evil-1", at(10, 2), ALICE, VPS + ":443"), read("evil-2", at(10, 3), BOB, VPS)]
    [alert] = detect(store, tmp_path, extra, geoip=geoip)
    assert alert.rule_id == "new-network-for-mailbox"
    assert json.loads(alert.entity) == [TENANT, "45.77.12.0/24"]
    assert (alert.mailboxes, alert.event_ids) == ([ALICE, BOB], ["evil-1", "evil-2"])
    assert alert.client_ips == [VPS]
    # the tokens were never issued: one point, two with the hosting network known
    assert alert.severity == ("critical" if geoip else "high")
    network = (
        'AS20473 "AS-CHOOPA" 45.77.12.0/24 (hosting, US)'
        if geoip
        else "45.77.12.0/24 (IP enrichment off)"
    )
    assert alert.summary == (
        f"Network {network} was new to 2 mailbox(es) and their reader(s), and no sign-in of "
        "theirs came from it before 2 access(es); 2 with a token no stored sign-in issued"
    )


def test_why_names_the_baseline_and_what_was_new(store: Store, tmp_path: Path) -> None:
    detect(store, tmp_path, [read("evil", at(10, 2), ALICE, VPS)], geoip=True)
    with detections(store, ANALYTIC) as table:
        [(why,)] = store.query(f"SELECT why FROM {table}")
    assert json.loads(why) == {
        "baseline": "networks the mailbox and its reader used, and the users signed in from, "
        "in the 14 days before (ASN for access networks, /24 or /48 prefix otherwise; country)",
        "new": ["45.77.12.0/24", "country US"],
        "network": "45.77.12.0/24",
        "network_kind": "hosting",
        "asn": 20473,
        "as_org": "AS-CHOOPA",
        "enrichment": True,
        "accesses": 1,
        "signins": 0,
        "tokens_no_signin_issued": 1,
        "not_owner": 0,
        "signin_coverage": True,
    }


def test_a_sign_in_from_the_network_vouches_for_it(store: Store, tmp_path: Path) -> None:
    """The traveller: signs in from a German hotel, then reads there."""
    hotel = "91.40.1.2"
    extra_signins = [signin("s-trip", at(10, 6), ALICE, hotel, "tok-trip")]
    extra = [read("trip", at(10, 6, 1), ALICE, hotel)]
    assert detect(store, tmp_path, extra, extra_signins, geoip=True) == []


def test_reads_before_the_sign_in_are_not_vouched_for(store: Store, tmp_path: Path) -> None:
    hotel = "91.40.1.2"
    extra_signins = [signin("s-trip", at(10, 6), ALICE, hotel, "tok-trip")]
    extra = [
        read("before", at(10, 5, 40), ALICE, hotel),
        read("skewed", at(10, 5, 55), ALICE, hotel),  # within the 10 minutes of clock skew
        read("after", at(10, 6, 1), ALICE, hotel),
    ]
    [alert] = detect(store, tmp_path, extra, extra_signins, geoip=True)
    assert alert.event_ids == ["before"]


def test_an_address_of_a_known_asn_is_not_new_with_enrichment(store: Store, tmp_path: Path) -> None:
    """Alice's ISP gave her an address in another /24: new by prefix, known by ASN."""
    extra = [read("rotated", at(10, 9), ALICE, "86.200.1.1")]
    assert detect(store, tmp_path, extra, geoip=True) == []


def test_without_enrichment_the_prefix_is_judged(store: Store, tmp_path: Path) -> None:
    extra = [read("rotated", at(10, 9), ALICE, "86.200.1.1")]
    extra[0]["AppAccessContext"]["UniqueTokenId"] = "tok-h-a-10"  # issued at home
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "medium"  # a new network, a token issued elsewhere: nothing more
    assert alert.summary.startswith("Network 86.200.1.0/24 (IP enrichment off) was new")


def test_someone_else_reading_from_a_new_network_weighs_more(store: Store, tmp_path: Path) -> None:
    extra = [read("other", at(10, 9), ALICE, "81.2.3.4", actor=BOB)]
    extra[0]["AppAccessContext"]["UniqueTokenId"] = "tok-h-b-10"
    [alert] = detect(store, tmp_path, extra, geoip=True)
    assert alert.severity == "high"
    assert alert.summary.endswith("; 1 by someone other than the mailbox owner")


def test_sign_ins_from_a_new_hosting_network_are_raised_vpn_not(
    store: Store, tmp_path: Path
) -> None:
    extra_signins = [
        signin("s-vps", at(10, 3), ALICE, VPS, "tok-vps"),
        signin("s-vpn", at(10, 4), BOB, "193.138.218.20", "tok-vpn"),
    ]
    extra = [read("via-vpn", at(10, 4, 2), BOB, "193.138.218.20")]
    [alert] = detect(store, tmp_path, extra, extra_signins, geoip=True)
    assert (alert.severity, alert.event_ids, alert.users) == ("medium", ["s-vps"], [ALICE])
    assert alert.summary == (
        'Network AS20473 "AS-CHOOPA" 45.77.12.0/24 (hosting, US) was new to 1 user(s), who '
        "signed in from it 1 time(s)"
    )


def test_a_young_mailbox_is_judged_only_for_a_network_new_to_the_tenant(
    store: Store, tmp_path: Path
) -> None:
    """Carol joined on day 9: her office is known to the tenant (not judged), a server new to
    everybody is."""
    carol = "carol@contoso.onmicrosoft.com"
    extra_signins = [signin("s-c", at(9, 8), carol, "82.1.1.1", "tok-c-1")]
    extra = [
        read("c-1", at(9, 9), carol, "82.1.1.1"),
        read("c-3", at(10, 10), carol, OFFICE),
        read("c-4", at(10, 11), carol, VPS),
    ]
    [alert] = detect(store, tmp_path, extra, extra_signins)
    assert alert.event_ids == ["c-4"]


# -- the test bed --------------------------------------------------------------------------


def bed(tmp_path: Path, *, inject: bool) -> tuple[list[Alert], set[str]]:
    tenant = simulate_tenant(
        tmp_path / "tenant",
        seed=5,
        days=12,
        users=10,
        attacks=["forged-token-familiar-app"],
        inject=inject,
        noise=sorted(NOISES),
    )
    with Store.open(None) as store:
        ingest(store, [tmp_path / "tenant" / "ual", tmp_path / "tenant" / "signins"])
        run_detections(store, analytics=[ANALYTIC])
        alerts = list_alerts(store)
    keys = {r for i in tenant.intrusions for r in (i.key_record_ids or i.record_ids)}
    return alerts, keys


def test_test_bed_forged_tokens_through_a_familiar_app_are_caught(tmp_path: Path) -> None:
    alerts, keys = bed(tmp_path, inject=True)
    assert alerts
    assert all(set(a.event_ids) <= keys for a in alerts)  # nothing benign among them
    assert {a.severity for a in alerts} == {"high"}


def test_test_bed_benign_tenant_with_every_noise_raises_nothing(tmp_path: Path) -> None:
    alerts, keys = bed(tmp_path, inject=False)
    assert (alerts, keys) == ([], set())
