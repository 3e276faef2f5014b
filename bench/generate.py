"""Fast generator of large unified-audit-log files for the ingest benchmark.

Templates rather than the simulator: the benchmark needs a million realistic-size records in
seconds. Records are MailItemsAccessed-heavy (the analytics' hot table), with the nesting,
quirks and ~1.4 KB average size of real Management Activity API records.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

EXO = "00000002-0000-0ff1-ce00-000000000000"
GRAPH = "00000003-0000-0000-c000-000000000000"
OUTLOOK = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
MOBILE = "27922004-5251-4030-b22d-91ecd9a37ea4"
APPS = [
    (EXO, EXO, "Client=OWA;Action=ViaProxy"),
    (GRAPH, OUTLOOK, "Client=REST;Client=RESTSystem;;"),
    (MOBILE, MOBILE, "Client=OutlookService;Outlook-iOS/2.0;"),
    (None, None, "Client=MSExchangeRPC"),
]
FOLDERS = ["\\Inbox", "\\Sent Items", "\\Archive", "\\Inbox\\Projects", "\\Drafts"]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def _mail_items_accessed(
    rng: random.Random, when: datetime, tenant: str, user: str
) -> dict[str, object]:
    app_id, client_app_id, client_info = APPS[rng.randrange(len(APPS))]
    sync = rng.random() < 0.15
    folders = []
    for path in rng.sample(FOLDERS, 1 if rng.random() < 0.7 else 2):
        folder: dict[str, object] = {"Id": "LgAAAAB" + _uuid(rng), "Path": path}
        if not sync:
            folder["FolderItems"] = [
                {
                    "Id": "RgAAAAD" + uuid.UUID(int=rng.getrandbits(128)).hex,
                    "InternetMessageId": f"<{_uuid(rng)[:23]}@mail.example.com>",
                    "SizeInBytes": rng.randint(2_000, 400_000),
                }
                for _ in range(rng.randint(1, 2))
            ]
        folders.append(folder)
    record: dict[str, object] = {
        "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": str(uuid.UUID(int=rng.getrandbits(128))),
        "Operation": "MailItemsAccessed",
        "OrganizationId": tenant,
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": "10032001" + uuid.UUID(int=rng.getrandbits(64)).hex[:8].upper(),
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": user,
        "ClientIPAddress": (
            f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(1024, 65000)}"
        ),
        "ClientInfoString": client_info,
        "ExternalAccess": False,
        "InternalLogonType": 0,
        "LogonType": 0,
        "LogonUserSid": "S-1-5-21-1825954961-3338807533-2873504967-26087451",
        "MailboxGuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, user)),
        "MailboxOwnerSid": "S-1-5-21-1825954961-3338807533-2873504967-26087451",
        "MailboxOwnerUPN": user,
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Sync" if sync else "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ],
        "OrganizationName": "contoso.onmicrosoft.com",
        "OriginatingServer": "AB1CD23EF4567 (15.20.4200.000)\r\n",
        "SessionId": str(uuid.UUID(int=rng.getrandbits(128))),
        "OperationCount": 1,
        "Folders": folders,
    }
    if app_id:
        record["AppId"] = app_id
        record["ClientAppId"] = client_app_id
        record["AppAccessContext"] = {
            "AADSessionId": str(uuid.UUID(int=rng.getrandbits(128))),
            "APIId": app_id,
            "ClientAppId": client_app_id,
            "CorrelationId": str(uuid.UUID(int=rng.getrandbits(128))),
            "IssuedAtTime": (when - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S"),
            "UniqueTokenId": uuid.UUID(int=rng.getrandbits(128)).hex[:22],
        }
    return record


def write_ual_jsonl(path: Path, count: int, *, seed: int = 1, tenants: int = 5) -> int:
    """Write `count` records as JSON Lines; return the file size in bytes."""
    rng = random.Random(seed)
    tenant_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(tenants)]
    users = [f"user{n}@contoso{n % tenants}.onmicrosoft.com" for n in range(2_000)]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("wb") as out:
        lines = []
        for n in range(count):
            user_index = rng.randrange(len(users))
            when = start + timedelta(seconds=n * 2)
            tenant = tenant_ids[user_index % tenants]
            record = _mail_items_accessed(rng, when, tenant, users[user_index])
            lines.append(orjson.dumps(record))
            if len(lines) == 10_000:
                out.write(b"\n".join(lines) + b"\n")
                lines = []
        if lines:
            out.write(b"\n".join(lines) + b"\n")
    return path.stat().st_size


def write_purview_csv(source: Path, path: Path) -> int:
    """The same records as a Purview portal audit search CSV export (AuditData column)."""
    import csv

    with source.open("rb") as lines, path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "RecordId",
                "CreationDate",
                "RecordType",
                "Operation",
                "UserId",
                "AuditData",
                "AssociatedAdminUnits",
                "AssociatedAdminUnitsNames",
            ]
        )
        for line in lines:
            record = orjson.loads(line)
            writer.writerow(
                [
                    record["Id"],
                    record["CreationTime"] + ".0000000Z",
                    "ExchangeItemAggregated",
                    record["Operation"],
                    record["UserId"],
                    line.decode().rstrip("\n"),
                    "",
                    "",
                ]
            )
    return path.stat().st_size
