"""Google Workspace Reports API activities (not login): sniffing, events[] fan-out onto events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.gworkspace_reports_api import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
    write_array,
    write_jsonl,
)

HERE = FIXTURES / "formats" / "gworkspace_reports_api"
LINES, PAGE, ARRAY, MALFORMED = (
    HERE / name
    for name in ("gw_activities.jsonl", "gw_page.json", "gw_array.json", "gw_malformed.jsonl")
)
# A log shipper's copy (Filebeat's Google Workspace module: one document per event, `events` one
# object), and API activities whose event names repeat.
SPLIT, REPEATED = HERE / "gw_filebeat_split.jsonl", HERE / "gw_repeated_events.jsonl"
ROGUE = "812640933311-q7fjd0r3kd2l1mgk5t8vq0b6hs4n2c9e.apps.googleusercontent.com"
NOA = "noa.friedman@northwind.example"

EVENT_COLUMNS = (
    "record_id",
    "time",
    "tenant_id",
    "workload",
    "operation",
    "actor_upn",
    "mailbox_upn",
    "app_id",
    "client_app_id",
    "client_ip",
    "user_agent",
    "warnings",
    "source",
    "source_ref",
)


def golden_rows(store: Store, table: str, columns: tuple[str, ...]) -> list[Record]:
    """The stored rows of `table` (ordered by record_id), `columns` only."""
    return [{c: row[c] for c in columns} for row in table_rows(store, table)]


def check_golden(path: Path, rows: list[Record]) -> None:
    check_golden_file(path, rows)


def activity(app: str, uq: str, time: str, *names: str) -> Record:
    """A minimal activity of `app` with one event per name."""
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": time,
            "uniqueQualifier": uq,
            "applicationName": app,
            "customerId": "C04nw7r1k",
        },
        "etag": '"cHJlZml4/aXRlbQ"',
        "actor": {"email": NOA, "profileId": "1"},
        "events": [{"type": "t", "name": name} for name in names],
    }


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    summary = ingest(store, [LINES])
    assert (summary.files[0].status, summary.quarantined) == ("ingested", 0)
    return {row["record_id"]: row for row in table_rows(store, "events")}


def by_operation(events: dict[str, Record], operation: str) -> list[Record]:
    return [row for row in events.values() if row["operation"] == operation]


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (activity("token", "1", "2024-03-04T09:00:00Z", "authorize"), FORMAT.name),
        (activity("admin", "1", "2024-03-04T09:00:00Z", "CREATE_USER"), FORMAT.name),
        (
            activity("login", "1", "2024-03-04T09:00:00Z", "login_success"),
            "gworkspace-reports-api-login",
        ),
        (
            {**activity("token", "1", "2024-03-04T09:00:00Z", "revoke"), "event_name": "revoke"},
            "gworkspace-sentinel",
        ),
        # Flattened by another tool (one event, no events[]): not this shape.
        (
            {
                "id": {"time": "x", "uniqueQualifier": "1", "applicationName": "admin"},
                "name": "CREATE_USER",
                "parameters": {"USER_EMAIL": NOA},
            },
            None,
        ),
        (
            {"Id": "1", "CreationTime": "x", "Operation": "Send", "Workload": "Exchange"},
            "m365-ual-json",
        ),
    ],
)
def test_sniff_claims_api_items_of_other_applications(
    tmp_path: Path, record: Record, name: str | None
) -> None:
    assert sniffed_as(tmp_path, record) == name


@pytest.mark.parametrize(
    "path", [LINES, PAGE, ARRAY, MALFORMED, SPLIT, REPEATED], ids=lambda p: p.name
)
def test_sniffing_picks_the_format_for_every_fixture(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


def test_ingest_matches_golden_rows(store: Store) -> None:
    summary = ingest(store, [LINES])
    assert (summary.files[0].records_read, summary.files[0].records_new) == (11, 13)
    check_golden(
        HERE / "gworkspace_reports_api.golden.json", golden_rows(store, "events", EVENT_COLUMNS)
    )


def test_one_row_per_event_and_repeated_names_get_their_content_digest(
    events: dict[str, Record],
) -> None:
    rows = sorted(rid for rid in events if rid.startswith("-6719931420056384725|"))
    prefix = "-6719931420056384725|2024-03-04T10:15:44.120Z|"
    assert rows == [
        prefix + "ASSIGN_ROLE|Ia4UOrGNATMuDJawTgsu8PO-799|p:08ebb5151f4d4e71",  # _GROUPS_ADMIN_ROLE
        prefix + "ASSIGN_ROLE|Ia4UOrGNATMuDJawTgsu8PO-799|p:d601319d857a0cdd",  # _SEED_ADMIN_ROLE
        prefix + "CHANGE_PASSWORD|nKSNrh9UCauSDmLhuVtcqcYezdZ|p:41419362f58816a2",
        prefix + "GRANT_ADMIN_PRIVILEGE|Ia4UOrGNATMuDJawTgsu8PO-799|p:41419362f58816a2",
    ]


def test_same_qualifier_with_another_time_is_another_record(events: dict[str, Record]) -> None:
    revokes = by_operation(events, "revoke")
    assert sorted(row["time"] for row in revokes) == [
        "2024-03-04T11:02:19.870000Z",
        "2024-03-04T11:02:20.015000Z",
    ]
    assert {row["record_id"].split("|")[0] for row in revokes} == {"-8042269183551470367"}


def test_same_qualifier_time_and_name_with_another_etag_is_kept(
    store: Store, tmp_path: Path
) -> None:
    first = activity("admin", "42", "2024-03-04T09:00:00.000Z", "CREATE_USER")
    second = {**first, "etag": '"cHJlZml4/b3RoZXI"'}
    write_jsonl(tmp_path / "twins.jsonl", [first, second])
    assert ingest(store, [tmp_path / "twins.jsonl"]).records_new == 2


def test_same_activity_in_another_file_is_stored_once(store: Store) -> None:
    ingest(store, [LINES])
    before = store.count("events")
    summary = ingest(store, [PAGE, ARRAY])  # each holds activities already in LINES
    assert [(f.status, f.records_read, f.records_new) for f in summary.files] == [
        ("ingested", 2, 0),
        ("ingested", 2, 0),
    ]
    assert store.count("events") == before


def test_same_file_twice_changes_no_count(store: Store) -> None:
    ingest(store, [LINES, MALFORMED])
    counts = (store.count("events"), store.count("quarantine"))
    second = ingest(store, [LINES, MALFORMED])
    assert [f.status for f in second.files] == ["duplicate", "duplicate"]
    assert (store.count("events"), store.count("quarantine")) == counts


def test_token_grant_names_the_client_and_the_mailbox(events: dict[str, Record]) -> None:
    (grant,) = by_operation(events, "authorize")
    assert (grant["workload"], grant["app_id"], grant["actor_upn"]) == ("token", ROGUE, NOA)
    assert grant["mailbox_upn"] == NOA  # https://mail.google.com/ scope
    assert grant["client_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert grant["tenant_id"] == "c04nw7r1k"


def test_token_revoke_without_mail_scope_names_no_mailbox(events: dict[str, Record]) -> None:
    for row in by_operation(events, "revoke"):
        assert row["app_id"] == "77185425430.apps.googleusercontent.com"
        assert (row["mailbox_upn"], row["client_ip"]) == (None, None)  # no ipAddress either


def test_gmail_api_call_by_an_app_names_client_app_and_mailbox(events: dict[str, Record]) -> None:
    (call,) = by_operation(events, "activity")
    assert (call["app_id"], call["client_app_id"], call["mailbox_upn"]) == (ROGUE, ROGUE, NOA)


def test_forwarding_out_of_the_domain_names_the_mailbox(events: dict[str, Record]) -> None:
    (row,) = by_operation(events, "email_forwarding_out_of_domain")
    assert (row["workload"], row["mailbox_upn"]) == ("user_accounts", NOA)


def test_system_actor_has_no_upn_and_no_ip(events: dict[str, Record]) -> None:
    (row,) = by_operation(events, "USER_LICENSE_ASSIGNMENT")
    assert (row["actor_upn"], row["client_ip"], row["workload"]) == (None, None, "admin")


def test_numeric_qualifier_and_missing_etag(events: dict[str, Record]) -> None:
    (row,) = by_operation(events, "download")
    assert row["record_id"] == (
        "5570113925516371321|2024-03-04T09:40:00.000Z|download|p:e43ed90c48a06b18"
    )
    assert row["user_agent"] == "python-requests/2.31"


def test_nested_message_values_do_not_stop_the_row(events: dict[str, Record]) -> None:
    (row,) = by_operation(events, "delivery")
    assert (row["workload"], row["actor_upn"]) == ("gmail", NOA)


def test_activity_without_events_is_kept_with_a_warning(store: Store) -> None:
    summary = ingest(store, [LINES])
    assert summary.files[0].warnings == {"no_events": 1}
    (row,) = [r for r in table_rows(store, "events") if r["workload"] == "groups"]
    assert (row["operation"], row["warnings"]) == (None, ["no_events"])


def test_page_on_one_line_is_read_by_its_items(store: Store, tmp_path: Path) -> None:
    page = json.loads(PAGE.read_text())
    path = tmp_path / "page_line.json"
    path.write_text(json.dumps(page))
    summary = ingest(store, [path])
    assert (summary.files[0].format, summary.files[0].records_new) == (FORMAT.name, 2)


def test_array_starting_with_a_space(store: Store) -> None:
    assert ARRAY.read_bytes().startswith(b" [")
    summary = ingest(store, [ARRAY])
    assert (summary.files[0].records_new, summary.quarantined) == (2, 0)


def test_malformed_records_are_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [MALFORMED])
    assert (summary.files[0].records_new, summary.quarantined) == (1, 3)
    reasons = store.query("SELECT line, reason, detail FROM quarantine ORDER BY line")
    assert [(line, reason) for line, reason, _ in reasons] == [
        (2, "bad_time"),
        (3, "missing_id"),
        (4, "invalid_json"),
    ]
    assert "yesterday" in reasons[0][2]
    assert [row["operation"] for row in table_rows(store, "events")] == [
        "USER_LICENSE_ASSIGNMENT",
    ]


def test_json_lines_of_pages_reads_every_page(store: Store, tmp_path: Path) -> None:
    items = [json.loads(line) for line in LINES.read_text().splitlines()]
    path = tmp_path / "pages.jsonl"
    path.write_text(
        "".join(
            json.dumps({"kind": "admin#reports#activities", "items": items[i : i + 2]}) + "\n"
            for i in (0, 2, 4)
        )
    )
    assert ingest(store, [path]).records_read == 6


# -- a log shipper's copy: one document per event, `events` one object ----------------------

SPLIT_ROWS = [
    # two activities sharing qualifier and time, no etag: the download of another document
    ("-1187265530914226571|2024-03-05T14:20:00.250Z|download|p:74f7bf06bdb9d5d7", "drive"),
    ("-1187265530914226571|2024-03-05T14:20:00.250Z|download|p:c27602883ba27b4f", "drive"),
    # one activity, two events of one name: POP access, and auto-forwarding, turned on
    (
        "-3902447712098554312|2024-03-05T14:02:31.512Z|CHANGE_GMAIL_SETTING|"
        "mQ3v0Yd8xJr2Tq-5WbNcLk7sPaE|p:ade6f6d09547e762",
        "admin",
    ),
    (
        "-3902447712098554312|2024-03-05T14:02:31.512Z|CHANGE_GMAIL_SETTING|"
        "mQ3v0Yd8xJr2Tq-5WbNcLk7sPaE|p:fe945f52e0d5e3b0",
        "admin",
    ),
    ("7361902455830412001|2024-03-05T14:10:09.004Z|authorize|p:f73fcf2d00965b75", "token"),
]


def split_lines() -> list[Record]:
    return [json.loads(line) for line in SPLIT.read_text().splitlines()]


def test_shipper_copy_with_one_event_object_is_read(store: Store) -> None:
    summary = ingest(store, [SPLIT])
    result = summary.files[0]
    assert (result.format, result.records_read, result.records_new, result.quarantined) == (
        FORMAT.name,
        6,
        5,
        0,
    )
    assert "1 duplicate record(s) dropped" in result.detail  # line 6 repeats line 4's document
    assert [(r["record_id"], r["workload"]) for r in table_rows(store, "events")] == SPLIT_ROWS
    check_golden(
        HERE / "gw_filebeat_split.golden.json", golden_rows(store, "events", EVENT_COLUMNS)
    )


def test_shipper_copy_maps_fields_as_the_api_item(store: Store) -> None:
    ingest(store, [SPLIT])
    (grant,) = [r for r in table_rows(store, "events") if r["operation"] == "authorize"]
    assert (grant["app_id"], grant["mailbox_upn"], grant["actor_upn"]) == (ROGUE, NOA, NOA)
    assert (grant["client_ip"], grant["tenant_id"]) == ("203.0.113.91", "c04nw7r1k")


def test_shipper_copy_of_an_api_activity_has_its_record_ids(store: Store, tmp_path: Path) -> None:
    """The same activity read as an API item and as a shipper's documents is stored once."""
    ingest(store, [LINES])
    before = store.count("events")
    item = json.loads(LINES.read_text().splitlines()[5])  # ASSIGN_ROLE x2, GRANT_ADMIN_PRIVILEGE
    write_jsonl(tmp_path / "split.jsonl", [{**item, "events": ev} for ev in item["events"]])
    result = ingest(store, [tmp_path / "split.jsonl"]).files[0]
    assert (result.status, result.records_read, result.records_new) == ("ingested", 3, 0)
    assert store.count("events") == before


def test_api_item_of_a_shipper_copy_adds_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, [SPLIT])
    first, second = split_lines()[:2]  # the two CHANGE_GMAIL_SETTING documents
    write_jsonl(tmp_path / "item.jsonl", [{**first, "events": [first["events"], second["events"]]}])
    assert ingest(store, [tmp_path / "item.jsonl"]).records_new == 0
    assert store.count("events") == 5


def test_shipper_copy_twice_stores_nothing_new(store: Store, tmp_path: Path) -> None:
    ingest(store, [SPLIT])
    again = ingest(store, [SPLIT])
    assert [(f.status, f.records_new) for f in again.files] == [("duplicate", 0)]
    # the same documents in another file (other bytes: a line more) add only that line's event
    extra = activity("admin", "77", "2024-03-05T16:00:00.000Z", "CREATE_USER")
    write_jsonl(tmp_path / "copy.jsonl", [*split_lines(), {**extra, "events": extra["events"][0]}])
    result = ingest(store, [tmp_path / "copy.jsonl"]).files[0]
    assert (result.records_read, result.records_new) == (7, 1)
    assert store.count("events") == 6


def test_events_neither_array_nor_object_is_an_activity_without_events(
    store: Store, tmp_path: Path
) -> None:
    odd = activity("admin", "78", "2024-03-05T16:00:00.000Z")
    fine = activity("admin", "79", "2024-03-05T16:00:01.000Z", "CREATE_USER")
    write_jsonl(tmp_path / "odd.jsonl", [fine, {**odd, "events": "CREATE_USER"}])
    result = ingest(store, [tmp_path / "odd.jsonl"]).files[0]
    assert (result.records_new, result.quarantined, result.warnings) == (2, 0, {"no_events": 1})
    assert [(r["operation"], r["warnings"]) for r in table_rows(store, "events")] == [
        (None, ["no_events"]),
        ("CREATE_USER", None),
    ]


# -- repeated ids: one name several times in an activity, one id on several activities ------

CALENDAR = "-5129934471093310148|2024-03-05T15:30:12.877Z|CHANGE_CALENDAR_SETTING|"
ETAG = "Vb8kQz1RfN4yHc0-TxLm2uPw6Ja|"


def test_repeated_event_names_and_ids_are_all_kept(store: Store) -> None:
    result = ingest(store, [REPEATED]).files[0]
    assert (result.records_read, result.records_new, result.quarantined) == (2, 4, 0)
    assert [(r["record_id"], r["source_ref"]) for r in table_rows(store, "events")] == [
        # sharing outside the domain: all information (the same change twice in one activity)
        (CALENDAR + ETAG + "p:4c21c0636456fb36", "gw_repeated_events.jsonl:1"),
        (CALENDAR + ETAG + "p:4c21c0636456fb36|#2", "gw_repeated_events.jsonl:1"),
        # external guest warning off
        (CALENDAR + ETAG + "p:d06d706700b96c38", "gw_repeated_events.jsonl:1"),
        # another activity with the same qualifier and time, no etag: sharing set back
        (CALENDAR + "p:dea4a2670a2aa4ca", "gw_repeated_events.jsonl:2"),
    ]
    check_golden(
        HERE / "gw_repeated_events.golden.json", golden_rows(store, "events", EVENT_COLUMNS)
    )


def test_repeated_events_twice_store_nothing_new(store: Store, tmp_path: Path) -> None:
    ingest(store, [REPEATED])
    assert [f.status for f in ingest(store, [REPEATED]).files] == ["duplicate"]
    # the same activities in another file, parameters in another order: the same records
    items = [json.loads(line) for line in REPEATED.read_text().splitlines()]
    for item in items:
        for event in item["events"]:
            event["parameters"].reverse()
    write_array(tmp_path / "again.json", items)
    result = ingest(store, [tmp_path / "again.json"]).files[0]
    assert (result.status, result.records_read, result.records_new) == ("ingested", 2, 0)
    assert store.count("events") == 4


def test_events_without_parameters_keep_their_place(store: Store, tmp_path: Path) -> None:
    """Nothing to digest: the n-th event of one name is told apart by #n, as before digests."""
    record = activity("admin", "42", "2024-03-04T09:00:00.000Z", "CREATE_USER", "CREATE_USER")
    write_jsonl(tmp_path / "bare.jsonl", [record])
    assert ingest(store, [tmp_path / "bare.jsonl"]).records_new == 2
    assert [r["record_id"] for r in table_rows(store, "events")] == [
        "42|2024-03-04T09:00:00.000Z|CREATE_USER|aXRlbQ",
        "42|2024-03-04T09:00:00.000Z|CREATE_USER|aXRlbQ|#2",
    ]


def test_key_order_and_spacing_do_not_change_the_digest(store: Store, tmp_path: Path) -> None:
    """A shipper that re-serialises documents (keys sorted, indented) keeps the record ids:
    parameters and their message values are compared as typed values, not as text."""
    ingest(store, [LINES])
    items = [json.loads(line) for line in LINES.read_text().splitlines()]
    docs = [{**item, "events": event} for item in items for event in item["events"]]
    path = tmp_path / "resorted.json"
    path.write_text(json.dumps(docs, sort_keys=True, indent=2))
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_read, result.records_new) == (FORMAT.name, 12, 0)
