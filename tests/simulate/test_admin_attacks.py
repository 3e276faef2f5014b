"""The administrative attacks and their noise sources: deterministic, the ground truth's
records are in the files, the benign records are unchanged, and each writes the shape it says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mailhunt.simulate import simulate_tenant
from mailhunt.simulate.model import SimulatedTenant

ATTACKS = ("bec-inbox-rule", "illicit-consent", "admin-self-grant", "audit-tampering")
NOISE = (
    "approved-app-consent",
    "helpdesk-permission-grant",
    "legit-forwarding",
    "legit-inbox-rules",
)


def _documents(path: Path) -> list[dict[str, Any]]:
    text = path.read_text("utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    document = json.loads(text)
    return list(document["value"] if isinstance(document, dict) else document)


def records(tenant: SimulatedTenant) -> dict[str, dict[str, Any]]:
    """Every UAL record and sign-in of the tenant by id."""
    found: dict[str, dict[str, Any]] = {}
    for path in tenant.ual_files:
        found.update((record["Id"], record) for record in _documents(path))
    for path in tenant.signin_files:
        found.update((record["id"], record) for record in _documents(path))
    return found


def simulate(folder: Path, *, inject: bool = True, attack: str | None = None) -> SimulatedTenant:
    return simulate_tenant(
        folder,
        seed=3,
        days=10,
        users=9,
        attacks=(attack,) if attack else ATTACKS,
        noise=NOISE,
        inject=inject,
    )


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> SimulatedTenant:
    return simulate(tmp_path_factory.mktemp("admin-attacks"))


def test_same_arguments_give_identical_bytes(tmp_path: Path, tenant: SimulatedTenant) -> None:
    again = simulate(tmp_path / "again")
    assert [p.read_bytes() for p in again.ual_files] == [p.read_bytes() for p in tenant.ual_files]


def test_truth_records_are_in_the_files(tenant: SimulatedTenant) -> None:
    stored = records(tenant)
    assert [i.kind for i in tenant.intrusions] == list(ATTACKS)
    for intrusion in tenant.intrusions:
        assert set(intrusion.record_ids) <= set(stored)
        assert set(intrusion.key_record_ids) <= set(intrusion.record_ids)
        assert intrusion.key_record_ids


def test_noise_is_planted_and_benign_records_stay(tmp_path: Path, tenant: SimulatedTenant) -> None:
    quiet = simulate(tmp_path / "quiet", inject=False)
    assert quiet.noise == NOISE
    attacked = set(records(tenant))
    benign = set(records(quiet))
    truth = {r for i in tenant.intrusions for r in i.record_ids}
    assert benign <= attacked
    assert attacked - benign <= truth | {
        r["Id"] for r in records(tenant).values() if r.get("Operation") == "UserLoggedIn"
    }


@pytest.mark.parametrize(
    ("kind", "operations"),
    [
        ("bec-inbox-rule", {"New-InboxRule", "Set-Mailbox"}),
        ("illicit-consent", {"Consent to application.", "Add delegated permission grant."}),
        ("admin-self-grant", {"Add-MailboxPermission"}),
        ("audit-tampering", {"Set-MailboxAuditBypassAssociation", "Set-Mailbox"}),
    ],
)
def test_key_records_are_the_tell_tale_operations(
    tenant: SimulatedTenant, kind: str, operations: set[str]
) -> None:
    stored = records(tenant)
    [intrusion] = [i for i in tenant.intrusions if i.kind == kind]
    assert {stored[r]["Operation"] for r in intrusion.key_record_ids} == operations


def test_spray_fails_for_many_users_from_few_addresses(tenant: SimulatedTenant) -> None:
    stored = records(tenant)
    [bec] = [i for i in tenant.intrusions if i.kind == "bec-inbox-rule"]
    failed = [
        stored[r] for r in bec.record_ids if stored[r].get("status", {}).get("errorCode") == 50126
    ]
    assert len({s["userPrincipalName"] for s in failed}) >= 5
    assert len({s["ipAddress"] for s in failed}) <= 3


def test_illicit_app_reads_with_issued_tokens(tenant: SimulatedTenant) -> None:
    stored = records(tenant)
    [consent] = [i for i in tenant.intrusions if i.kind == "illicit-consent"]
    issued = {s["uniqueTokenIdentifier"] for s in stored.values() if "uniqueTokenIdentifier" in s}
    reads = [
        stored[r] for r in consent.record_ids if stored[r].get("Operation") == "MailItemsAccessed"
    ]
    assert reads
    assert all(r["ClientAppId"] == consent.app_id for r in reads)
    assert all(r["AppAccessContext"]["UniqueTokenId"] in issued for r in reads)
