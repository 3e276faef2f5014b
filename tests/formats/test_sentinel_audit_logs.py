"""Sentinel AuditLogs rows (JSON) onto the events table, on committed fixtures and on the OTRF
Golden SAML dataset's real rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailhunt.formats import entra_directory_audits
from mailhunt.formats.sentinel_audit_logs import FORMAT
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

HERE = FIXTURES / "formats" / "sentinel_audit_logs"
ROWS = HERE / "sentinel_auditlogs.jsonl"
GRAPH_FIXTURES = FIXTURES / "formats" / "entra_directory_audits"
GRANT = "Directory_0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f_KQ2B7_11112222"
CREDENTIAL = "Directory_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d_M4N5P_33334444"
ROLE = "Directory_2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e_R7S8T_55556666"
REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "otrf-security-datasets-goldensaml"
    / "extracted"
    / "AADAuditEvents.json"
)


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.fixture
def audits(store: Store) -> dict[str, Record]:
    result = ingest(store, [ROWS]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 3, 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(audits: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in audits.values()])


def test_sniffed_as_sentinel_audit_logs() -> None:
    sniffed, _ = sniff_file(ROWS)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        (
            {
                "Id": "1",
                "TimeGenerated": "x",
                "OperationName": "y",
                "InitiatedBy": "{}",
                "TargetResources": "[]",
                "LoggedByService": "Core Directory",
            },
            True,
        ),
        (
            {
                "Id": "1",
                "ActivityDateTime": "x",
                "OperationName": "y",
                "InitiatedBy": {},
                "TargetResources": [],
                "LoggedByService": "Core Directory",
            },
            True,
        ),
        # a projection without its time cannot be placed: not claimed
        (
            {
                "Id": "1",
                "OperationName": "y",
                "InitiatedBy": "{}",
                "TargetResources": "[]",
                "LoggedByService": "Core Directory",
            },
            False,
        ),
        (
            {"id": "1", "activityDateTime": "x", "activityDisplayName": "y", "initiatedBy": {}},
            False,
        ),  # Graph directoryAudit
    ],
)
def test_sniff_claims_audit_log_rows_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_initiated_by_as_object_or_json_string(audits: dict[str, Record]) -> None:
    as_object, as_text = audits[GRANT], audits[CREDENTIAL]
    assert (as_object["actor_upn"], as_object["client_ip"]) == (
        "alice.walker@contoso.onmicrosoft.com",
        "203.0.113.10",
    )
    assert (as_text["actor_upn"], as_text["app_id"]) == (
        "mail sync helper",
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    )
    assert as_object["user_agent"].startswith("Mozilla/5.0")  # AdditionalDetails object list
    assert as_text["user_agent"] == "python-requests/2.31.0"  # AdditionalDetails JSON text


def test_cut_short_initiated_by_is_a_warning_not_a_loss(store: Store) -> None:
    result = ingest(store, [ROWS]).files[0]
    assert result.warnings == {"dynamic_not_json": 1}
    role = {r["record_id"]: r for r in table_rows(store, "events")}[ROLE]
    assert (role["actor_upn"], role["warnings"]) == (None, ["dynamic_not_json"])


def test_operation_from_activity_name_else_operation_name(audits: dict[str, Record]) -> None:
    assert audits[ROLE]["operation"] == "Add member to role"  # ActivityDisplayName ""
    assert audits[CREDENTIAL]["operation"].endswith("Certificates and secrets management ")


def test_tenant_is_aad_tenant_not_workspace(audits: dict[str, Record]) -> None:
    assert {row["tenant_id"] for row in audits.values()} == {TENANT}


def test_same_audit_from_graph_and_sentinel_is_stored_once(store: Store) -> None:
    graph = ingest(store, sorted(GRAPH_FIXTURES.glob("graph_*")))
    assert {f.format for f in graph.files} == {entra_directory_audits.FORMAT.name}
    assert ingest(store, [ROWS]).files[0].records_new == 0
    graph_rows = table_rows(store, "events")
    assert len(graph_rows) == 4


def test_malformed_rows_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = ROWS.read_text("utf-8").splitlines()[0]
    row = json.loads(good)
    bad_time = {**row, "Id": "x-1", "TimeGenerated": "2024-13-45", "ActivityDateTime": ""}
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join([good, json.dumps({**row, "Id": ""}), json.dumps(bad_time)]))
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason FROM quarantine ORDER BY line") == [
        (2, "missing_id"),
        (3, "bad_time"),
    ]


def test_same_file_twice_changes_nothing(store: Store) -> None:
    ingest(store, [ROWS])
    assert ingest(store, [ROWS]).files[0].status == "duplicate"
    assert store.count("events") == 3


def test_real_golden_saml_audit_rows() -> None:
    if not REAL.is_file():
        pytest.skip(f"real sample {REAL} absent (set MAILHUNT_REAL_DATA)")
    sniffed, _ = sniff_file(REAL)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    with Store.open(None) as store:
        result = ingest(store, [REAL]).files[0]
        # 4 rows, 3 audits: a hunting query expanded the credential change's modified
        # properties (mv-expand), repeating its Id on lines 1 and 2; the repeat is dropped.
        assert (result.status, result.records_read, result.records_new, result.quarantined) == (
            "ingested",
            4,
            3,
            0,
        )
        assert result.detail == "1 duplicate record(s) dropped"
        assert store.query(
            "SELECT operation, actor_upn, result, tenant_id, split_part(source_ref, ':', -1) "
            "FROM events ORDER BY time"
        ) == [
            (
                "Update application",
                "pgustavo@simulandlabs.com",
                "success",
                "00000000-0000-0000-0000-000000000000",
                "3",
            ),
            (
                "Add delegated permission grant",
                "pgustavo@simulandlabs.com",
                "success",
                "00000000-0000-0000-0000-000000000000",
                "4",
            ),
            (
                "Update application \N{EN DASH} Certificates and secrets management ",
                "pgustavo@simulandlabs.com",
                "success",
                "00000000-0000-0000-0000-000000000000",
                "1",
            ),
        ]
