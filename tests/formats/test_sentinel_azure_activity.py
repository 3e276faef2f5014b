"""The Azure Activity log as Log Analytics AzureActivity rows (JSON and the portal's CSV) onto
the events table, mapped as the diagnostic-settings records are."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.formats import sentinel_azure_activity, sentinel_azure_activity_csv
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, check_golden_file, sniffed_as, table_rows

HERE = FIXTURES / "formats" / "sentinel_azure_activity"
ROWS = HERE / "azureactivity.jsonl"
CSV = FIXTURES / "formats" / "sentinel_azure_activity_csv" / "azureactivity_portal.csv"
POD = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
VAULT = "8b7c6d5e-4f3a-4b2c-8d9e-8f7a6b5c4d3e"
CONSOLE = "9c8d7e6f-5a4b-4c3d-9e2f-9a8b7c6d5e4f"


def _rows(store: Store, path: Path, name: str, count: int) -> dict[str, Record]:
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (name, count, 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_json_rows_match_golden(store: Store) -> None:
    rows = _rows(store, ROWS, sentinel_azure_activity.FORMAT.name, 3)
    columns = [*sentinel_azure_activity.FORMAT.select, "source", "source_ref"]
    check_golden_file(
        HERE / "golden.json", {"rows": [{c: r[c] for c in columns} for r in rows.values()]}
    )


def test_mapping(store: Store) -> None:
    rows = _rows(store, ROWS, sentinel_azure_activity.FORMAT.name, 3)
    assert {r["tenant_id"] for r in rows.values()} == {TENANT}  # the claim, not the workspace
    pod, vault, console = rows[POD], rows[VAULT], rows[CONSOLE]
    assert (pod["operation"], pod["result"], pod["category"], pod["actor_upn"]) == (
        "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/PODS/DELETE",
        "Success",
        "Administrative",
        "mallory@contoso.onmicrosoft.com",
    )
    # dynamic columns as JSON text read as objects are
    assert {p["name"]: p["value"] for p in vault["parameters"]}["message"] == (
        "Microsoft.KeyVault/vaults/delete"
    )
    assert (vault["app_id"], vault["client_ip"]) == (
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        "2001:db8:7::15",
    )
    # a row of the schema before 2020: no ...Value columns, no _d twins
    assert (console["operation"], console["result"], console["object_id"]) == (
        "MICROSOFT.PORTAL/CONSOLES/WRITE",
        "Succeeded",
        "/providers/Microsoft.Portal/consoles/default",
    )


def test_portal_csv_reads_as_json_rows(tmp_path: Path) -> None:
    with Store.open(None) as json_store, Store.open(None) as csv_store:
        from_json = _rows(json_store, ROWS, sentinel_azure_activity.FORMAT.name, 3)
        from_csv = _rows(csv_store, CSV, sentinel_azure_activity_csv.FORMAT.name, 2)
    same = ("operation", "result", "actor_upn", "app_id", "client_ip", "object_id", "category")
    for record_id, row in from_csv.items():
        assert {c: row[c] for c in same} == {c: from_json[record_id][c] for c in same}
        assert row["parameters"] == from_json[record_id]["parameters"]
    # the portal writes milliseconds
    assert from_csv[POD]["time"] == "2024-04-02T12:01:09.123000Z"


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        (
            {
                "EventDataId": "1",
                "CorrelationId": "c",
                "TimeGenerated": "t",
                "Type": "AzureActivity",
            },
            True,
        ),
        (
            {
                "EventDataId": "1",
                "CorrelationId": "c",
                "TimeGenerated": "t",
                "OperationNameValue": "x",
                "CategoryValue": "Administrative",
            },
            True,
        ),
        ({"EventDataId": "1", "CorrelationId": "c", "Type": "AzureActivity"}, False),  # no time
        ({"EventDataId": "1", "TimeGenerated": "t", "Type": "AzureActivity"}, False),
    ],
)
def test_sniff(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == sentinel_azure_activity.FORMAT.name) is claimed
