"""Azure Monitor diagnostic-settings Microsoft Graph activity logs (Graph API requests) onto
the events table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.azure_monitor_graph_activity_logs import FORMAT, GRAPH_APP_ID
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    OUTLOOK,
    ROGUE_APP,
    TENANT,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
)

HERE = FIXTURES / "formats" / "azure_monitor_graph_activity_logs"
EVENT_HUB = HERE / "azmon_graph_activity_eventhub.json"
SIGN_INS = FIXTURES / "formats" / "azure_monitor_signins" / "azmon_eventhub_signins.json"
APP_ONLY = "5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b01"  # the rogue app reads Alice's mail
FORGED = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c02"  # a token no sign-in issued reads Bob's inbox
OWN_MAIL = "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d03"  # Outlook on Alice's own mailbox (/me)
DENIED = "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e04"  # the rogue app tries to add an inbox rule
ALICE_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ROGUE_SP = "d8e9f0a1-b2c3-4d4e-8f5a-6b7c8d9e0f1a"


@pytest.fixture
def requests(store: Store) -> dict[str, Record]:
    result = ingest(store, [EVENT_HUB]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 4, 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(requests: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: row[c] for c in columns} for row in requests.values()]
    check_golden_file(HERE / "golden.json", {"rows": rows})


def test_event_hub_message_sniffed() -> None:
    sniffed, _ = sniff_file(EVENT_HUB)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", FORMAT.name)


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ({"time": "x", "category": "MicrosoftGraphActivityLogs", "properties": {}}, True),
        ({"time": "x", "category": "MicrosoftGraphActivityLogs"}, False),
        # a Log Analytics row of the same table is another shape
        ({"TimeGenerated": "x", "RequestId": "1", "RequestUri": "u", "AppId": "a"}, False),
    ],
)
def test_sniff_claims_graph_activity_envelopes_only(
    tmp_path: Path, record: Record, claimed: bool
) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_request_is_method_and_uri_with_status(requests: dict[str, Record]) -> None:
    read = requests[APP_ONLY]
    assert (read["operation"], read["result"], read["workload"]) == (
        "GET https://graph.microsoft.com/v1.0/users/alice.walker@contoso.onmicrosoft.com"
        "/messages?$top=50&$select=subject,from,receivedDateTime",
        "200",
        "MicrosoftGraph",
    )
    assert requests[DENIED]["operation"].startswith("POST https://graph.microsoft.com/")
    assert requests[DENIED]["result"] == "403"


def test_app_only_request_acts_as_the_service_principal(requests: dict[str, Record]) -> None:
    read = requests[APP_ONLY]
    assert (read["actor_upn"], read["app_id"], read["client_app_id"], read["client_ip"]) == (
        ROGUE_SP,
        GRAPH_APP_ID,  # the resource, as UAL records name it
        ROGUE_APP,  # the client that held the token
        "198.51.100.77",
    )
    assert (read["token_id"], read["token_issued_at"], read["aad_session_id"]) == (
        "pG0hZ1eJ7NzSt2vW3yA4bJ",
        "2024-03-04T11:00:02Z",
        None,
    )


def test_mailbox_is_the_one_the_uri_names_by_upn(requests: dict[str, Record]) -> None:
    assert {key: requests[key]["mailbox_upn"] for key in requests} == {
        APP_ONLY: "alice.walker@contoso.onmicrosoft.com",
        FORGED: "bob.stone@contoso.onmicrosoft.com",  # /users/Bob.Stone%40.../mailFolders
        OWN_MAIL: None,  # /me: the caller's own mailbox, known only by its object id
        DENIED: "carol.diaz@contoso.onmicrosoft.com",
    }


def test_delegated_request_keeps_user_session_and_bare_ip(requests: dict[str, Record]) -> None:
    forged = requests[FORGED]
    assert (forged["actor_upn"], forged["client_ip"], forged["user_agent"]) == (
        ALICE_ID,
        "2001:db8::7",  # "[2001:db8::7]:50312"
        "Go-http-client/1.1",
    )
    assert forged["aad_session_id"] == "9f8e7d6c-5b4a-4398-8776-5a4b3c2d1e0f"
    assert {row["tenant_id"] for row in requests.values()} == {TENANT}
    assert requests[OWN_MAIL]["client_app_id"] == OUTLOOK


def test_token_ids_pair_with_the_sign_ins_that_issued_them(store: Store) -> None:
    ingest(store, [SIGN_INS, EVENT_HUB])
    unissued = store.query(
        "SELECT record_id FROM events e WHERE token_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM signins s WHERE s.unique_token_id = e.token_id) ORDER BY record_id"
    )
    # Outlook's /me request used the token of Alice's interactive sign-in; the others did not
    # come from a sign-in in this store (the rogue app's, and the forged one)
    assert unissued == [(APP_ONLY,), (FORGED,), (DENIED,)]


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = json.loads(EVENT_HUB.read_text("utf-8"))["records"][0]
    no_id = {**good, "properties": {**good["properties"], "requestId": None}}
    bad_uri = {  # bytes that are not UTF-8 once %-decoded must not fail the file
        **good,
        "properties": {
            **good["properties"],
            "requestId": "r-2",
            "requestUri": "https://graph.microsoft.com/v1.0/users/%ff%fe@x/messages",
        },
    }
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join(json.dumps(r) for r in (good, no_id, bad_uri)) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 2, 1)
    assert store.query("SELECT line, reason, detail FROM quarantine") == [
        (2, "missing_id", "record has no id (properties.requestId)"),
    ]
    assert store.query("SELECT mailbox_upn FROM events WHERE record_id = 'r-2'") == [("%ff%fe@x",)]
