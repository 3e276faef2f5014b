"""Tests of the simulated tenant: determinism, shapes, ground truth and planted personas."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailhunt.simulate import GROUND_TRUTH, SimulatedTenant, simulate_tenant

OUTLOOK_MOBILE = "27922004-5251-4030-b22d-91ecd9a37ea4"
UAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
FIRST_DAY = date(2026, 6, 1)
GRAPH_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

Record = dict[str, Any]


def ual_records(tenant: SimulatedTenant) -> list[Record]:
    records: list[Record] = []
    for path in tenant.ual_files:
        if path.suffix == ".jsonl":
            records += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        else:
            records += json.loads(path.read_text("utf-8"))
    return records


def signins(tenant: SimulatedTenant) -> list[Record]:
    rows: list[Record] = []
    for path in tenant.signin_files:
        rows += json.loads(path.read_text("utf-8"))["value"]
    return rows


def all_files(root: Path) -> Iterator[Path]:
    return (path for path in sorted(root.rglob("*")) if path.is_file())


def day_of(record: Record) -> int:
    return (date.fromisoformat(record["CreationTime"][:10]) - FIRST_DAY).days


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> SimulatedTenant:
    return simulate_tenant(tmp_path_factory.mktemp("tenant"))


@pytest.fixture(scope="module")
def records(tenant: SimulatedTenant) -> list[Record]:
    return ual_records(tenant)


@pytest.fixture(scope="module")
def attacker_ids(tenant: SimulatedTenant) -> set[str]:
    return set(tenant.intrusions[0].record_ids)


@pytest.fixture(scope="module")
def mail_reads(records: list[Record]) -> list[Record]:
    return [r for r in records if r["Operation"] == "MailItemsAccessed"]


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first = simulate_tenant(tmp_path / "a", seed=11, days=10, users=9)
    second = simulate_tenant(tmp_path / "b", seed=11, days=10, users=9)
    names_a = [p.relative_to(tmp_path / "a") for p in all_files(tmp_path / "a")]
    names_b = [p.relative_to(tmp_path / "b") for p in all_files(tmp_path / "b")]
    assert names_a == names_b
    for name in names_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert first.to_json() == second.to_json()


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    first = simulate_tenant(tmp_path / "a", seed=1, days=5, users=8)
    second = simulate_tenant(tmp_path / "b", seed=2, days=5, users=8)
    assert first.ual_files[0].read_bytes() != second.ual_files[0].read_bytes()


def test_without_injection_the_benign_data_is_unchanged(tmp_path: Path) -> None:
    clean = simulate_tenant(tmp_path / "clean", days=9, users=10, inject=False)
    dirty = simulate_tenant(tmp_path / "dirty", days=9, users=10)
    attack = set(dirty.intrusions[0].record_ids)
    assert clean.intrusions == ()
    assert [r for r in ual_records(dirty) if r["Id"] not in attack] == ual_records(clean)
    assert signins(dirty) == signins(clean)


def test_file_layout_and_shapes(tenant: SimulatedTenant) -> None:
    root = tenant.ual_files[0].parent.parent
    assert (root / GROUND_TRUTH).read_text("utf-8") == tenant.to_json()
    assert len(tenant.ual_files) == 21
    blobs = [p for p in tenant.ual_files if p.name.startswith("blob-")]
    assert blobs
    assert all(isinstance(json.loads(p.read_bytes()), list) for p in blobs)
    assert all(p.name.startswith("audit-") for p in tenant.ual_files if p.suffix == ".jsonl")
    for path in tenant.signin_files:
        page = json.loads(path.read_bytes())
        assert page["@odata.context"].endswith("#auditLogs/signIns")
        assert all(GRAPH_TIME.fullmatch(row["createdDateTime"]) for row in page["value"])
    truth = json.loads(tenant.to_json())
    assert truth["ual_files"][0] == "ual/audit-2026-06-01.jsonl"


def test_record_shapes(records: list[Record], mail_reads: list[Record]) -> None:
    assert all(UAL_TIME.fullmatch(r["CreationTime"]) for r in records)
    assert len({r["Id"] for r in records}) == len(records)
    operations = {r["Operation"] for r in records}
    assert {
        "MailItemsAccessed",
        "Send",
        "MoveToDeletedItems",
        "New-InboxRule",
        "UserLoggedIn",
    } <= operations
    assert len(mail_reads) > 0.7 * len(records)
    rpc = [r for r in mail_reads if r["ClientInfoString"] == "Client=MSExchangeRPC"]
    assert rpc
    assert all("AppId" not in r and "ClientAppId" not in r for r in rpc)
    addresses = [r["ClientIPAddress"] for r in mail_reads]
    assert any(re.fullmatch(r"\[[0-9a-f:]+\]:\d+", a) for a in addresses)
    assert any(re.fullmatch(r"[\d.]+:\d+", a) for a in addresses)
    syncs = [r for r in mail_reads if r["OperationProperties"][0]["Value"] == "Sync"]
    assert syncs
    assert all("FolderItems" not in f for r in syncs for f in r["Folders"])


def test_counts_match_files_and_volume_is_modest(
    tenant: SimulatedTenant, records: list[Record]
) -> None:
    assert tenant.ual_record_count == len(records)
    assert tenant.signin_count == len(signins(tenant))
    assert 2_000 <= tenant.ual_record_count <= 6_000
    assert 1_000 <= tenant.signin_count <= 3_000


def test_defaults_are_fast(tmp_path: Path) -> None:
    began = time.perf_counter()
    simulate_tenant(tmp_path)
    assert time.perf_counter() - began < 20


def test_ground_truth_records_are_in_the_files(
    tenant: SimulatedTenant, records: list[Record]
) -> None:
    intrusion = tenant.intrusions[0]
    by_id = {r["Id"]: r for r in records}
    attack = [by_id[record_id] for record_id in intrusion.record_ids]
    assert intrusion.kind == "forged-token-mail-read"
    assert intrusion.tenant_id == tenant.tenant_id
    assert {r["MailboxOwnerUPN"] for r in attack} == set(intrusion.mailboxes)
    assert 2 <= len(intrusion.mailboxes) <= 4
    assert tenant.personas.executive in intrusion.mailboxes
    assert all(r["UserId"] == r["MailboxOwnerUPN"] and r["LogonType"] == 0 for r in attack)
    assert all(r["ClientInfoString"] == "Client=REST;Client=RESTSystem;;" for r in attack)
    assert all(r["ClientAppId"] == intrusion.app_id == intrusion.client_app_id for r in attack)
    read = {
        item["InternetMessageId"]
        for r in attack
        for f in r["Folders"]
        for item in f.get("FolderItems", [])
    }
    assert read == set(intrusion.internet_message_ids)
    accesses = [r["OperationProperties"][0]["Value"] for r in attack]
    assert "Sync" in accesses
    assert accesses.count("Bind") >= 4
    times = sorted(datetime.fromisoformat(r["CreationTime"]).replace(tzinfo=UTC) for r in attack)
    assert (intrusion.first_seen, intrusion.last_seen) == (times[0], times[-1])
    assert day_of(by_id[intrusion.record_ids[0]]) == 18


def test_attacker_tokens_were_issued_by_no_signin(
    tenant: SimulatedTenant, mail_reads: list[Record], attacker_ids: set[str]
) -> None:
    issued = {row["uniqueTokenIdentifier"] for row in signins(tenant)}
    sessions = {row["sessionId"] for row in signins(tenant)}
    attack = [r for r in mail_reads if r["Id"] in attacker_ids]
    assert all(r["AppAccessContext"]["UniqueTokenId"] not in issued for r in attack)
    assert all(r["AppAccessContext"]["AADSessionId"] not in sessions for r in attack)


def test_every_benign_token_was_issued_by_a_signin(
    tenant: SimulatedTenant, mail_reads: list[Record], attacker_ids: set[str]
) -> None:
    by_token = {row["uniqueTokenIdentifier"]: row for row in signins(tenant)}
    checked = 0
    for record in mail_reads:
        context = record.get("AppAccessContext")
        if record["Id"] in attacker_ids or context is None:
            continue
        signin = by_token[context["UniqueTokenId"]]
        assert signin["status"]["errorCode"] == 0
        assert signin["sessionId"] == context.get("AADSessionId")
        issued = datetime.fromisoformat(context["IssuedAtTime"]).replace(tzinfo=UTC)
        used = datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)
        assert signin["createdDateTime"] == context["IssuedAtTime"] + "Z"
        assert timedelta(0) <= used - issued <= timedelta(minutes=90)
        checked += 1
    assert checked > 0.8 * len(mail_reads)


def test_attacker_app_and_addresses_appear_only_in_attacker_records(
    tenant: SimulatedTenant, records: list[Record], attacker_ids: set[str]
) -> None:
    intrusion = tenant.intrusions[0]
    needles = (intrusion.app_id, *intrusion.client_ips)
    for record in records:
        text = json.dumps(record)
        if record["Id"] not in attacker_ids:
            assert not any(needle in text for needle in needles), record["Id"]
    for path in tenant.signin_files:
        text = path.read_text("utf-8")
        assert not any(needle in text for needle in needles)


def test_delegates_read_the_executive_mailbox_from_day_zero(
    tenant: SimulatedTenant, mail_reads: list[Record]
) -> None:
    personas = tenant.personas
    delegated = [r for r in mail_reads if r["LogonType"] == 2]
    assert {r["UserId"] for r in delegated} == set(personas.delegates)
    assert {r["MailboxOwnerUPN"] for r in delegated} == {personas.executive}
    assert min(day_of(r) for r in delegated) == 0


def test_new_device_user_starts_outlook_mobile_mid_period(
    tenant: SimulatedTenant, mail_reads: list[Record]
) -> None:
    personas = tenant.personas
    user, day = personas.new_device_user, personas.new_device_day
    mine = [r for r in mail_reads if r["UserId"] == user]
    mobile = [r for r in mine if r.get("ClientAppId") == personas.new_device_app_id]
    assert mine
    assert min(day_of(r) for r in mine) == 0
    assert min(day_of(r) for r in mobile) == day == 10
    first_signin = min(
        (
            row
            for row in signins(tenant)
            if row["userPrincipalName"] == user and row["appId"] == OUTLOOK_MOBILE
        ),
        key=lambda row: row["createdDateTime"],
    )
    assert first_signin["isInteractive"] is True
    assert first_signin["createdDateTime"].startswith("2026-06-11")


def test_late_joiner_has_little_history(tenant: SimulatedTenant, mail_reads: list[Record]) -> None:
    personas = tenant.personas
    owned = [r for r in mail_reads if r["MailboxOwnerUPN"] == personas.late_joiner]
    assert owned
    assert min(day_of(r) for r in owned) == personas.late_joiner_day == 16
    rows = [row for row in signins(tenant) if row["userPrincipalName"] == personas.late_joiner]
    assert min(row["createdDateTime"] for row in rows).startswith("2026-06-17")


def test_traveller_signs_in_and_reads_mail_abroad(
    tenant: SimulatedTenant, mail_reads: list[Record]
) -> None:
    personas = tenant.personas
    abroad = [
        row
        for row in signins(tenant)
        if row["userPrincipalName"] == personas.traveller
        and row["location"]["countryOrRegion"] == personas.travel_country
    ]
    assert abroad
    assert any(row["isInteractive"] for row in abroad)
    addresses = {row["ipAddress"] for row in abroad}
    reads = [
        r
        for r in mail_reads
        if r["UserId"] == personas.traveller and r["ClientIPAddress"].rsplit(":", 1)[0] in addresses
    ]
    assert {day_of(r) for r in reads} == set(personas.travel_days)


def test_archiver_reads_every_mailbox_every_night(
    tenant: SimulatedTenant, mail_reads: list[Record]
) -> None:
    personas = tenant.personas
    nightly = [r for r in mail_reads if r.get("ClientAppId") == personas.archiver_app_id]
    assert all(r["UserId"] == personas.archiver for r in nightly)
    for day in range(21):
        owners = {r["MailboxOwnerUPN"] for r in nightly if day_of(r) == day}
        expected = {
            u
            for u in personas.users
            if u != personas.late_joiner or day >= personas.late_joiner_day
        }
        assert owners == expected, day


def test_failed_signins_are_a_minority(tenant: SimulatedTenant) -> None:
    rows = signins(tenant)
    failed = [row for row in rows if row["status"]["errorCode"] != 0]
    assert 0 < len(failed) < 0.1 * len(rows)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"users": 6},
        {"days": 0},
        {"intrusion_day": 21},
        {"intrusion_day": -1},
        {"start": datetime(2026, 6, 1)},  # noqa: DTZ001 - naive on purpose
        {"tenant_name": "Not A Label"},
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        simulate_tenant(tmp_path, **kwargs)


def test_short_periods_and_explicit_intrusion_day(tmp_path: Path) -> None:
    tenant = simulate_tenant(tmp_path, days=2, users=7, intrusion_day=1)
    assert len(tenant.ual_files) == 2
    assert tenant.intrusions[0].first_seen.date() == date(2026, 6, 2)
