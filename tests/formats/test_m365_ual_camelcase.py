"""UAL records re-serialised with camelCase keys: named as .NET's camelCase policy names them,
and read into exactly the rows (events and mail_items) the PascalCase records give."""

from __future__ import annotations

import pytest

from mailhunt.formats._ual_shapes import camel_case
from mailhunt.formats.m365_ual_camelcase import FORMAT
from tests.formats.test_m365_ual_lowercase import PASCAL, Rows, read_rows
from tests.helpers import FIXTURES

CAMEL = FIXTURES / "formats" / "m365_ual_camelcase" / "ual_camelcase.jsonl"


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("Id", "id"),
        ("CreationTime", "creationTime"),
        ("OrganizationId", "organizationId"),
        ("ClientIP", "clientIP"),
        ("ClientIPAddress", "clientIPAddress"),
        ("MailboxOwnerUPN", "mailboxOwnerUPN"),
        ("AADSessionId", "aadSessionId"),
        ("UPN", "upn"),
        ("IPAddress", "ipAddress"),
        ("already", "already"),
    ],
)
def test_camel_case_follows_the_dotnet_policy(name: str, camel: str) -> None:
    assert camel_case(name) == camel


def test_nested_fields_are_recased_too() -> None:
    assert FORMAT.columns["folders"] == (
        "STRUCT(path VARCHAR, folderItems "
        "STRUCT(internetMessageId VARCHAR, sizeInBytes BIGINT)[])[]"
    )
    assert (FORMAT.id_field, FORMAT.time_field) == ("id", "creationTime")


def test_camel_case_records_give_the_pascal_case_rows() -> None:
    pascal: Rows = read_rows(PASCAL, "m365-ual-json")
    camel = read_rows(CAMEL, FORMAT.name)
    assert camel == pascal
    assert len(camel[1]) == 5  # 3 messages read and 2 folders synced whole
    assert {row["token_id"] for row in camel[0]} == {"Zq4rT7uVw1XyA2bC3dE4fG", None}
