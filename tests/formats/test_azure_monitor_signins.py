"""Azure Monitor diagnostic-settings sign-in records (Event Hub / storage account) onto the
signins table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.azure_monitor_signins import FORMAT
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

HERE = FIXTURES / "formats" / "azure_monitor_signins"
EVENT_HUB = HERE / "azmon_eventhub_signins.json"  # {"records": [...]}, pretty-printed
STORAGE = HERE / "azmon_signins_PT1H.json"  # storage-account archive: one record per line
ADFS = HERE / "azmon_adfs_signins_PT1H.json"  # AD FS sign-ins (Connect Health), US-style time
FILES = [EVENT_HUB, STORAGE]
ROW = "b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a{:04d}"


def check_golden(rows: list[Record]) -> None:
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    summary = ingest(store, FILES)
    assert [(f.format, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, 2, 0),
        (FORMAT.name, 3, 0),
    ]
    return {row["record_id"]: row for row in table_rows(store, "signins")}


def test_rows_match_golden(signins: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    check_golden([{c: row[c] for c in columns} for row in signins.values()])


@pytest.mark.parametrize(
    ("path", "container"),
    [(EVENT_HUB, "json-array"), (STORAGE, "json-lines")],
    ids=["event-hub", "storage"],
)
def test_both_deliveries_sniffed(path: Path, container: str) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == (container, FORMAT.name)


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"time": "x", "category": "SignInLogs", "properties": {"id": "1"}}, True),
        ({"time": "x", "category": "ManagedIdentitySignInLogs", "properties": {}}, True),
        ({"time": "x", "category": "ADFSSignInLogs", "properties": {"id": "1"}}, True),
        ({"time": "x", "category": "signinlogs", "properties": {"id": "1"}}, True),
        # the directory audit category of the same pipeline is not a sign-in
        ({"time": "x", "category": "AuditLogs", "properties": {"id": "1"}}, False),
        ({"time": "x", "category": "NetworkAccessTrafficLogs", "properties": {"id": "1"}}, False),
        ({"time": "x", "category": "SignInLogs", "properties": "{}"}, False),
        ({"id": "1", "createdDateTime": "x", "appId": "a"}, False),  # Graph signIn
    ],
)
def test_sniff_claims_sign_in_categories_only(
    tmp_path: Path, record: Record, claimed: bool
) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_record_id_is_the_sign_in_id(signins: dict[str, Record]) -> None:
    assert sorted(signins) == [ROW.format(n) for n in range(1, 6)]


def test_result_type_string_and_level_number_or_string(signins: dict[str, Record]) -> None:
    assert signins[ROW.format(1)]["error_code"] == 0  # resultType "0", Level 4
    failed = signins[ROW.format(2)]  # resultType "50140", Level "4"
    assert failed["error_code"] == 50140
    assert failed["failure_reason"].startswith("This error occurred due to 'Keep me signed in'")


def test_interactive_from_flag_or_category(signins: dict[str, Record]) -> None:
    flags = {n: signins[ROW.format(n)]["interactive"] for n in range(1, 6)}
    assert flags == {1: True, 2: False, 3: False, 4: False, 5: True}  # 3-5 carry no flag


def test_service_principal_and_managed_identity_sign_ins(signins: dict[str, Record]) -> None:
    sp, mi = signins[ROW.format(3)], signins[ROW.format(4)]
    assert (sp["user_upn"], sp["app_id"], sp["resource_id"]) == (
        None,
        "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
        "00000003-0000-0000-c000-000000000000",
    )
    assert (mi["user_upn"], mi["user_id"], mi["app_id"]) == (
        None,
        None,
        "e9f0a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b",
    )
    # no appDisplayName in managed identity sign-ins: the name is servicePrincipalName
    assert (mi["app_name"], mi["client_ip"], mi["country"]) == ("backup-vm-identity", None, None)


def test_envelope_fills_what_properties_lack(signins: dict[str, Record]) -> None:
    row = signins[ROW.format(5)]  # no createdDateTime, ipAddress, location or tenant ids
    assert row["time"] == "2024-03-04T11:20:00Z"  # envelope time
    assert row["client_ip"] == "203.0.113.45"  # callerIpAddress, port removed
    assert (row["country"], row["city"]) == ("US", None)  # envelope location
    assert row["tenant_id"] == TENANT  # envelope tenantId, lower-cased


def test_sign_in_time_preferred_and_ids_lower_cased(signins: dict[str, Record]) -> None:
    row = signins[ROW.format(1)]
    assert row["time"] == "2024-03-04T09:10:01.441000Z"  # createdDateTime, not envelope time
    assert (row["app_id"], row["user_upn"]) == (
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "alice.walker@contoso.onmicrosoft.com",
    )
    assert (row["unique_token_id"], row["session_id"]) == (
        "nE8fX9cH5LxQr0tU1wY2zH",
        "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    )


def test_one_line_event_hub_message(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "message.json"
    path.write_text(json.dumps(json.loads(EVENT_HUB.read_text("utf-8"))), "utf-8")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 0)


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good, *_ = STORAGE.read_text("utf-8").splitlines()
    record = json.loads(good)
    no_properties = {key: value for key, value in record.items() if key != "properties"}
    bad_time = {
        **record,
        "time": "later",
        "properties": {**record["properties"], "id": "x-1", "createdDateTime": "soon"},
    }
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join([good, json.dumps(no_properties), json.dumps(bad_time)]) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason FROM quarantine ORDER BY line") == [
        (2, "missing_id"),
        (3, "bad_time"),
    ]


def test_same_records_twice_change_nothing(tmp_path: Path, store: Store) -> None:
    ingest(store, FILES)
    copy = tmp_path / "copy.json"  # the same records, delivered again in another blob
    copy.write_text(EVENT_HUB.read_text("utf-8").replace("\n", "\r\n"), "utf-8")
    assert [f.records_new for f in ingest(store, [*FILES, copy]).files] == [0, 0, 0]
    assert store.count("signins") == 5


def test_adfs_sign_ins_with_us_style_envelope_time(store: Store) -> None:
    result = ingest(store, [ADFS]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 0)
    rows = {row["record_id"]: row for row in table_rows(store, "signins")}
    ok, locked = (
        rows["58f8ce73-9fc8-4f02-8ea8-1908964f8401"],
        rows["58f8ce73-9fc8-4f02-8ea8-1908964f8402"],
    )
    assert (ok["time"], ok["token_issuer_type"], ok["interactive"], ok["user_upn"]) == (
        "2024-03-04T08:01:58Z",
        "ADFederationServices",
        True,
        "carol.diaz@contoso.onmicrosoft.com",
    )
    assert (locked["error_code"], locked["failure_reason"], locked["unique_token_id"]) == (
        300030,
        "Account is locked out.",
        None,
    )


def test_envelope_time_in_us_order_when_properties_have_none(tmp_path: Path, store: Store) -> None:
    record = json.loads(ADFS.read_text("utf-8").splitlines()[0])
    del record["properties"]["createdDateTime"]  # "time": "3/4/2024 8:02:31 AM"
    path = tmp_path / "PT1H.json"
    path.write_text(json.dumps(record) + "\n")
    assert ingest(store, [path]).files[0].records_new == 1
    assert table_rows(store, "signins")[0]["time"] == "2024-03-04T08:02:31Z"


def test_records_of_other_categories_are_skipped_not_stored(tmp_path: Path, store: Store) -> None:
    sign_in, *_ = STORAGE.read_text("utf-8").splitlines()
    record = json.loads(sign_in)
    # Without the category filter these became sign-in rows. (A category another member of the
    # group reads is routed by the group: tests/formats/test_azure_monitor_entra.py.)
    unknown = {**record, "category": "NetworkAccessTrafficLogs", "properties": {"id": "n-1"}}
    no_category = {key: value for key, value in record.items() if key != "category"}
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join([sign_in, json.dumps(unknown), json.dumps(no_category)]) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined, result.skipped_lines) == (
        FORMAT.name,
        1,
        0,
        2,
    )
    assert [row["record_id"] for row in table_rows(store, "signins")] == [ROW.format(3)]
