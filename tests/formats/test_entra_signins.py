"""Entra ID sign-ins (Graph auditLogs/signIns): sniffing and mapping onto the signins table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.formats.entra_signins import FORMAT
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, TENANT, Record, sniffed_as, table_rows

S = "66ea54eb-{:04d}-4ee5-be62-ff5a759b0100"  # sign-in ids in the fixtures


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    folder = FIXTURES / "formats"
    ingest(
        store,
        [
            folder / "signins_lines.jsonl",
            folder / "signins_array.json",
            folder / "signins_page.json",
        ],
    )
    assert store.count("quarantine") == 0
    return {row["record_id"]: row for row in table_rows(store, "signins")}


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"id": "1", "createdDateTime": "x", "userPrincipalName": "a@b"}, True),
        ({"id": "1", "createdDateTime": "x", "appId": "c"}, True),
        ({"id": "1", "createdDateTime": "x"}, False),
        ({"Id": "1", "CreationTime": "x", "Operation": "x", "Workload": "x"}, False),
    ],
)
def test_sniff_claims_sign_ins_only(tmp_path: Path, record: Record, claimed: bool) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_every_sign_in_of_every_shape_is_stored(signins: dict[str, Record]) -> None:
    assert sorted(signins) == [S.format(n) for n in (1, 2, 3, 11, 12, 21, 22)]


def test_times_are_utc_with_microseconds(signins: dict[str, Record]) -> None:
    assert signins[S.format(1)]["time"] == "2024-03-04T09:10:01Z"
    assert signins[S.format(2)]["time"] == "2024-03-04T09:40:12.443180Z"


def test_interactive_from_flag_or_event_types(signins: dict[str, Record]) -> None:
    assert signins[S.format(1)]["interactive"] is True  # isInteractive
    assert signins[S.format(2)]["interactive"] is False  # signInEventTypes nonInteractiveUser
    assert signins[S.format(12)]["interactive"] is False


def test_failure_status_and_location(signins: dict[str, Record]) -> None:
    row = signins[S.format(3)]
    assert (row["error_code"], row["country"], row["city"]) == (50126, "NG", "Lagos")
    assert row["failure_reason"].startswith("Error validating credentials")
    assert signins[S.format(1)]["error_code"] == 0


def test_token_and_session_fields_of_beta(signins: dict[str, Record]) -> None:
    row = signins[S.format(11)]
    assert (row["unique_token_id"], row["session_id"], row["token_issuer_type"]) == (
        "gX1yQ2vA8EqJk3mN4pR5sA",
        "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "AzureAD",
    )
    assert row["user_agent"].endswith("Microsoft Outlook 16.0.17328")


def test_tenant_is_resource_tenant_then_home_tenant(signins: dict[str, Record]) -> None:
    assert signins[S.format(11)]["tenant_id"] == TENANT
    assert signins[S.format(12)]["tenant_id"] == TENANT  # only homeTenantId present
    assert signins[S.format(1)]["tenant_id"] is None  # v1.0 shape carries neither


def test_ids_are_lower_cased_and_ipv6_kept(signins: dict[str, Record]) -> None:
    row = signins[S.format(2)]
    assert row["app_id"] == "27922004-5251-4030-b22d-91ecd9a37ea4"
    assert row["user_id"] == "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert row["user_upn"] == "alice.walker@contoso.onmicrosoft.com"
    assert row["client_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert signins[S.format(22)]["resource_id"] == "00000003-0000-0ff1-ce00-000000000000"


def test_sign_ins_never_produce_events_or_mail_items(store: Store) -> None:
    ingest(store, [FIXTURES / "formats" / "signins_page.json"])
    assert (store.count("signins"), store.count("events"), store.count("mail_items")) == (2, 0, 0)
