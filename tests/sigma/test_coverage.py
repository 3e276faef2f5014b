"""The fields that brought SigmaHQ's cloud rules from 59 to 115 converted: each mapping, with a
rule that matches exactly the expected records of a small store ingested from the formats'
fixtures (Azure Activity log, Entra audits and sign-ins, a UAL Security & Compliance alert)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, ual_record
from tests.sigma.world import matches

F = FIXTURES / "formats"
FILES = (
    F / "azure_activity_logs" / "PT1H.json",
    F / "azure_activity_logs" / "activity_eventhub.json",
    F / "sentinel_azure_activity" / "azureactivity.jsonl",
    F / "azure_monitor_audit_logs" / "azmon_audit_logs_eventhub.json",
    F / "sentinel_audit_logs" / "sentinel_auditlogs.jsonl",
    F / "azure_monitor_signins" / "azmon_eventhub_signins.json",
    F / "sentinel_signin_logs" / "sentinel_signinlogs.jsonl",
)
FIREWALL = "0b7e2c1d-4f3a-4e5b-9c6d-7e8f9a0b1c2d|"  # its Start and Success records
ELEVATE = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f|"
ADFS = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e|"
KV_ITEM_DELETE = "6e7f8091-a2b3-4c4d-9e5f-6a7b8c9d0e1f|"
ROLE_WRITE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d|"
SECURITY = "e7f8a9b0-c1d2-4e3f-9a4b-5c6d7e8f9a0b|"
POLICY = "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d|"
POD = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
VAULT = "8b7c6d5e-4f3a-4b2c-8d9e-8f7a6b5c4d3e"
CONSOLE = "9c8d7e6f-5a4b-4c3d-9e2f-9a8b7c6d5e4f"
ROLE_AUDITS = {
    "Directory_7f8a9b0c-1d2e-4f3a-8b4c-5d6e7f8a9b02_R7S8T_56567878",
    "Directory_2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e_R7S8T_55556666",
}
MFA_REGISTERED = "Directory_UserManagement_9a8b7c6d_MFA"
MONITOR_SIGNIN_1, MONITOR_SIGNIN_2 = (f"b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a000{n}" for n in (1, 2))
SENTINEL_SIGNIN_1, SENTINEL_SIGNIN_2 = (f"8d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e000{n}" for n in (1, 2))
FORWARDING_ALERT, TRAVEL_ALERT = (
    "c1a2e3f4-0000-4a1b-8c2d-a1e2f3000001",
    "c1a2e3f4-0000-4a1b-8c2d-a1e2f3000002",
)


def _extra_records(folder: Path) -> list[Path]:
    """A Graph directory audit logged by another service, and two UAL alert records."""
    audit = {
        "id": MFA_REGISTERED,
        "category": "UserManagement",
        "correlationId": "0a9b8c7d-6e5f-4a3b-9c1d-0e9f8a7b6c5d",
        "result": "success",
        "activityDisplayName": "User registered security info",
        "activityDateTime": "2024-04-02T09:00:00Z",
        "loggedByService": "Authentication Methods",
        "operationType": "Add",
        "initiatedBy": {"user": {"userPrincipalName": "bob@contoso.com", "ipAddress": ""}},
        "targetResources": [],
        "additionalDetails": [],
    }
    alerts = [
        ual_record(
            record_id,
            "2024-04-02T09:30:00",
            operation,
            RecordType=40,
            Workload="SecurityComplianceCenter",
            UserId="SecurityComplianceAlerts",
            ResultStatus="Succeeded",
            AlertId=alert_id,
            AlertType="System",
            Name=name,
            Category="ThreatManagement",
            Severity="Medium",
            Source="Office 365 Security & Compliance",
            Status="Active",
            EntityType="User",
            AlertEntityId="alice@contoso.com",
        )
        for record_id, alert_id, operation, name in (
            (
                FORWARDING_ALERT,
                "f0e1d2c3-0000-4b5a-9687-a1b2c3d4e5f6",
                "AlertTriggered",
                "Suspicious inbox forwarding",
            ),
            (
                TRAVEL_ALERT,
                "f0e1d2c3-0000-4b5a-9687-a1b2c3d4e5f7",
                "AlertEntityGenerated",
                "Impossible travel activity",
            ),
        )
    ]
    audits, ual = folder / "directory_audits.jsonl", folder / "ual_alerts.jsonl"
    audits.write_text(json.dumps(audit) + "\n", "utf-8")
    ual.write_text("".join(json.dumps(a) + "\n" for a in alerts), "utf-8")
    return [audits, ual]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("coverage")
    with Store.open(None) as store:
        results = ingest(store, [*FILES, *_extra_records(folder)]).files
        assert all(r.status == "ingested" for r in results), results
        yield store


def _ids(found: set[str]) -> set[str]:
    """Activity-log ids cut to their correlation id (their hash part is not the point)."""
    return {i.split("|")[0] + "|" if "|" in i else i for i in found}


ACTIVITY: list[tuple[str, dict[str, Any], set[str]]] = [
    ("operationName", {"operationName": "MICROSOFT.NETWORK/AZUREFIREWALLS/DELETE"}, {FIREWALL}),
    (
        "operationName-startswith",
        {"operationName|startswith": "MICROSOFT.KEYVAULT/VAULTS/"},
        {KV_ITEM_DELETE, VAULT},
    ),
    (
        "OperationNameValue",
        {"OperationNameValue": "Microsoft.Authorization/elevateAccess/action"},
        {ELEVATE},
    ),
    (
        "ResourceProviderValue",
        {
            "ResourceProviderValue": "Microsoft.ADHybridHealthService",
            "ResourceId|contains": "AdFederationService",
        },
        {ADFS},
    ),
    ("CategoryValue", {"CategoryValue": "Security"}, {SECURITY}),
    ("category-policy", {"category": "Policy"}, {POLICY}),
    # older exports' category Write is Administrative
    (
        "category-write",
        {"CategoryValue": "Administrative", "operationName|endswith": "/roleAssignments/write"},
        {ROLE_WRITE},
    ),
    ("ActivityStatusValue", {"ActivityStatusValue": "Failure"}, {KV_ITEM_DELETE}),
    ("Caller", {"Caller": "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"}, {VAULT}),
    ("CallerIpAddress", {"CallerIpAddress|cidr": "2001:db8:7::/48"}, {ADFS, VAULT}),
    ("properties.message", {"properties.message": "Microsoft.Portal/consoles/write"}, {CONSOLE}),
    (
        "properties.message-pods",
        {"properties.message|contains": "connectedClusters/pods"},
        {POD},
    ),
]


@pytest.mark.parametrize(("case", "selection", "expected"), ACTIVITY, ids=[c[0] for c in ACTIVITY])
def test_activitylogs_fields(
    world: Store, tmp_path: Path, case: str, selection: dict[str, Any], expected: set[str]
) -> None:
    found = matches(world, tmp_path, {"sel": selection}, product="azure", service="activitylogs")
    assert _ids(found) == expected


AUDIT: list[tuple[str, dict[str, Any], set[str]]] = [
    ("Category", {"Category": "RoleManagement"}, ROLE_AUDITS),
    ("Category-graph", {"Category": "UserManagement"}, {MFA_REGISTERED}),
    (
        "LoggedByService",
        {"LoggedByService": "Authentication Methods", "Category": "UserManagement"},
        {MFA_REGISTERED},
    ),
    (
        "LoggedByService-core",
        {"LoggedByService": "Core Directory", "Category": "UserManagement"},
        set(),
    ),
]


@pytest.mark.parametrize(("case", "selection", "expected"), AUDIT, ids=[c[0] for c in AUDIT])
def test_auditlogs_fields(
    world: Store, tmp_path: Path, case: str, selection: dict[str, Any], expected: set[str]
) -> None:
    found = matches(world, tmp_path, {"sel": selection}, product="azure", service="auditlogs")
    assert found == expected


SIGNIN: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "AuthenticationRequirement",
        {"AuthenticationRequirement": "singleFactorAuthentication"},
        {MONITOR_SIGNIN_2, SENTINEL_SIGNIN_2},
    ),
    (
        "AuthenticationRequirement-success",
        {"Status": "Success", "AuthenticationRequirement": "multiFactorAuthentication"},
        {MONITOR_SIGNIN_1, SENTINEL_SIGNIN_1},
    ),
    ("ConditionalAccessStatus", {"conditionalAccessStatus": "notApplied"}, {MONITOR_SIGNIN_2}),
    (
        "ResourceDisplayName",
        {"ResourceDisplayName": "Microsoft Graph"},
        {MONITOR_SIGNIN_2},
    ),
    ("RiskState", {"RiskState": "atRisk"}, {MONITOR_SIGNIN_2, SENTINEL_SIGNIN_2}),
    # SigmaHQ writes 'false' as text: the boolean column compares as its text
    (
        "DeviceDetail.isCompliant",
        {"DeviceDetail.isCompliant": "false"},
        {MONITOR_SIGNIN_2, SENTINEL_SIGNIN_2},
    ),
    ("DeviceDetail.trustType", {"DeviceDetail.trusttype": "Azure AD joined"}, {MONITOR_SIGNIN_1}),
    (
        "DeviceDetail.trustType-null",
        {"DeviceDetail.trusttype": None},
        {MONITOR_SIGNIN_2, SENTINEL_SIGNIN_2},
    ),
    (
        "DeviceDetail.deviceId",
        {"DeviceDetail.deviceId|startswith": "7C6B5A49"},
        {SENTINEL_SIGNIN_1},
    ),
]


@pytest.mark.parametrize(("case", "selection", "expected"), SIGNIN, ids=[c[0] for c in SIGNIN])
def test_signinlogs_fields(
    world: Store, tmp_path: Path, case: str, selection: dict[str, Any], expected: set[str]
) -> None:
    found = matches(world, tmp_path, {"sel": selection}, product="azure", service="signinlogs")
    assert found == expected


def test_threat_management_alert_names(world: Store, tmp_path: Path) -> None:
    # SigmaHQ's microsoft365_susp_inbox_forwarding, word for word
    rule = {
        "eventSource": "SecurityComplianceCenter",
        "eventName": "Suspicious inbox forwarding",
        "status": "success",
    }
    found = matches(world, tmp_path, {"sel": rule}, service="threat_management")
    assert found == {FORWARDING_ALERT}
    travel = {"eventName": "Impossible travel activity"}
    assert matches(world, tmp_path, {"sel": travel}, service="threat_detection") == {TRAVEL_ALERT}
    # the outcome: Succeeded is success, nothing here failed
    failed = {"eventSource": "SecurityComplianceCenter", "status": "failure"}
    assert matches(world, tmp_path, {"sel": failed}, service="threat_management") == set()


def test_alert_records_keep_name_and_category(world: Store) -> None:
    rows = world.query(
        "SELECT record_id, alert_name, category, tenant_id FROM events "
        "WHERE alert_name IS NOT NULL ORDER BY record_id"
    )
    assert rows == [
        (FORWARDING_ALERT, "Suspicious inbox forwarding", "ThreatManagement", TENANT),
        (TRAVEL_ALERT, "Impossible travel activity", "ThreatManagement", TENANT),
    ]
