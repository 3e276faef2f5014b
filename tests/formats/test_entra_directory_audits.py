"""Graph directory audits (auditLogs/directoryAudits) onto the events table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.entra_directory_audits import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, Record, check_golden_file, sniffed_as, table_rows

HERE = FIXTURES / "formats" / "entra_directory_audits"
PAGE = HERE / "graph_directory_audits_page.json"
LINES = HERE / "graph_directory_audits.jsonl"
ARRAY = HERE / "graph_directory_audits_array.json"
FILES = [PAGE, LINES, ARRAY]
GRANT = "Directory_0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f_KQ2B7_11112222"
CREDENTIAL = "Directory_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d_M4N5P_33334444"
ROLE = "Directory_2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e_R7S8T_55556666"
FAILED = "Directory_3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f_U1V2W_77778888"


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.fixture
def audits(store: Store) -> dict[str, Record]:
    summary = ingest(store, FILES)
    assert [(f.format, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, 2, 0),
        (FORMAT.name, 1, 0),
        (FORMAT.name, 1, 0),
    ]
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(audits: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "tenant_id", "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in audits.values()])


@pytest.mark.parametrize(
    ("path", "container"),
    [(PAGE, "json-array"), (LINES, "json-lines"), (ARRAY, "json-array")],
    ids=["page", "lines", "array"],
)
def test_page_lines_and_array_sniffed(path: Path, container: str) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == (container, FORMAT.name)


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"id": "1", "activityDateTime": "x", "activityDisplayName": "y", "initiatedBy": {}}, True),
        ({"id": "1", "activityDateTime": "x", "activityDisplayName": "y"}, False),
        (
            {
                "Id": "1",
                "TimeGenerated": "x",
                "OperationName": "y",
                "InitiatedBy": "{}",
                "TargetResources": "[]",
                "LoggedByService": "Core Directory",
            },
            False,
        ),  # Sentinel
        ({"id": "1", "createdDateTime": "x", "appId": "a"}, False),  # Graph signIn
    ],
)
def test_sniff_claims_directory_audits_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_user_actor_with_ip_and_user_agent(audits: dict[str, Record]) -> None:
    grant = audits[GRANT]
    assert (grant["operation"], grant["actor_upn"], grant["client_ip"], grant["app_id"]) == (
        "Consent to application",
        "alice.walker@contoso.onmicrosoft.com",
        "203.0.113.10",
        None,
    )
    assert grant["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")
    assert audits[ROLE]["user_agent"] is None  # no additionalDetails


def test_app_actor_by_display_name_then_app_id(audits: dict[str, Record]) -> None:
    credential = audits[CREDENTIAL]
    assert (credential["actor_upn"], credential["app_id"], credential["client_ip"]) == (
        "mail sync helper",
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        None,
    )
    assert audits[FAILED]["actor_upn"] == "1b730954-1685-4b74-9bfd-dac224a7b894"


def test_operation_verbatim_and_result(audits: dict[str, Record]) -> None:
    assert audits[CREDENTIAL]["operation"] == (
        "Update application \N{EN DASH} Certificates and secrets management "
    )
    assert (audits[GRANT]["result"], audits[FAILED]["result"]) == ("success", "failure")


def test_workload_is_entra_and_tenant_unknown(audits: dict[str, Record]) -> None:
    assert {(row["workload"], row["tenant_id"]) for row in audits.values()} == {
        ("AzureActiveDirectory", None)
    }
    assert audits[GRANT]["time"] == "2024-03-04T09:20:11.502345Z"


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = LINES.read_text("utf-8").splitlines()[0]
    record = json.loads(good)
    path = tmp_path / "audits.jsonl"
    path.write_text(
        "\n".join(
            [
                good,
                json.dumps({**record, "id": None}),
                json.dumps({**record, "id": "x", "activityDateTime": "03/04"}),
                "[1, 2]",
            ]
        )
        + "\n"
    )
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 3)
    assert store.query("SELECT line, reason FROM quarantine ORDER BY line") == [
        (2, "missing_id"),
        (3, "bad_time"),
        (4, "not_object"),
    ]


def test_same_files_twice_change_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, FILES)
    as_lines = tmp_path / "again.jsonl"  # the page's records again, as JSON Lines
    as_lines.write_text(
        "".join(json.dumps(r) + "\n" for r in json.loads(PAGE.read_text("utf-8"))["value"])
    )
    assert [f.records_new for f in ingest(store, [*FILES, as_lines]).files] == [0, 0, 0, 0]
    assert store.count("events") == 4
