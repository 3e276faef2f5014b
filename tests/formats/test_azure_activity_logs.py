"""The Azure Activity log, Azure Monitor diagnostic-settings records (storage-account lines and
an Event Hub message), onto the events table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.azure_activity_logs import FORMAT, WORKLOAD
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, sniffed_as, table_rows

HERE = FIXTURES / "formats" / "azure_activity_logs"
LINES = HERE / "PT1H.json"
EVENT_HUB = HERE / "activity_eventhub.json"
FIREWALL = "0b7e2c1d-4f3a-4e5b-9c6d-7e8f9a0b1c2d"


@pytest.fixture
def events(store: Store) -> list[Record]:
    lines, hub = ingest(store, [LINES, EVENT_HUB]).files
    # 8 lines: one repeats an earlier record (dropped), one has no time (quarantined)
    assert (lines.format, lines.records_read, lines.records_new, lines.quarantined) == (
        FORMAT.name,
        8,
        6,
        1,
    )
    assert (hub.format, hub.records_new, hub.quarantined) == (FORMAT.name, 2, 0)
    return table_rows(store, "events", order_by="time")


def test_rows_match_golden(events: list[Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden_file(HERE / "golden.json", {"rows": [{c: r[c] for c in columns} for r in events]})


def test_start_and_outcome_are_two_records(events: list[Record]) -> None:
    firewall = [r for r in events if r["record_id"].startswith(FIREWALL + "|")]
    assert [(r["operation"], r["result"]) for r in firewall] == [
        ("MICROSOFT.NETWORK/AZUREFIREWALLS/DELETE", "Start"),
        ("MICROSOFT.NETWORK/AZUREFIREWALLS/DELETE", "Success"),
    ]
    assert {r["workload"] for r in events} == {WORKLOAD}
    assert {r["tenant_id"] for r in events} == {TENANT}  # tenantId, else the token's claim


def test_category_actor_and_properties(events: list[Record]) -> None:
    by_operation = {r["operation"]: r for r in events}
    role = by_operation["Microsoft.Authorization/roleAssignments/write"]
    # an older export: category "Write" is documented as Administrative; no caller: the appid
    assert (role["category"], role["actor_upn"], role["app_id"]) == (
        "Administrative",
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    )
    assert [r["category"] for r in events].count("Security") == 1
    assert [r["category"] for r in events].count("Policy") == 1
    secret = by_operation["MICROSOFT.KEYVAULT/VAULTS/SECRETS/DELETE"]
    parameters = {p["name"]: p["value"] for p in secret["parameters"]}
    assert parameters["message"] == "Microsoft.KeyVault/vaults/secrets/delete"
    assert json.loads(parameters["statusMessage"])["error"]["code"] == "AuthorizationFailed"
    assert secret["object_id"].endswith("/VAULTS/KV-CONTOSO-PROD/SECRETS/SQL-ADMIN-PASSWORD")


def test_event_hub_message_sniffed() -> None:
    sniffed, _ = sniff_file(EVENT_HUB)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", FORMAT.name)


ENVELOPE = {"time": "2024-04-02T10:15:02Z", "resourceId": "/subscriptions/x", "operationName": "y"}


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({**ENVELOPE, "category": "Administrative"}, True),
        ({**ENVELOPE, "category": "policy"}, True),
        ({**ENVELOPE, "category": "Write"}, True),
        ({**ENVELOPE, "category": "AuditLogs", "properties": {}}, False),  # Entra's
        ({**ENVELOPE, "category": "Administrative", "operationName": {"value": "y"}}, False),
        ({"time": "x", "operationName": "y", "category": "Administrative"}, False),
    ],
)
def test_sniff_claims_activity_records_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_same_records_twice_change_nothing(tmp_path: Path, store: Store) -> None:
    ingest(store, [EVENT_HUB])
    lines = tmp_path / "PT1H.json"  # the same records, archived to a storage account
    records = json.loads(EVENT_HUB.read_text("utf-8"))["records"]
    lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert [f.records_new for f in ingest(store, [lines]).files] == [0]
    assert store.count("events") == 2
