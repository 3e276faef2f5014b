"""Sentinel SigninLogs / AADNonInteractiveUserSignInLogs rows (JSON) onto the signins table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.sentinel_signin_logs import FORMAT
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

HERE = FIXTURES / "formats" / "sentinel_signin_logs"
FILES = [HERE / "sentinel_signinlogs.jsonl", HERE / "sentinel_noninteractive.json"]
ROW = "8d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e{:04d}"
WORKSPACE = "3d9a4b5c-6e7f-4a8b-9c0d-1e2f3a4b5c6d"  # the TenantId column: never the tenant


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    summary = ingest(store, FILES)
    assert [(f.format, f.status, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, "ingested", 2, 0),
        (FORMAT.name, "ingested", 2, 0),
    ]
    return {row["record_id"]: row for row in table_rows(store, "signins")}


def test_rows_match_golden(signins: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in signins.values()])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sniffed_as_sentinel_sign_ins(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        (
            {
                "Id": "1",
                "TimeGenerated": "x",
                "AppId": "a",
                "ResultType": "0",
                "Category": "SignInLogs",
            },
            True,
        ),
        (
            {
                "Id": "1",
                "CreatedDateTime": "x",
                "AppId": "a",
                "ResultType": "0",
                "Type": "AADNonInteractiveUserSignInLogs",
            },
            True,
        ),
        (
            {
                "Id": "1",
                "TimeGenerated": "x",
                "AppId": "a",
                "ResultType": "0",
                "OperationName": "Sign-in activity",
            },
            True,
        ),
        # no sign-in table named: another Log Analytics table
        (
            {
                "Id": "1",
                "TimeGenerated": "x",
                "AppId": "a",
                "ResultType": "0",
                "Category": "ApplicationManagement",
            },
            False,
        ),
        # Graph signIn (camelCase) belongs to entra-signins-graph
        ({"id": "1", "createdDateTime": "x", "appId": "a", "userPrincipalName": "u"}, False),
    ],
)
def test_sniff_claims_sentinel_sign_in_rows_only(
    tmp_path: Path, record: Record, claimed: bool
) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_dynamic_columns_as_objects_or_json_strings(signins: dict[str, Record]) -> None:
    as_object, as_text = signins[ROW.format(1)], signins[ROW.format(3)]  # SigninLogs, non-int.
    assert (as_object["country"], as_object["city"], as_object["error_code"]) == (
        "US",
        "Seattle",
        0,
    )
    assert (as_text["country"], as_text["city"], as_text["error_code"]) == ("NL", "Amsterdam", 0)


def test_result_type_is_a_string_zero_for_success(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["error_code"] == 0
    assert signins[ROW.format(1)]["failure_reason"] is None
    failed = signins[ROW.format(2)]
    assert failed["error_code"] == 50126
    assert failed["failure_reason"].startswith("Invalid username or password")
    assert signins[ROW.format(4)]["error_code"] == 50173  # from a Status JSON string


def test_interactive_from_flag_text_or_table(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["interactive"] is True  # JSON boolean
    assert signins[ROW.format(3)]["interactive"] is False  # "False" (az CLI text)
    assert signins[ROW.format(4)]["interactive"] is False  # no IsInteractive: by Category


def test_tenant_is_the_entra_tenant_never_the_workspace(signins: dict[str, Record]) -> None:
    assert {row["tenant_id"] for row in signins.values()} == {TENANT}
    assert WORKSPACE not in json.dumps(list(signins.values()))
    # row 2 has empty ResourceTenantId and HomeTenantId: AADTenantId is used


def test_resource_is_resource_identity_not_the_azure_resource_path(
    signins: dict[str, Record],
) -> None:
    assert signins[ROW.format(1)]["resource_id"] == "00000002-0000-0ff1-ce00-000000000000"
    assert signins[ROW.format(4)]["resource_id"] is None  # ResourceIdentity "" and a path


def test_time_is_the_sign_in_time_not_ingestion(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["time"] == "2024-03-04T09:10:01.441000Z"  # CreatedDateTime
    # (TimeGenerated of that row is 09:10:02.1234567)


def test_ids_lower_cased_and_empty_strings_are_null(signins: dict[str, Record]) -> None:
    row = signins[ROW.format(1)]
    assert row["user_id"] == "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert row["user_upn"] == "alice.walker@contoso.onmicrosoft.com"
    assert (row["session_id"], row["unique_token_id"]) == (
        "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
        "gX1yQ2vA8EqJk3mN4pR5sA",
    )
    failed = signins[ROW.format(2)]
    assert (failed["session_id"], failed["unique_token_id"]) == (None, None)
    assert failed["client_ip"] == "2001:db8:85a3::8a2e:370:7334"


def test_dynamic_text_that_is_not_json_is_a_warning(store: Store) -> None:
    summary = ingest(store, [FILES[1]])
    assert summary.files[0].warnings == {"dynamic_not_json": 1}
    row = {r["record_id"]: r for r in table_rows(store, "signins")}[ROW.format(4)]
    assert row["warnings"] == ["dynamic_not_json"]
    assert (row["country"], row["city"]) == ("NL", None)  # Location column, no city


def test_malformed_rows_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = json.loads(FILES[0].read_text("utf-8").splitlines()[0])
    no_id = {**good, "Id": ""}
    bad_time = {
        **good,
        "Id": "x-1",
        "TimeGenerated": "yesterday",
        "CreatedDateTime": "soon",
        "AuthenticationDetails": [],
    }
    path = tmp_path / "signins.jsonl"
    path.write_text(
        "\n".join(
            [json.dumps(good), json.dumps(no_id), json.dumps(bad_time), '{"Id": "x-2", "TimeGen']
        )
        + "\n",
        "utf-8",
    )
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 3)
    reasons = store.query("SELECT line, reason FROM quarantine ORDER BY line")
    assert reasons == [(2, "missing_id"), (3, "bad_time"), (4, "invalid_json")]


def test_same_file_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, FILES)
    again = tmp_path / "again.json"
    again.write_text(json.dumps(json.loads(FILES[1].read_text("utf-8"))), "utf-8")  # re-export
    summary = ingest(store, [*FILES, again])
    assert [f.records_new for f in summary.files] == [0, 0, 0]
    assert store.count("signins") == 4
