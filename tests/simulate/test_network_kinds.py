"""The test bed's network attacks (forged-token-familiar-app, folder-sync-theft) and noise
(vpn-egress, new-phone-first-sync): their records, ground truth and issued tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailhunt.simulate import SimulatedTenant, simulate_tenant
from mailhunt.simulate.catalog import EXCHANGE_APP_ID, OUTLOOK_MOBILE_APP_ID

Record = dict[str, Any]
NOISE = ["new-phone-first-sync", "vpn-egress"]


def ual(tenant: SimulatedTenant) -> list[Record]:
    records: list[Record] = []
    for path in tenant.ual_files:
        text = path.read_text("utf-8")
        records += (
            json.loads(text) if path.suffix == ".json" else map(json.loads, text.splitlines())
        )
    return records


def signins(tenant: SimulatedTenant) -> list[Record]:
    return [s for p in tenant.signin_files for s in json.loads(p.read_text("utf-8"))["value"]]


def bare(address: str) -> str:
    """The address without the port UAL may add ('1.2.3.4:5', '[2a00::1]:5')."""
    if address.startswith("["):
        return address[1:].split("]")[0]
    return address.split(":")[0] if address.count(":") == 1 else address


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> SimulatedTenant:
    return simulate_tenant(
        tmp_path_factory.mktemp("net"),
        seed=3,
        days=12,
        users=10,
        attacks=["forged-token-familiar-app", "folder-sync-theft"],
        noise=NOISE,
    )


def test_attacks_use_familiar_clients_with_tokens_no_sign_in_issued(
    tenant: SimulatedTenant,
) -> None:
    records = {r["Id"]: r for r in ual(tenant)}
    issued = {s["uniqueTokenIdentifier"] for s in signins(tenant)}
    familiar, theft = tenant.intrusions
    assert (familiar.kind, theft.kind) == ("forged-token-familiar-app", "folder-sync-theft")
    for intrusion, app in ((familiar, EXCHANGE_APP_ID), (theft, OUTLOOK_MOBILE_APP_ID)):
        mine = [records[i] for i in intrusion.record_ids]
        assert {r["ClientAppId"] for r in mine} == {app}
        assert not {r["AppAccessContext"]["UniqueTokenId"] for r in mine} & issued
        assert {bare(r["ClientIPAddress"]) for r in mine} <= set(intrusion.client_ips)
        assert tenant.personas.executive in intrusion.mailboxes
    syncs = [records[i] for i in theft.record_ids]
    assert len(syncs) == 6
    assert {r["OperationProperties"][0]["Value"] for r in syncs} == {"Sync"}
    assert sorted({f["Path"] for r in syncs for f in r["Folders"]}) == [
        "\\Archive",
        "\\Inbox",
        "\\Sent Items",
    ]
    assert all("FolderItems" not in f for r in syncs for f in r["Folders"])


def test_noise_reads_on_tokens_issued_from_the_same_address(tenant: SimulatedTenant) -> None:
    assert list(tenant.noise) == NOISE
    issued = {s["uniqueTokenIdentifier"]: s["ipAddress"] for s in signins(tenant)}
    vpn = [
        r
        for r in ual(tenant)
        if r["Operation"] == "MailItemsAccessed"
        and bare(r["ClientIPAddress"]).startswith(("185.213.154.", "193.138.218."))
    ]
    assert vpn
    for record in vpn:
        token = record["AppAccessContext"]["UniqueTokenId"]
        assert issued[token] == bare(record["ClientIPAddress"])
