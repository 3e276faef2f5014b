"""Azure Monitor diagnostic-settings provisioning events (category ProvisioningLogs) onto the
events table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.azure_monitor_provisioning_logs import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    TENANT,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
)

HERE = FIXTURES / "formats" / "azure_monitor_provisioning_logs"
STORAGE = HERE / "azmon_provisioning_logs_PT1H.json"
CREATED = "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f"  # diagnostic-settings casing: Id, Name, Status
DISABLED = "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f20"  # Graph casing: id, displayName, status
DROPBOX = "97e0a159-74ec-4db1-918a-c03a9c3b6b81"


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    result = ingest(store, [STORAGE]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(events: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: row[c] for c in columns} for row in events.values()]
    check_golden_file(HERE / "golden.json", {"rows": rows})


def test_storage_lines_sniffed() -> None:
    sniffed, _ = sniff_file(STORAGE)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-lines", FORMAT.name)


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"time": "x", "category": "ProvisioningLogs", "properties": {"id": "1"}}, True),
        ({"time": "x", "category": "ProvisioningLogs", "properties": None}, False),
        ({"time": "x", "category": "Provisioning", "properties": {"id": "1"}}, False),
    ],
)
def test_sniff_claims_provisioning_envelopes_only(
    tmp_path: Path, record: Record, claimed: bool
) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_members_read_whichever_their_casing(events: dict[str, Record]) -> None:
    created, disabled = events[CREATED], events[DISABLED]
    assert (created["operation"], created["result"], created["actor_upn"], created["app_id"]) == (
        "create",
        "success",
        "azure ad provisioning service",
        DROPBOX,  # targetSystem.details.ApplicationId, lower-cased
    )
    assert (disabled["operation"], disabled["result"], disabled["actor_upn"]) == (
        "disable",
        "failure",
        "alice.walker@contoso.onmicrosoft.com",  # an administrator's on-demand run
    )
    assert (disabled["app_id"], disabled["client_ip"]) == (DROPBOX, "203.0.113.10")


def test_time_tenant_and_workload(events: dict[str, Record]) -> None:
    assert events[DISABLED]["time"] == "2024-03-04T14:05:11.870000Z"  # activityDateTime
    assert {(row["tenant_id"], row["workload"]) for row in events.values()} == {
        (TENANT, "AzureActiveDirectory")
    }


def test_status_falls_back_to_result_type(tmp_path: Path, store: Store) -> None:
    record = json.loads(STORAGE.read_text("utf-8").splitlines()[0])
    record["properties"]["provisioningStatusInfo"] = "not an object"
    record["properties"]["initiatedBy"] = None
    record["resultType"] = "Skipped"
    path = tmp_path / "PT1H.json"
    path.write_text(json.dumps(record) + "\n")
    assert ingest(store, [path]).files[0].records_new == 1
    row = table_rows(store, "events")[0]
    assert (row["result"], row["actor_upn"]) == ("Skipped", None)


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = json.loads(STORAGE.read_text("utf-8").splitlines()[0])
    no_id = {**good, "properties": {**good["properties"], "id": ""}}
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join([json.dumps(good), json.dumps(no_id), "[1, 2]"]) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason, detail FROM quarantine ORDER BY line") == [
        (2, "missing_id", "record has no id (properties.id)"),
        (3, "not_object", "record is not a JSON object (a list)"),
    ]
