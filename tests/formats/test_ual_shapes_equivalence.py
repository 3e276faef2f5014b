"""The same unified audit log records in four export shapes give the same rows.

One Python list of UAL records is written as Management Activity API JSON Lines, as a Purview
portal CSV, as a Search-UnifiedAuditLog | Export-Csv file, as PowerShell ConvertTo-Json output
(AuditData nested as an object) and as JSON Lines with every key lower-cased or camelCased (SIEM
exports); each file is ingested into its own store, and the normalised
events rows and the mail_items rows must be identical.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailhunt.formats._ual_shapes import camel_case
from mailhunt.ingest import ingest
from mailhunt.model.schema import EVENTS, MAIL_ITEMS
from mailhunt.store.db import Store
from tests.helpers import Record, jsonable

TENANT = "7F1C9E2A-4B7D-4E8A-9C31-2D5E6F708192"
ALICE = "Alice.Walker@contoso.onmicrosoft.com"
RECORDS: list[Record] = [
    {  # an app reading mail through Graph: Folders/FolderItems and AppAccessContext
        "CreationTime": "2024-05-06T08:01:02",
        "Id": "3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11",
        "Operation": "MailItemsAccessed",
        "OrganizationId": TENANT,
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": "10032003A1B2C3D4",
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": ALICE,
        "AppId": "00000003-0000-0000-c000-000000000000",
        "ClientAppId": "E5F6A7B8-C9D0-4E1F-8A2B-3C4D5E6F7A8B",
        "ClientIPAddress": "203.0.113.45",
        "ClientInfoString": "Client=REST;;",
        "ExternalAccess": False,
        "LogonType": 0,
        "MailboxGuid": "A1B2C3D4-0000-4A5B-8C9D-0E1F2A3B4C5D",
        "MailboxOwnerUPN": ALICE,
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OriginatingServer": "AM6PR01MB1234 (15.20.7544.029)\r\n",
        "AppAccessContext": {
            "AADSessionId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "IssuedAtTime": "2024-05-06T07:55:40",
            "UniqueTokenId": "kX2yQ3vB9FrKl4nO5qS6tB",
        },
        "Folders": [
            {
                "Id": "LgAAAAC4lQ2Ye4hSS4if7gF6ji8JAQA45WDUjdASSYqMiyC3ZEqOAAAAAAEMAAAB",
                "Path": "\\Inbox",
                "FolderItems": [
                    {
                        "InternetMessageId": (
                            "<PR3P195MB0812A1@PR3P195MB0812.EURP195.PROD.OUTLOOK.COM>"
                        ),
                        "SizeInBytes": 48213,
                    },
                    {"InternetMessageId": "<f00d1e@mail.fabrikam.example>", "SizeInBytes": 9120},
                ],
            },
            {
                "Path": "\\Inbox\\Projets été",
                "FolderItems": [
                    {
                        "InternetMessageId": "<b0ard-m1nutes@contoso.onmicrosoft.com>",
                        "SizeInBytes": 130551,
                    }
                ],
            },
        ],
        "OperationCount": 3,
        "SessionId": "f3c1e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    },
    {  # the sign-in that issued the token
        "CreationTime": "2024-05-06T07:55:38",
        "Id": "e165a77f-90ae-49ab-bd55-5e70f4e61b00",
        "Operation": "UserLoggedIn",
        "OrganizationId": TENANT,
        "RecordType": 15,
        "ResultStatus": "Success",
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": "2001:db8:4a:17::a7",
        "ObjectId": "00000003-0000-0000-c000-000000000000",
        "UserId": ALICE,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "ResultStatusDetail", "Value": "Success"},
            {
                "Name": "UserAgent",
                "Value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                "AppleWebKit/537.36 (KHTML, like Gecko)",
            },
            {"Name": "RequestType", "Value": "OAuth2:Authorize"},
        ],
        "Actor": [{"ID": "cccea98b-92f6-4e15-8e52-452bad586d7c", "Type": 0}],
        "DeviceProperties": [
            {"Name": "SessionId", "Value": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
        ],
        "ErrorNumber": "0",
    },
    {  # an inbox rule hiding replies, from "[IPv6]:port", with quotes and commas in parameters
        "CreationTime": "2024-05-06T08:14:43",
        "Id": "c67fa231-ad97-4b7f-65e0-08dc4145b5c6",
        "Operation": "New-InboxRule",
        "OrganizationId": TENANT,
        "RecordType": 1,
        "ResultStatus": "True",
        "UserType": 2,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": "[2001:db8:85a3::8a2e:370:7334]:40123",
        "UserId": ALICE,
        "AppId": "00000002-0000-0ff1-ce00-000000000000",
        "ClientAppId": "",
        "AppAccessContext": {
            "IssuedAtTime": "2024-05-06T08:10:13",
            "UniqueTokenId": "LqVzINbCskC74Dl3tec2AA",
        },
        "Parameters": [
            {"Name": "SubjectOrBodyContainsWords", "Value": 'invoice, "wire"'},
            {"Name": "MoveToFolder", "Value": "RSS Feeds"},
        ],
        "SessionId": "87bfd35a-633e-41ae-8656-d9029c255b94",
    },
    {  # an admin syncing the folder, throttled, fractional time with Z
        "CreationTime": "2024-05-06T08:20:01.1234567Z",
        "Id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "Operation": "MailItemsAccessed",
        "OrganizationId": TENANT,
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "Workload": "Exchange",
        "UserId": "IT-Admin@contoso.onmicrosoft.com",
        "ClientIPAddress": "198.51.100.23:50412",
        "ClientInfoString": "Client=MSExchangeRPC",
        "LogonType": 1,
        "MailboxOwnerUPN": ALICE,
        "OperationProperties": [
            {"Name": "IsThrottled", "Value": "True"},
            {"Name": "MailAccessType", "Value": "Sync"},
        ],
        "Folders": [{"Path": "\\Inbox"}],
        "OperationCount": 1,
    },
]
NAMES = {1: "ExchangeAdmin", 15: "AzureActiveDirectoryStsLogon", 50: "ExchangeItemAggregated"}
# Provenance and per-file data-quality notes differ by shape by design; everything else must not.
NOT_COMPARED = {
    "source",
    "source_ref",
    "file_sha256",
    "byte_offset",
    "byte_length",
    "ingest_run_id",
    "warnings",
    "record_ordinal",
}


def compact(record: Record) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def millis(record: Record) -> int:
    moment = datetime.fromisoformat(record["CreationTime"][:19]).replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def management_api(path: Path) -> None:
    path.write_text("".join(compact(r) + "\n" for r in RECORDS), "utf-8")


def recased(value: Any, rename: Callable[[str], str]) -> Any:
    """The value with every object key, at any depth, passed through `rename`."""
    if isinstance(value, dict):
        return {rename(key): recased(item, rename) for key, item in value.items()}
    if isinstance(value, list):
        return [recased(item, rename) for item in value]
    return value


def lower_case_keys(path: Path) -> None:
    path.write_text("".join(compact(recased(r, str.lower)) + "\n" for r in RECORDS), "utf-8")


def camel_case_keys(path: Path) -> None:
    path.write_text("".join(compact(recased(r, camel_case)) + "\n" for r in RECORDS), "utf-8")


def write_csv(path: Path, rows: list[list[Any]], **options: Any) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, **options).writerows(rows)
    path.write_text(buffer.getvalue(), "utf-8")


def purview_csv(path: Path) -> None:
    header = [
        "RecordId",
        "CreationDate",
        "RecordType",
        "Operation",
        "UserId",
        "AuditData",
        "AssociatedAdminUnits",
        "AssociatedAdminUnitsNames",
    ]
    rows = [
        [
            r["Id"],
            r["CreationTime"][:19] + ".0000000Z",
            NAMES[r["RecordType"]],
            r["Operation"],
            r["UserId"],
            compact(r),
            "",
            "",
        ]
        for r in RECORDS
    ]
    write_csv(path, [header, *rows], lineterminator="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def search_ual_csv(path: Path) -> None:
    header = [
        "RecordType",
        "CreationDate",
        "UserIds",
        "Operations",
        "AuditData",
        "ResultIndex",
        "ResultCount",
        "Identity",
        "IsValid",
        "ObjectState",
    ]
    local = "5/6/2024 {}:{} AM"  # the exporting machine's culture and time zone (UTC+2)
    rows = [
        [
            NAMES[r["RecordType"]],
            local.format(int(r["CreationTime"][11:13]) + 2, r["CreationTime"][14:19]),
            r["UserId"],
            r["Operation"],
            compact(r),
            i,
            len(RECORDS),
            r["Id"],
            "True",
            "Unchanged",
        ]
        for i, r in enumerate(RECORDS, 1)
    ]
    write_csv(path, [header, *rows], quoting=csv.QUOTE_ALL, lineterminator="\n")


def powershell_json(path: Path) -> None:
    objects = [
        {
            "RecordType": NAMES[r["RecordType"]],
            "CreationDate": f"/Date({millis(r)})/",
            "UserIds": r["UserId"],
            "Operations": r["Operation"],
            "AuditData": r,
            "ResultIndex": i,
            "ResultCount": len(RECORDS),
            "Identity": r["Id"],
            "IsValid": True,
            "ObjectState": "Unchanged",
        }
        for i, r in enumerate(RECORDS, 1)
    ]
    text = json.dumps(objects, indent=4, ensure_ascii=False).replace("/Date(", "\\/Date(")
    text = text.replace(")/", ")\\/").replace("<", "\\u003c").replace(">", "\\u003e")
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))


SHAPES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "m365-ual-json": ("ual.jsonl", management_api),
    "m365-ual-purview-csv": ("purview.csv", purview_csv),
    "m365-ual-search-csv": ("search.csv", search_ual_csv),
    "m365-ual-powershell-json": ("powershell.json", powershell_json),
    "m365-ual-json-lowercase": ("lower.jsonl", lower_case_keys),
    "m365-ual-json-camelcase": ("camel.jsonl", camel_case_keys),
}


def rows(store: Store, table: str, columns: list[str], order: str) -> list[list[object]]:
    query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
    return [[jsonable(value) for value in row] for row in store.query(query)]


def normalised(folder: Path, fmt: str) -> tuple[list[list[object]], list[list[object]]]:
    name, write = SHAPES[fmt]
    path = folder / name
    write(path)
    with Store.open(None) as store:
        summary = ingest(store, [path])
        assert [(f.format, f.status, f.quarantined) for f in summary.files] == [
            (fmt, "ingested", 0)
        ]
        events = [c for c in EVENTS.column_names if c not in NOT_COMPARED]
        mail = list(MAIL_ITEMS.column_names)
        return (
            rows(store, "events", events, "record_id"),
            rows(store, "mail_items", mail, ", ".join(mail)),
        )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any]]:
    return normalised(tmp_path_factory.mktemp("reference"), "m365-ual-json")


def test_reference_rows_hold_what_the_records_say(reference: tuple[list[Any], list[Any]]) -> None:
    events, mail_items = reference
    assert len(events) == len(RECORDS)
    assert len(mail_items) == 4  # 3 messages read and 1 folder synced whole
    columns = [c for c in EVENTS.column_names if c not in NOT_COMPARED]
    by_id = {
        row[columns.index("record_id")]: dict(zip(columns, row, strict=True)) for row in events
    }
    mia = by_id["3f1e0c52-7d4a-4b8e-9a61-2c5d8e9f0a11"]
    assert (mia["token_id"], mia["access_type"], mia["item_count"]) == (
        "kX2yQ3vB9FrKl4nO5qS6tB",
        "Bind",
        3,
    )
    assert by_id["e165a77f-90ae-49ab-bd55-5e70f4e61b00"]["record_type"] == 15


@pytest.mark.parametrize("fmt", [name for name in SHAPES if name != "m365-ual-json"])
def test_each_shape_gives_the_same_rows(
    tmp_path: Path, fmt: str, reference: tuple[list[Any], list[Any]]
) -> None:
    events, mail_items = normalised(tmp_path, fmt)
    assert events == reference[0]
    assert mail_items == reference[1]
