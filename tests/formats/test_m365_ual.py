"""The unified audit log format: sniffing, and each source quirk mapped onto the schema."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mailhunt.formats.base import bare_ip, name_value
from mailhunt.formats.m365_ual import FORMAT
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    TENANT,
    Record,
    sniffed_as,
    table_rows,
    ual_record,
    write_jsonl,
)

E = "5b2f7c1e-0a31-4c3e-9d51-7a8b9c0d1e0"  # record ids in ual_lines.jsonl end in 1..5


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    assert store.count("quarantine") == 0
    return {row["record_id"]: row for row in table_rows(store, "events")}


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"Id": "1", "CreationTime": "x", "Operation": "Send", "RecordType": 2}, True),
        ({"Id": "1", "CreationTime": "x", "Operation": "Send", "Workload": "Exchange"}, True),
        ({"Id": "1", "CreationTime": "x", "Operation": "Send"}, False),
        ({"CreationTime": "x", "Operation": "Send", "RecordType": 2}, False),
        ({"id": "1", "createdDateTime": "x", "userPrincipalName": "a@b"}, False),
    ],
)
def test_sniff_claims_ual_records_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_time_without_offset_or_fraction_is_utc(events: dict[str, Record]) -> None:
    row = events[E + "1"]
    assert (row["time"], row["token_issued_at"]) == ("2024-03-04T09:15:22Z", "2024-03-04T09:10:01Z")


def test_seven_digit_fraction_with_z_keeps_microseconds(events: dict[str, Record]) -> None:
    assert events[E + "2"]["time"] == "2024-03-04T09:20:01.123456Z"


@pytest.mark.parametrize(
    ("suffix", "client_ip"),
    [
        ("1", "203.0.113.10"),
        ("2", "2001:db8::1"),
        ("3", "2001:db8:85a3::8a2e:370:7334"),
        ("4", "203.0.113.10"),
        ("5", "198.51.100.23"),
    ],
)
def test_client_ip_loses_port_and_brackets_only(
    events: dict[str, Record], suffix: str, client_ip: str
) -> None:
    assert events[E + suffix]["client_ip"] == client_ip


def test_operation_properties_in_either_order(events: dict[str, Record]) -> None:
    bind, sync = events[E + "1"], events[E + "2"]
    assert (bind["access_type"], bind["throttled"]) == ("Bind", False)
    assert (sync["access_type"], sync["throttled"]) == ("Sync", True)


def test_originating_server_with_crlf_does_not_break_the_record(
    events: dict[str, Record],
) -> None:
    raw = (FIXTURES / "formats" / "ual_lines.jsonl").read_bytes()
    assert raw.count(b'(15.20.7362.019)\\r\\n"') == 4  # the escaped CR LF inside the value
    assert [events[E + s]["operation"] for s in "1234"] == ["MailItemsAccessed"] * 3 + ["Send"]


def test_logon_type_numbers_become_names(events: dict[str, Record]) -> None:
    assert [events[E + s]["logon_type"] for s in "1234"] == ["Owner", "Delegate", "Admin", "Owner"]
    assert events[E + "5"]["logon_type"] is None


def test_app_access_context_fields(events: dict[str, Record]) -> None:
    row = events[E + "1"]
    assert (row["token_id"], row["aad_session_id"], row["client_app_id"]) == (
        "gX1yQ2vA8EqJk3mN4pR5sA",
        "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    )
    assert events[E + "2"]["token_id"] is None


def test_identity_columns_are_lower_cased(events: dict[str, Record]) -> None:
    row = events[E + "2"]
    assert row["tenant_id"] == TENANT
    assert row["actor_upn"] == "it-admin@contoso.onmicrosoft.com"
    assert row["mailbox_upn"] == "alice.walker@contoso.onmicrosoft.com"
    assert row["mailbox_guid"] == "a1b2c3d4-0000-4a5b-8c9d-0e1f2a3b4c5d"


def test_rpc_access_has_no_application(events: dict[str, Record]) -> None:
    row = events[E + "3"]
    assert (row["app_id"], row["client_app_id"], row["user_agent"]) == (
        None,
        None,
        "Client=MSExchangeRPC",
    )


def test_user_agent_from_extended_properties(events: dict[str, Record]) -> None:
    assert events[E + "5"]["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")


def test_mail_items_one_row_per_message_with_folder_path(store: Store) -> None:
    ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    items = store.query(
        "SELECT record_id, folder_path, internet_message_id, size_bytes, access_type FROM "
        "mail_items ORDER BY record_id, folder_path, internet_message_id"
    )
    assert [(r[0][-1], r[1], r[3], r[4]) for r in items] == [
        ("1", "\\Inbox", 9120, "Bind"),
        ("1", "\\Inbox", 48213, "Bind"),
        ("1", "\\Inbox\\Projects\\Falcon", 130551, "Bind"),
        ("2", "\\Inbox", None, "Sync"),
        ("3", "\\Inbox", 48213, "Bind"),
    ]
    assert store.query("SELECT item_count FROM events WHERE record_id = ?", [E + "1"]) == [(3,)]


def test_sync_of_a_whole_folder_is_one_mail_items_row_without_a_message(store: Store) -> None:
    """A Sync lists the folder, not its messages: the folder is what was taken."""
    ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    assert store.query(
        "SELECT folder_path, internet_message_id FROM mail_items WHERE record_id = ?", [E + "2"]
    ) == [("\\Inbox", None)]


def test_logon_types_and_time_offsets(store: Store, tmp_path: Path) -> None:
    logons: list[object] = [0, 1, 2, 3, 4, 5, "2", 9]
    records = [
        ual_record(f"L{i}", "2024-03-04T09:15:22", LogonType=v) for i, v in enumerate(logons)
    ]
    records += [
        ual_record("T1", "2024-03-04T11:15:22+02:00"),
        ual_record("T2", "2024-03-04T09:15:22Z"),
    ]
    write_jsonl(tmp_path / "ual.jsonl", records)
    ingest(store, [tmp_path / "ual.jsonl"])
    got = dict(store.query("SELECT record_id, logon_type FROM events WHERE record_id LIKE 'L%'"))
    assert [got[f"L{i}"] for i in range(len(logons))] == [
        "Owner",
        "Admin",
        "Delegate",
        "Transport",
        "SystemService",
        "BestAccess",
        "Delegate",
        "9",
    ]
    times = {row["record_id"]: row["time"] for row in table_rows(store, "events")}
    assert times["T1"] == times["T2"] == times["L0"] == "2024-03-04T09:15:22Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4:5555", "1.2.3.4"),
        ("1.2.3.4", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1", "fe80::1"),
        ("", None),
        (None, None),
        ("::ffff:10.1.2.3", "::ffff:10.1.2.3"),
    ],
)
def test_bare_ip(text: str | None, expected: str | None) -> None:
    sql = bare_ip("ip")
    assert duckdb.sql(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS ip)", params=[text]).fetchall() == [
        (expected,)
    ]


def test_name_value_refuses_names_that_are_not_identifiers() -> None:
    with pytest.raises(ValueError, match="not a property name"):
        name_value("OperationProperties", "x' OR 1=1 --")
