"""Google Workspace Reports API login activities: sniffing, one sign-in per login event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.gworkspace_reports_api_login import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.formats.test_gworkspace_reports_api import (
    LINES as TOKEN_LINES,
)
from tests.formats.test_gworkspace_reports_api import (
    activity,
    check_golden,
    golden_rows,
)
from tests.helpers import FIXTURES, Record, table_rows, write_jsonl

HERE = FIXTURES / "formats" / "gworkspace_reports_api_login"
LINES, PAGE, MALFORMED = (
    HERE / name for name in ("gw_logins.jsonl", "gw_logins_page.json", "gw_logins_malformed.jsonl")
)
SPLIT = HERE / "gw_logins_filebeat.jsonl"  # Filebeat's copy: one document per event
NOA = "noa.friedman@northwind.example"

SIGNIN_COLUMNS = (
    "record_id",
    "time",
    "tenant_id",
    "user_upn",
    "user_id",
    "app_name",
    "client_ip",
    "token_issuer_type",
    "interactive",
    "error_code",
    "failure_reason",
    "country",
    "warnings",
    "source",
    "source_ref",
)


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    summary = ingest(store, [LINES])
    assert (summary.files[0].status, summary.quarantined) == ("ingested", 0)
    return {row["record_id"].split("|")[2]: row for row in table_rows(store, "signins")}


@pytest.mark.parametrize(
    ("records", "claimed"),
    [
        ([activity("login", "1", "2024-03-04T09:00:00Z", "login_success")], True),
        (
            [
                activity("login", "1", "2024-03-04T09:00:00Z", "logout"),
                activity("login", "2", "2024-03-04T09:00:01Z", "login_failure"),
            ],
            True,
        ),
        (
            [
                activity("login", "1", "2024-03-04T09:00:00Z", "login_success"),
                activity("token", "2", "2024-03-04T09:00:01Z", "authorize"),
            ],
            False,
        ),
        (
            [{**activity("login", "1", "2024-03-04T09:00:00Z", "logout"), "event_name": "logout"}],
            False,
        ),
    ],
)
def test_sniff_claims_files_of_login_activities_only(
    tmp_path: Path, records: list[Record], claimed: bool
) -> None:
    path = tmp_path / "sample.jsonl"
    write_jsonl(path, records)
    sniffed, _ = sniff_file(path)
    assert (sniffed is not None and sniffed.format.name == FORMAT.name) is claimed


@pytest.mark.parametrize("path", [LINES, PAGE, MALFORMED, SPLIT], ids=lambda p: p.name)
def test_sniffing_picks_the_format_for_every_fixture(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


def test_ingest_matches_golden_rows(store: Store) -> None:
    summary = ingest(store, [LINES])
    assert (summary.files[0].records_read, summary.files[0].records_new) == (6, 6)
    assert (store.count("signins"), store.count("events")) == (6, 0)
    check_golden(
        HERE / "gworkspace_reports_api_login.golden.json",
        golden_rows(store, "signins", SIGNIN_COLUMNS),
    )


def test_login_and_its_verification_share_qualifier_and_time(
    signins: dict[str, Record],
) -> None:
    success, verification = signins["login_success"], signins["login_verification"]
    assert success["record_id"].split("|")[:2] == verification["record_id"].split("|")[:2]
    assert success["record_id"] != verification["record_id"]


@pytest.mark.parametrize(
    ("event", "code", "reason"),
    [
        ("login_success", 0, None),
        ("login_verification", 0, None),  # login_challenge_status "passed"
        ("login_failure", 1, "login_failure_invalid_password"),
        ("login_challenge", 1, "Challenge Failed."),
        ("suspicious_login", None, None),  # an account warning, no authentication outcome
        ("logout", None, None),
    ],
)
def test_error_code_and_failure_reason_per_event(
    signins: dict[str, Record], event: str, code: int | None, reason: str | None
) -> None:
    assert (signins[event]["error_code"], signins[event]["failure_reason"]) == (code, reason)


def test_sign_in_fields(signins: dict[str, Record]) -> None:
    row = signins["login_success"]
    assert (row["user_upn"], row["user_id"], row["client_ip"]) == (
        NOA,
        "103918274650019283746",
        "203.0.113.91",
    )
    assert (row["app_name"], row["interactive"], row["tenant_id"]) == (
        "Google login",
        True,
        "c04nw7r1k",
    )
    assert (row["country"], row["token_issuer_type"]) == ("NL", "google_password")
    assert signins["login_failure"]["client_ip"] == "2001:db8::91"
    assert [signins["logout"][c] for c in ("token_issuer_type", "user_upn")] == [
        "saml",
        "it-admin@northwind.example",
    ]


def test_account_warning_names_the_affected_account(signins: dict[str, Record]) -> None:
    row = signins["suspicious_login"]  # actor is KEY/SYSTEM, no email, no IP
    assert (row["user_upn"], row["user_id"], row["client_ip"]) == (NOA, None, None)


def test_page_is_read_and_its_activities_stored_once(store: Store) -> None:
    ingest(store, [LINES])
    summary = ingest(store, [PAGE])
    assert (summary.files[0].records_read, summary.files[0].records_new) == (2, 0)
    assert store.count("signins") == 6


def test_other_applications_in_a_login_file_are_skipped(store: Store, tmp_path: Path) -> None:
    logins = [json.loads(line) for line in LINES.read_text().splitlines()]
    token = json.loads(TOKEN_LINES.read_text().splitlines()[0])
    path = tmp_path / "mixed.jsonl"
    write_jsonl(path, [*logins, token])
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 6, 0)
    assert "1 line(s) that are not records skipped" in result.detail
    assert store.count("events") == 0


def test_malformed_records_are_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [MALFORMED])
    assert (summary.files[0].records_new, summary.quarantined) == (1, 2)
    reasons = store.query("SELECT line, reason, detail FROM quarantine ORDER BY line")
    assert [(line, reason) for line, reason, _ in reasons] == [(2, "bad_time"), (3, "missing_id")]
    assert "04/03/2024 09:12" in reasons[0][2]


def test_same_file_twice_changes_no_count(store: Store) -> None:
    ingest(store, [LINES, MALFORMED])
    counts = (store.count("signins"), store.count("quarantine"))
    assert [f.status for f in ingest(store, [LINES, MALFORMED]).files] == ["duplicate"] * 2
    assert (store.count("signins"), store.count("quarantine")) == counts


# -- a log shipper's copy: one document per event, `events` one object ----------------------


def test_shipper_copy_is_read_one_sign_in_per_document(store: Store) -> None:
    result = ingest(store, [SPLIT]).files[0]
    assert (result.format, result.records_read, result.records_new, result.quarantined) == (
        FORMAT.name,
        5,
        5,
        0,
    )
    rows = table_rows(store, "signins")
    assert [
        (r["record_id"], r["user_upn"], r["client_ip"], r["token_issuer_type"], r["error_code"])
        for r in rows
    ] == [
        (
            "-1230954713377028211|2024-05-02T10:11:12.345Z|login_success|"
            "Zx4nWq7Lp0sVb2Kc9TgRy5Hd3Mf|p:2c519178d1e7d5d0",
            NOA,
            "203.0.113.9",
            "google_password",
            0,
        ),
        (
            "-1230954713377028211|2024-05-02T10:11:12.345Z|login_verification|"
            "Zx4nWq7Lp0sVb2Kc9TgRy5Hd3Mf|p:136965b4889bec9e",
            NOA,
            "203.0.113.9",
            "google_password",
            0,
        ),
        # two sign-ins sharing qualifier and time, no etag: told apart by their parameters
        (
            "-123|2024-05-02T10:20:40.001Z|login_success|p:7e03442d2f13c114",
            "alice@northwind.example",
            "198.51.100.77",
            "saml",
            0,
        ),
        (
            "-123|2024-05-02T10:20:40.001Z|login_success|p:7f9f512623d4a707",
            "alice@northwind.example",
            "203.0.113.9",
            "google_password",
            0,
        ),
        # numeric qualifier and intValue, as a shipper may keep them; actor KEY/SYSTEM
        (
            "4471025560019283311|2024-05-02T11:00:00.000Z|suspicious_login|p:8c3bf23d7e9eb65a",
            NOA,
            None,
            None,
            None,
        ),
    ]
    assert rows[0]["country"] == "NL"
    check_golden(
        HERE / "gw_logins_filebeat.golden.json", golden_rows(store, "signins", SIGNIN_COLUMNS)
    )


def test_shipper_copy_twice_stores_nothing_new(store: Store, tmp_path: Path) -> None:
    ingest(store, [SPLIT])
    assert [(f.status, f.records_new) for f in ingest(store, [SPLIT]).files] == [("duplicate", 0)]
    # the same activities as API items (events arrays) in another file: the same records
    docs = [json.loads(line) for line in SPLIT.read_text().splitlines()]
    items = [{**docs[0], "events": [docs[0]["events"], docs[1]["events"]]}] + [
        {**doc, "events": [doc["events"]]} for doc in docs[2:]
    ]
    write_jsonl(tmp_path / "items.jsonl", items)
    result = ingest(store, [tmp_path / "items.jsonl"]).files[0]
    assert (result.format, result.records_read, result.records_new) == (FORMAT.name, 4, 0)
    assert store.count("signins") == 5
