"""Small builders shared by the tests: UAL and sign-in records, files, table dumps, golden files.

Records are built in the shapes Microsoft delivers (Management Activity API, Graph signIns), with
only the fields a test needs; everything else stays at a realistic default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mailhunt.formats.sniffing import sniff_file
from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.store.db import Store

Record = dict[str, Any]

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
UPDATE_GOLDEN = os.environ.get("MAILHUNT_UPDATE_GOLDEN") == "1"

TENANT = "7f1c9e2a-4b7d-4e8a-9c31-2d5e6f708192"
OTHER_TENANT = "0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f"
DAY0 = datetime(2024, 4, 1, tzinfo=UTC)

EXO = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online (resource)
GRAPH = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph (resource)
OUTLOOK = "d3590ed6-52b3-4102-aeff-aad2292ab01c"  # Microsoft Office / Outlook desktop
OUTLOOK_MOBILE = "27922004-5251-4030-b22d-91ecd9a37ea4"
ROGUE_APP = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"  # an app registration nobody approved

# The columns a golden row holds: every schema column but those that change per run or path.
UNSTABLE_COLUMNS = {"ingest_run_id", "file_sha256"}


def at(day: float, hour: int = 9, minute: int = 0) -> datetime:
    """DAY0 + day days, at hour:minute UTC."""
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def ual_time(moment: datetime) -> str:
    """CreationTime as the Management Activity API writes it: no offset, no fraction."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def ual_record(
    record_id: str, moment: datetime | str, operation: str = "Send", **fields: Any
) -> Record:
    """A unified audit log record of the Exchange workload; fields override or add."""
    record: Record = {
        "CreationTime": moment if isinstance(moment, str) else ual_time(moment),
        "Id": record_id,
        "Operation": operation,
        "OrganizationId": TENANT,
        "RecordType": 50 if operation == "MailItemsAccessed" else 2,
        "ResultStatus": "Succeeded",
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def mail_access(
    record_id: str,
    moment: datetime,
    mailbox: str,
    app: str | None,
    *,
    actor: str | None = None,
    uti: str | None = None,
    ip: str = "203.0.113.10:51234",
    tenant: str = TENANT,
    resource: str | None = EXO,
    client_info: str | None = None,
) -> Record:
    """A MailItemsAccessed (Bind) record: `app` is the ClientAppId (None: no app at all);
    `uti` is the presented token's unique identifier (AppAccessContext.UniqueTokenId)."""
    context = (
        {
            "UniqueTokenId": uti,
            "AADSessionId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "IssuedAtTime": ual_time(moment - timedelta(minutes=5)),
        }
        if uti
        else None
    )
    return ual_record(
        record_id,
        moment,
        "MailItemsAccessed",
        OrganizationId=tenant,
        UserId=actor or mailbox,
        MailboxOwnerUPN=mailbox,
        AppId=resource if app else None,
        ClientAppId=app,
        ClientIPAddress=ip,
        ClientInfoString=client_info or ("Client=REST;" if app else "Client=MSExchangeRPC"),
        LogonType=0 if (actor or mailbox) == mailbox else 2,
        OperationProperties=[
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        AppAccessContext=context,
        Folders=[
            {
                "Path": "\\Inbox",
                "FolderItems": [
                    {
                        "InternetMessageId": f"<{record_id}@contoso.onmicrosoft.com>",
                        "SizeInBytes": 2048,
                    },
                ],
            }
        ],
        OperationCount=1,
    )


def signin_record(
    record_id: str,
    moment: datetime,
    user: str,
    app: str,
    *,
    uti: str | None = None,
    tenant: str = TENANT,
    ip: str = "203.0.113.10",
) -> Record:
    """A Graph beta signIn record; `uti` is the uniqueTokenIdentifier of the token it issued."""
    return {
        "id": record_id,
        "createdDateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userPrincipalName": user,
        "userId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "appId": app,
        "appDisplayName": "Microsoft Office",
        "resourceId": EXO,
        "ipAddress": ip,
        "isInteractive": True,
        "sessionId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "uniqueTokenIdentifier": uti,
        "tokenIssuerType": "AzureAD",
        "resourceTenantId": tenant,
        "homeTenantId": tenant,
        "status": {"errorCode": 0, "failureReason": None},
        "location": {"city": "Seattle", "countryOrRegion": "US"},
    }


def compact(record: object) -> bytes:
    """JSON as the Management Activity API writes it: no spaces."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def write_jsonl(path: Path, records: Iterable[object], newline: bytes = b"\n") -> list[bytes]:
    """Write records one per line; return each line's bytes (without the newline)."""
    lines = [compact(record) for record in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + newline for line in lines))
    return lines


def write_array(path: Path, records: Iterable[object]) -> list[bytes]:
    """Write records as one JSON array (a content blob); return each element's bytes."""
    elements = [compact(record) for record in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"[" + b",\n ".join(elements) + b"]\n")
    return elements


def sniffed_as(folder: Path, record: object) -> str | None:
    """The format a one-record JSON Lines file sniffs as (None: no format claims it)."""
    path = folder / "sniff.jsonl"
    write_jsonl(path, [record])
    sniffed, _ = sniff_file(path)
    return sniffed.format.name if sniffed else None


def jsonable(value: object) -> object:
    """Timestamps as ISO 8601 UTC text, bytes as text, lists element-wise."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def table_rows(store: Store, table_name: str, order_by: str = "record_id") -> list[Record]:
    """Every row of a schema table, stable columns only; source_ref reduced to file:line."""
    names = [c for c in TABLES_BY_NAME[table_name].column_names if c not in UNSTABLE_COLUMNS]
    rows = store.query(f"SELECT {', '.join(names)} FROM {table_name} ORDER BY {order_by}")
    result = []
    for row in rows:
        record = {name: jsonable(value) for name, value in zip(names, row, strict=True)}
        if isinstance(record.get("source_ref"), str):
            path, line = record["source_ref"].rsplit(":", 1)
            record["source_ref"] = f"{Path(path).name}:{line}"
        result.append(record)
    return result


def check_golden(name: str, value: object) -> None:
    """Compare with tests/golden/NAME (JSON); MAILHUNT_UPDATE_GOLDEN=1 rewrites it first."""
    check_golden_file(GOLDEN / name, value)


def check_golden_file(path: Path, value: object) -> None:
    """Compare with the golden JSON file at path; MAILHUNT_UPDATE_GOLDEN=1 rewrites it first."""
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", "utf-8")
    expected = json.loads(path.read_text("utf-8"))
    assert value == expected, f"differs from {path} (MAILHUNT_UPDATE_GOLDEN=1 to regenerate)"


def counts(store: Store) -> dict[str, int]:
    """Row count of every table holding source data or alerts."""
    return {
        name: store.count(name)
        for name in ("events", "signins", "mail_items", "alerts", "alert_evidence")
    }
