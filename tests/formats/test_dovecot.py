"""Dovecot lines (login process, auth process, PAM) of the mail-syslog format, each quirk."""

from __future__ import annotations

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

HERE = FIXTURES / "formats" / "dovecot"
LOG = HERE / "dovecot.log"


@pytest.fixture
def ingested(store: Store, tmp_path: Path) -> tuple[FileResult, dict[int, Record]]:
    return ingest_at(store, tmp_path, LOG, JANUARY_2025), by_line(store)


@pytest.fixture
def rows(ingested: tuple[FileResult, dict[int, Record]]) -> dict[int, Record]:
    return ingested[1]


def row(rows: dict[int, Record], marker: str) -> Record:
    """The row of the fixture line holding `marker`."""
    return rows[line_of(LOG, marker)]


def test_rows_match_golden(store: Store, ingested: tuple[FileResult, dict[int, Record]]) -> None:
    result, _ = ingested
    assert (result.format, result.status, result.records_new, result.quarantined) == (
        FORMAT.name,
        "ingested",
        18,
        0,
    )
    check_golden(HERE, store)


def test_successful_login_names_protocol_session_and_lower_cased_user(
    rows: dict[int, Record],
) -> None:
    login = row(rows, "mpid=4101")
    assert (login["error_code"], login["failure_reason"], login["user_upn"]) == (
        0,
        None,
        "alice@example.org",
    )
    assert (login["app_name"], login["app_id"], login["session_id"]) == (
        "dovecot imap-login",
        "imap",
        "Ok1SuccessAAAAAA",
    )
    assert (login["client_ip"], login["tenant_id"], login["interactive"]) == (
        "203.0.113.5",
        "onprem:mx1",
        True,
    )
    assert row(rows, "SubmitOk")["app_id"] == "submission"


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("session=<Fail23", "Disconnected (auth failed, 3 attempts in 12 secs)"),  # 2.3
        ("carol@", "Aborted login (auth failed, 1 attempts in 2 secs)"),  # no session
        (
            "session=<Fail24",  # 2.4: human and event reasons
            "Login aborted: Connection closed (auth failed, 2 attempts in 9 secs) (auth_failed)",
        ),
    ],
)
def test_failed_logins_are_code_1_with_the_servers_words(
    rows: dict[int, Record],
    marker: str,
    reason: str,
) -> None:
    assert (row(rows, marker)["error_code"], row(rows, marker)["failure_reason"]) == (1, reason)


@pytest.mark.parametrize(
    ("marker", "code"),
    [("NoAuth", 3), ("TlsHs", 3), ("TempFail", 4)],
)
def test_no_attempt_and_server_failures_have_their_own_codes(
    rows: dict[int, Record],
    marker: str,
    code: int,
) -> None:
    assert row(rows, marker)["error_code"] == code
    assert row(rows, "TempFail")["app_id"] == "managesieve"


def test_ipv6_and_ipv4_mapped_addresses(rows: dict[int, Record]) -> None:
    assert row(rows, "session=<Fail24")["client_ip"] == "2001:db8::25"
    assert row(rows, "NoAuth")["client_ip"] == "198.51.100.9"  # ::ffff: dropped
    assert row(rows, "NoAuth")["user_upn"] is None  # user=<>


def test_injected_rip_in_the_user_name_does_not_move_the_client(rows: dict[int, Record]) -> None:
    injected = row(rows, "InjectAAAA")
    assert (injected["user_upn"], injected["client_ip"]) == (
        "mallory>, rip=6.6.6.6",
        "198.51.100.11",
    )


def test_proxy_success_counts_and_proxy_errors_are_skipped(rows: dict[int, Record]) -> None:
    assert row(rows, "ProxyOk")["error_code"] == 0
    assert line_of(LOG, "ProxyErr") not in rows


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("pam(ivan,198.51.100.12): unknown", (2, "dovecot auth pam", "ivan", None)),
        ("auth-worker<7>", (1, "dovecot auth sql", "judy@example.org", "Fail23AAAAAAAAAA")),
        ("passwd-file(kim@", (1, "dovecot auth passwd-file", "kim@example.org", None)),
        ("ldap(leo@", (2, "dovecot auth ldap", "leo@example.org", "LdapAAAAAAAAAAAA")),
        ("sasl:plain", (1, "dovecot auth sql", "nina@example.org", "Fail24BBBBBBBBBB")),  # 2.4
        ("ruser=mike", (1, "dovecot auth pam_unix", "mike", None)),
    ],
)
def test_auth_process_lines_are_password_checks_without_protocol(
    rows: dict[int, Record],
    marker: str,
    expected: tuple[object, ...],
) -> None:
    """(error code, app name, user, session); no protocol (app_id) is named."""
    check = row(rows, marker)
    columns = ("error_code", "app_name", "user_upn", "session_id")
    assert tuple(check[c] for c in columns) == expected
    assert check["app_id"] is None


def test_given_passwords_are_cut_from_the_reason_and_flagged(rows: dict[int, Record]) -> None:
    plain, sha1 = row(rows, "given password: hunter2"), row(rows, "SHA1 of given password")
    assert plain["failure_reason"] == "Password mismatch"
    assert sha1["failure_reason"] == "unknown user"
    assert "password_in_log" in plain["warnings"]
    assert "password_in_log" not in sha1["warnings"]


def test_rfc3339_own_log_and_tai64n_times(rows: dict[int, Record]) -> None:
    rfc3339, own_log, tai = row(rows, "sasl:plain"), row(rows, "OwnLog"), row(rows, "@4000")
    assert (rfc3339["time"], rfc3339["warnings"], rfc3339["tenant_id"]) == (
        "2025-01-05T07:20:10.250000Z",
        ["password_in_log"],
        "onprem:mx1",
    )
    assert (own_log["time"], own_log["warnings"], own_log["tenant_id"]) == (
        "2025-01-05T08:21:20Z",
        ["time_without_zone"],
        None,
    )
    assert (tai["time"], tai["warnings"], tai["tenant_id"]) == (
        "2025-01-04T14:53:52.500000Z",
        None,
        None,
    )


def test_bsd_times_take_the_files_year(rows: dict[int, Record]) -> None:
    login = row(rows, "mpid=4101")
    assert (login["time"], login["warnings"]) == (
        "2025-01-05T08:02:10Z",
        ["time_without_year", "time_without_zone"],
    )


def test_other_lines_are_skipped(ingested: tuple[FileResult, dict[int, Record]]) -> None:
    result, rows = ingested
    for marker in ("starting up", "Logged out", "lookup service", "sshd[900]", "ProxyErr"):
        assert line_of(LOG, marker) not in rows
    assert (skipped(result), result.quarantined) == (5, 0)


def test_same_file_twice_changes_no_count(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, LOG, JANUARY_2025)
    counts = store.count("signins"), store.count("quarantine")
    assert ingest(store, [tmp_path / LOG.name]).files[0].status == "duplicate"
    assert (store.count("signins"), store.count("quarantine")) == counts


# -- real data: fail2ban's labelled Dovecot lines -------------------------------------------------


def test_real_fail2ban_dovecot_lines_match_their_labels(store: Store) -> None:
    path = real(FAIL2BAN / "dovecot")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.quarantined, result.records_new) == (FORMAT.name, 0, 66)
    rows = by_line(store)
    for number, line, label in labelled_lines(path):
        stored = rows.get(number)
        if label["match"]:  # an authentication failure for fail2ban: a failed sign-in here
            assert stored is not None, line
            assert stored["error_code"] != 0, line
            assert stored["client_ip"] == label.get("host", stored["client_ip"]), line
            assert same_clock(stored["time"], label["time"], line), line
        else:  # not a failure: skipped, or a connection that never tried (code 3)
            assert stored is None or stored["error_code"] == 3, line
    assert not set(rows) - {number for number, _, _ in labelled_lines(path)}
