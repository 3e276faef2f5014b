"""Azure Monitor diagnostic-settings directory audits (category AuditLogs) onto the events
table, mapped as Graph directoryAudits are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats import entra_directory_audits
from mailhunt.formats.azure_monitor_audit_logs import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    ROGUE_APP,
    TENANT,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
)

HERE = FIXTURES / "formats" / "azure_monitor_audit_logs"
EVENT_HUB = HERE / "azmon_audit_logs_eventhub.json"
CONSENT = "Directory_5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f80_KQ2B7_90901111"
CREDENTIAL = "Directory_6e7f8a9b-0c1d-4e2f-9a3b-4c5d6e7f8a91_M4N5P_12123434"
ROLE = "Directory_7f8a9b0c-1d2e-4f3a-8b4c-5d6e7f8a9b02_R7S8T_56567878"


@pytest.fixture
def audits(store: Store) -> dict[str, Record]:
    result = ingest(store, [EVENT_HUB]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 3, 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(audits: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: row[c] for c in columns} for row in audits.values()]
    check_golden_file(HERE / "golden.json", {"rows": rows})


def test_event_hub_message_sniffed() -> None:
    sniffed, _ = sniff_file(EVENT_HUB)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", FORMAT.name)


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"time": "x", "category": "AuditLogs", "properties": {"id": "1"}}, True),
        ({"time": "x", "category": "auditlogs", "properties": {}}, True),
        ({"time": "x", "category": "AuditLogs", "properties": "{}"}, False),
        ({"category": "AuditLogs", "properties": {"id": "1"}}, False),  # no envelope time
        # a Graph directoryAudit (no envelope) is the Graph format's
        (
            {"id": "1", "activityDateTime": "x", "activityDisplayName": "y", "initiatedBy": {}},
            False,
        ),
    ],
)
def test_sniff_claims_audit_envelopes_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_mapping_is_the_graph_formats(audits: dict[str, Record]) -> None:
    consent = audits[CONSENT]
    assert (consent["operation"], consent["result"], consent["actor_upn"]) == (
        "Consent to application",
        "success",
        "alice.walker@contoso.onmicrosoft.com",
    )
    assert consent["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")
    assert consent["workload"] == entra_directory_audits.WORKLOAD
    assert consent["time"] == "2024-03-04T09:20:11.502345Z"  # activityDateTime, not envelope


def test_app_actor_and_verbatim_operation(audits: dict[str, Record]) -> None:
    credential = audits[CREDENTIAL]
    assert (credential["actor_upn"], credential["app_id"]) == ("mail sync helper", ROGUE_APP)
    assert credential["operation"] == (
        "Update application \N{EN DASH} Certificates and secrets management "
    )


def test_envelope_gives_tenant_caller_ip_and_activity_name(audits: dict[str, Record]) -> None:
    assert {row["tenant_id"] for row in audits.values()} == {TENANT}
    role = audits[ROLE]  # no activityDisplayName, empty initiator ipAddress, roles as a string
    assert (role["operation"], role["result"], role["client_ip"], role["actor_upn"]) == (
        "Add member to role",
        "failure",
        "192.0.2.44",
        "bob.stone@contoso.onmicrosoft.com",
    )


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    records = json.loads(EVENT_HUB.read_text("utf-8"))["records"]
    good = records[0]
    no_id = {**good, "properties": {k: v for k, v in good["properties"].items() if k != "id"}}
    bad_time = {
        **good,
        "time": "soon",
        "properties": {**good["properties"], "id": "Directory_x", "activityDateTime": "later"},
    }
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join(json.dumps(r) for r in (good, no_id, bad_time)) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason, detail FROM quarantine ORDER BY line") == [
        (2, "missing_id", "record has no id (properties.id)"),
        (3, "bad_time", "record time cannot be parsed: 'soon'"),
    ]


def test_same_records_twice_change_nothing(tmp_path: Path, store: Store) -> None:
    ingest(store, [EVENT_HUB])
    lines = tmp_path / "PT1H.json"  # the same records, archived to a storage account
    records = json.loads(EVENT_HUB.read_text("utf-8"))["records"]
    lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert [f.records_new for f in ingest(store, [EVENT_HUB, lines]).files] == [0, 0]
    assert store.count("events") == 3
