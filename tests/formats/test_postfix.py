"""Postfix smtpd SASL lines of the mail-syslog format, each quirk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailhunt.formats.mail_syslog import FORMAT
from mailhunt.ingest import FileResult, ingest
from mailhunt.store.db import Store
from tests.formats.test_mail_syslog import (
    FAIL2BAN,
    JANUARY_2025,
    by_line,
    check_golden,
    ingest_at,
    labelled_lines,
    line_of,
    real,
    same_clock,
    skipped,
)
from tests.helpers import FIXTURES, Record

HERE = FIXTURES / "formats" / "postfix"
LOG = HERE / "postfix.log"
SASL_FAILED = re.compile(r"postfix\S*/smtpd\[\d+\]: warning: \S+: SASL \S+ authentication failed")


@pytest.fixture
def ingested(store: Store, tmp_path: Path) -> tuple[FileResult, dict[int, Record]]:
    return ingest_at(store, tmp_path, LOG, JANUARY_2025), by_line(store)


@pytest.fixture
def rows(ingested: tuple[FileResult, dict[int, Record]]) -> dict[int, Record]:
    return ingested[1]


def row(rows: dict[int, Record], marker: str) -> Record:
    return rows[line_of(LOG, marker)]


def test_rows_match_golden(store: Store, ingested: tuple[FileResult, dict[int, Record]]) -> None:
    result, _ = ingested
    assert (result.format, result.status, result.records_new, result.quarantined) == (
        FORMAT.name,
        "ingested",
        8,
        0,
    )
    check_golden(HERE, store)


def test_sasl_failure_is_code_1_with_the_sasl_servers_words(rows: dict[int, Record]) -> None:
    failed = row(rows, "[2101]: warning")
    assert (failed["error_code"], failed["failure_reason"], failed["user_upn"]) == (
        1,
        "authentication failure",
        None,
    )
    assert (failed["app_name"], failed["app_id"], failed["client_ip"], failed["tenant_id"]) == (
        "postfix smtpd",
        "smtp",
        "203.0.113.20",
        "onprem:mx2",
    )
    assert failed["session_id"] is None  # Postfix has no session id


def test_sasl_username_port_and_submission_service(rows: dict[int, Record]) -> None:
    failed = row(rows, "sasl_username=Quinn")
    assert (failed["user_upn"], failed["client_ip"], failed["app_id"]) == (
        "quinn@example.org",
        "198.51.100.30",
        "submission",
    )
    assert failed["failure_reason"] == "(reason unavailable)"


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("UGFzc3dvcmQ6", (1, "UGFzc3dvcmQ6", "2001:db8::30", "smtps")),  # a base64 challenge
        ("[2104]", (1, None, "198.51.100.31", "smtp")),  # no reason at all
        (
            "Connection lost",
            (4, "Connection lost to authentication server", "198.51.100.32", "smtp"),
        ),
        ("CRAM-MD5", (3, "Invalid authentication mechanism", "198.51.100.33", "smtp")),
    ],
)
def test_failure_reasons_and_their_codes(
    rows: dict[int, Record],
    marker: str,
    expected: tuple[object, ...],
) -> None:
    """(error code, failure reason, client IP, service)."""
    failed = row(rows, marker)
    columns = ("error_code", "failure_reason", "client_ip", "app_id")
    assert tuple(failed[c] for c in columns) == expected


def test_successful_logins_from_the_client_line(rows: dict[int, Record]) -> None:
    rita, sam = row(rows, "sasl_username=Rita"), row(rows, "sasl_username=sam")
    assert (rita["error_code"], rita["user_upn"], rita["client_ip"], rita["app_id"]) == (
        0,
        "rita@example.org",
        "203.0.113.21",
        "submission",
    )
    # an instance (postfix-out), a client port and sasl_sender after the user
    assert (sam["user_upn"], sam["client_ip"], sam["app_id"]) == (
        "sam@example.org",
        "203.0.113.22",
        "smtp",
    )


def test_other_postfix_lines_are_skipped(ingested: tuple[FileResult, dict[int, Record]]) -> None:
    result, rows = ingested
    for marker in (
        "]: connect from",
        "lost connection after AUTH",
        "auth=0/1",
        "cleanup",
        "qmgr",
        "NOQUEUE: reject",
        "Password verification failed",
    ):
        assert line_of(LOG, marker) not in rows
    assert (skipped(result), result.quarantined) == (7, 0)


def test_same_file_twice_changes_no_count(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, LOG, JANUARY_2025)
    counts = store.count("signins"), store.count("quarantine")
    assert ingest(store, [tmp_path / LOG.name]).files[0].status == "duplicate"
    assert (store.count("signins"), store.count("quarantine")) == counts


def test_real_fail2ban_postfix_sasl_failures_match_their_labels(store: Store) -> None:
    """fail2ban's postfix filter also bans rejects and pipelining: only the SASL failures among
    its labelled lines are sign-ins; every other line is skipped."""
    path = real(FAIL2BAN / "postfix")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.quarantined, result.records_new) == (FORMAT.name, 0, 14)
    rows = by_line(store)
    labelled = labelled_lines(path)
    assert set(rows) == {number for number, line, _ in labelled if SASL_FAILED.search(line)}
    for number, line, label in labelled:
        if number in rows:
            assert rows[number]["client_ip"] == label.get("host", rows[number]["client_ip"]), line
            assert rows[number]["user_upn"] == label.get("user"), line
            assert rows[number]["error_code"] != 0, line
            if label["match"]:
                assert same_clock(rows[number]["time"], label["time"], line), line
