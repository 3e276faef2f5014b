"""UAL records with every key lower-cased: sniffed apart from the API's PascalCase JSON, and read
into exactly the rows (events and mail_items) the PascalCase records give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailhunt.formats._ual_shapes import recased_columns
from mailhunt.formats.m365_ual import COLUMNS
from mailhunt.formats.m365_ual_lowercase import FORMAT
from mailhunt.ingest import ingest
from mailhunt.model.schema import EVENTS, MAIL_ITEMS
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, Record, jsonable, sniffed_as, write_jsonl

HERE = FIXTURES / "formats" / "m365_ual_lowercase"
PASCAL = HERE / "ual_pascalcase.jsonl"  # the same five records with the API's keys
LOWER = HERE / "ual_lowercase.jsonl"
BIND = "8d2c4b1a-6e5f-4a3b-9c8d-7e6f5a4b3c21"
SYNC = "0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c"
SEND = "a7b6c5d4-e3f2-4a1b-8c0d-9e8f7a6b5c4d"
RULE = "5c4d3e2f-1a0b-4c9d-65e0-08dcd72b91a4"
LOGIN = "3b2a1f0e-9d8c-4b7a-a6f5-e4d3c2b1a0f9"
# Provenance (the file, its hash, the run) differs between the two files by design.
PROVENANCE = {"source", "source_ref", "file_sha256", "ingest_run_id"}
EVENT_COLUMNS = [c for c in EVENTS.column_names if c not in PROVENANCE]
MAIL_COLUMNS = list(MAIL_ITEMS.column_names)

Rows = tuple[list[dict[str, Any]], list[list[Any]]]


def read_rows(path: Path, fmt: str) -> Rows:
    """The events (dicts, by record id) and mail_items rows of one file, ingested alone."""
    with Store.open(None) as store:
        summary = ingest(store, [path])
        assert [(f.format, f.status, f.quarantined) for f in summary.files] == [
            (fmt, "ingested", 0)
        ]
        events = store.query(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY record_id")
        mail = store.query(
            f"SELECT {', '.join(MAIL_COLUMNS)} FROM mail_items ORDER BY {', '.join(MAIL_COLUMNS)}"
        )
        return (
            [{c: jsonable(v) for c, v in zip(EVENT_COLUMNS, row, strict=True)} for row in events],
            [[jsonable(v) for v in row] for row in mail],
        )


@pytest.fixture(scope="module")
def pascal() -> Rows:
    return read_rows(PASCAL, "m365-ual-json")


@pytest.fixture(scope="module")
def lower() -> Rows:
    return read_rows(LOWER, FORMAT.name)


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (
            {"creationtime": "x", "id": "1", "operation": "Send", "recordtype": 2},
            "m365-ual-json-lowercase",
        ),
        (
            {"creationtime": "x", "id": "1", "operation": "Send", "workload": "Exchange"},
            "m365-ual-json-lowercase",
        ),
        ({"creationtime": "x", "id": "1", "operation": "Send"}, None),
        ({"CreationTime": "x", "Id": "1", "Operation": "Send", "RecordType": 2}, "m365-ual-json"),
        (
            {"creationTime": "x", "id": "1", "operation": "Send", "recordType": 2},
            "m365-ual-json-camelcase",
        ),
    ],
)
def test_each_casing_is_claimed_by_its_own_format(
    tmp_path: Path, record: Record, name: str | None
) -> None:
    assert sniffed_as(tmp_path, record) == name


def test_columns_are_the_ual_columns_lower_cased_at_every_depth() -> None:
    columns = recased_columns(str.lower)
    assert list(columns) == [name.lower() for name in COLUMNS]
    assert columns["folders"] == (
        "STRUCT(path VARCHAR, folderitems "
        "STRUCT(internetmessageid VARCHAR, sizeinbytes BIGINT)[])[]"
    )
    assert columns["appaccesscontext"] == (
        "STRUCT(uniquetokenid VARCHAR, aadsessionid VARCHAR, issuedattime VARCHAR, "
        "clientappid VARCHAR)"
    )
    assert FORMAT.columns == columns
    assert (FORMAT.id_field, FORMAT.time_field) == ("id", "creationtime")


def test_lower_case_records_give_the_pascal_case_rows(pascal: Rows, lower: Rows) -> None:
    assert lower[0] == pascal[0]
    assert lower[1] == pascal[1]


def test_nested_lower_case_fields_are_read(lower: Rows) -> None:
    events, mail_items = lower
    by_id = {row["record_id"]: row for row in events}
    assert list(by_id) == sorted([BIND, SYNC, SEND, RULE, LOGIN])
    bind, sync = by_id[BIND], by_id[SYNC]
    assert {k: bind[k] for k in ("tenant_id", "client_app_id", "client_ip", "token_id")} == {
        "tenant_id": "4c1a7e3b-9d2f-4b6a-8e5c-1f0d3a2b7c64",
        "client_app_id": "9b1e4f7a-2c5d-4e8f-a1b3-c6d9e2f5a8b1",
        "client_ip": "192.0.2.77",
        "token_id": "Zq4rT7uVw1XyA2bC3dE4fG",
    }
    assert (bind["aad_session_id"], bind["token_issued_at"]) == (
        "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
        "2024-09-17T13:58:40Z",
    )
    assert (bind["access_type"], bind["throttled"], bind["item_count"]) == ("Bind", False, 3)
    assert (sync["access_type"], sync["item_count"], sync["client_ip"]) == (
        "Sync",
        0,
        "2001:db8:1f70::5c",
    )
    assert sync["time"] == "2024-09-17T14:05:47.445230Z"
    assert (by_id[SEND]["operation"], by_id[SEND]["mailbox_upn"]) == (
        "Send",
        "bob.nguyen@fabrikam.onmicrosoft.com",
    )
    assert (by_id[RULE]["client_ip"], by_id[RULE]["record_type"]) == ("192.0.2.77", 1)
    assert by_id[LOGIN]["user_agent"] == "python-requests/2.31.0"
    assert [(m[4], m[5], m[6]) for m in mail_items if m[5]] == [
        ("\\Finance\\Virements Q3", "<wire-approval@fabrikam.onmicrosoft.com>", 9184),
        ("\\Inbox", "<AM9PR02MB7011C2@AM9PR02MB7011.eurprd02.prod.outlook.com>", 73514),
        ("\\Inbox", "<payroll-2024-09@hr.fabrikam.example>", 212877),
    ]


def test_a_record_without_its_id_or_time_is_quarantined(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "lower.jsonl"
    record = {"creationtime": "2024-09-17T14:02:11", "operation": "Send", "workload": "Exchange"}
    write_jsonl(
        path, [{**record, "id": "a-1"}, record, {**record, "id": "a-2", "creationtime": "-"}]
    )
    summary = ingest(store, [path])
    assert [(f.format, f.quarantined) for f in summary.files] == [(FORMAT.name, 2)]
    assert store.query("SELECT line, reason, detail FROM quarantine ORDER BY line") == [
        (2, "missing_id", "record has no id (id)"),
        (3, "bad_time", "record time cannot be parsed: '-'"),
    ]
