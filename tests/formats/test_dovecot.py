"""Dovecot lines (login process, auth process, PAM) of the mail-syslog format, each quirk."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from mailhunt.formats import sniff
from mailhunt.formats.base import Sample
from mailhunt.formats.mail_syslog import FORMAT
from mailhunt.formats.sniffing import sniff_file
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


# -- Dovecot's own log file (log_path, info_log_path) and Dovecot 1.x ------------------------------

LOG_PATH = HERE / "dovecot-log-path.log"  # 2.3, default log_timestamp "%b %d %H:%M:%S "
LOG_PATH_ISO = HERE / "dovecot-log-path-iso.log"  # 2.4, log_timestamp "%Y-%m-%d %H:%M:%S "
V1_SYSLOG = HERE / "dovecot-1x.log"  # 1.x through syslog
V1_LOG_PATH = HERE / "dovecot-1x-log-path.log"  # 1.0 log_path: the level before the process
SHAPES = (LOG_PATH, LOG_PATH_ISO, V1_SYSLOG, V1_LOG_PATH)

# Per fixture: (records, lines skipped, lines quarantined) and, by line,
# (error code, user, client IP, protocol, session).
EXPECTED: dict[str, tuple[tuple[int, int, int], dict[int, tuple[object, ...]]]] = {
    LOG_PATH.name: (
        (8, 8, 0),
        {
            2: (0, "alice@example.org", "203.0.113.7", "imap", "c3a1Rf0K5p7Ay3EH"),
            4: (1, "bob@example.org", "198.51.100.23", None, "Gd6pRf0K4NvGZzOB"),
            5: (1, "bob@example.org", "198.51.100.23", "imap", "Gd6pRf0K4NvGZzOB"),
            6: (2, "carol@example.org", "198.51.100.24", None, "Hh7qSg1L5OwHa0PC"),
            13: (0, "grace@example.org", "203.0.113.9", "pop3", "Mk0tVj4O8RzKd3SF"),
            14: (1, "heidi@example.org", "198.51.100.25", None, "Nl1uWk5P9SaLe4TG"),
            15: (3, None, "198.51.100.26", "submission", "Om2vXl6Q0TbMf5UH"),
            16: (4, "ivan@example.org", "203.0.113.13", "managesieve", "Pn3wYm7R1UcNg6VI"),
        },
    ),
    LOG_PATH_ISO.name: (
        (5, 3, 1),
        {
            2: (0, "alice@example.org", "203.0.113.7", "pop3", "c3a1Rf0K5p7Ay3EH"),
            3: (1, "bob@example.org", "198.51.100.23", None, "Gd6pRf0K4NvGZzOB"),
            4: (1, "bob@example.org", "198.51.100.23", "imap", "Gd6pRf0K4NvGZzOB"),
            5: (2, "carol smith", "198.51.100.24", None, "Hh7qSg1L5OwHa0PC"),
            9: (3, None, "2001:db8::27", "imap", "Om2vXl6Q0TbMf5UH"),
        },
    ),
    V1_SYSLOG.name: (
        (9, 6, 0),
        {
            2: (0, "alice", "203.0.113.7", "imap", None),
            4: (1, "bob", "198.51.100.23", None, None),
            5: (1, "bob", "198.51.100.23", "pop3", None),
            7: (2, "carol", "198.51.100.24", None, None),
            8: (3, None, "198.51.100.25", "imap", None),
            9: (1, "dave", "198.51.100.26", "pop3", None),
            10: (3, None, "198.51.100.27", "imap", None),
            11: (3, None, "198.51.100.28", "imap", None),
            14: (1, "erin", "198.51.100.30", "pop3", None),
        },
    ),
    V1_LOG_PATH.name: (
        (6, 7, 1),
        {
            2: (0, "alice", "203.0.113.7", "imap", None),
            4: (1, "bob", "198.51.100.23", None, None),
            5: (1, "bob", "198.51.100.23", "pop3", None),
            7: (2, "dave@example.org", "198.51.100.25", None, None),
            11: (0, "erin", "203.0.113.8", "pop3", None),
            12: (3, None, "198.51.100.27", "imap", None),
        },
    ),
}
SUMMARY = ("error_code", "user_upn", "client_ip", "app_id", "session_id")


def golden_name(source: Path) -> str:
    return f"{source.stem}.golden.json"


@pytest.mark.parametrize("source", SHAPES, ids=lambda p: p.stem)
def test_shape_rows_counts_and_golden(store: Store, tmp_path: Path, source: Path) -> None:
    result = ingest_at(store, tmp_path, source, JANUARY_2025)
    (records, skipped_lines, quarantined), summary = EXPECTED[source.name]
    assert (result.format, result.status) == (FORMAT.name, "ingested")
    assert (result.records_new, skipped(result), result.quarantined) == (
        records,
        skipped_lines,
        quarantined,
    )
    rows = by_line(store)
    assert {n: tuple(row[c] for c in SUMMARY) for n, row in rows.items()} == summary
    check_golden(HERE, store, golden_name(source))


@pytest.mark.parametrize(
    ("source", "bad_line"),
    [(LOG_PATH_ISO, "BadDate"), (V1_LOG_PATH, "Jun 31 ")],
)
def test_an_impossible_date_in_a_log_file_is_quarantined(
    store: Store, tmp_path: Path, source: Path, bad_line: str
) -> None:
    ingest_at(store, tmp_path, source, JANUARY_2025)
    assert store.query("SELECT line, reason FROM quarantine") == [
        (line_of(source, bad_line), "unrecognised_line")
    ]


@pytest.mark.parametrize("source", [LOG_PATH, LOG_PATH_ISO, V1_LOG_PATH], ids=lambda p: p.stem)
def test_log_file_lines_have_no_host(store: Store, tmp_path: Path, source: Path) -> None:
    ingest_at(store, tmp_path, source, JANUARY_2025)
    assert {row["tenant_id"] for row in by_line(store).values()} == {None}


def test_log_file_times_and_warnings(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, LOG_PATH, JANUARY_2025)
    login = by_line(store)[line_of(LOG_PATH, "user=<Alice@")]
    assert (login["time"], login["warnings"]) == (
        "2024-06-23T15:04:05Z",
        ["time_without_year", "time_without_zone"],
    )
    assert (login["user_upn"], login["app_name"]) == ("alice@example.org", "dovecot imap-login")
    ingest_at(store, tmp_path, LOG_PATH_ISO, JANUARY_2025)
    iso = by_line(store)[line_of(LOG_PATH_ISO, "sasl:plain")]
    assert (iso["time"], iso["warnings"], iso["app_name"]) == (
        "2024-06-23T15:04:07Z",
        ["time_without_zone"],
        "dovecot auth sql",
    )


@pytest.mark.parametrize(
    "marker",
    [
        "starting up",  # master, Info
        "Logged out in=",  # imap process, Info
        "pending requests",  # auth, Warning
        "ProxyErr",  # login process, Error
        "Permission denied (euid",  # imap process, Error: not a password check
        "Fatal: sql",  # auth-worker, Fatal
        "Panic:",
        "Debug: pam(",  # auth_debug repeats what Info says
    ],
)
def test_log_file_lines_that_are_not_sign_ins_are_skipped(
    store: Store, tmp_path: Path, marker: str
) -> None:
    ingest_at(store, tmp_path, LOG_PATH, JANUARY_2025)
    assert line_of(LOG_PATH, marker) not in by_line(store)


@pytest.mark.parametrize(
    ("marker", "code", "reason"),
    [
        ("(1 authentication attempts)", 1, "Aborted login (1 authentication attempts)"),
        ("(0 authentication attempts)", 3, "Aborted login (0 authentication attempts)"),
        ("disabled plaintext", 3, "Aborted login (tried to use disabled plaintext authentication)"),
        ("Inactivity", 1, "Disconnected: Inactivity (auth failed, 1 attempts)"),
    ],
)
def test_dovecot_1_login_outcomes(
    store: Store, tmp_path: Path, marker: str, code: int, reason: str
) -> None:
    ingest_at(store, tmp_path, V1_SYSLOG, JANUARY_2025)
    row = by_line(store)[line_of(V1_SYSLOG, marker)]
    assert (row["error_code"], row["failure_reason"], row["tenant_id"]) == (
        code,
        reason,
        "onprem:mail",
    )


def test_dovecot_1_auth_lines_and_mapped_addresses(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, V1_SYSLOG, JANUARY_2025)
    rows = by_line(store)
    pam = rows[line_of(V1_SYSLOG, "auth(default): pam(bob")]
    assert (pam["app_name"], pam["client_ip"], pam["time"]) == (
        "dovecot auth pam",
        "198.51.100.23",
        "2024-10-19T14:34:08Z",
    )
    assert not any(row["client_ip"].startswith("::ffff:") for row in rows.values())
    for marker in ("client in: AUTH", "No such object", "Disconnected: rip=", "deliver("):
        assert line_of(V1_SYSLOG, marker) not in rows


def test_dovecot_1_log_file_reads_the_level_before_the_process(
    store: Store, tmp_path: Path
) -> None:
    ingest_at(store, tmp_path, V1_LOG_PATH, JANUARY_2025)
    rows = by_line(store)
    assert rows[line_of(V1_LOG_PATH, "Info: auth(default): pam(bob")]["error_code"] == 1
    for marker in ("Warn: auth(default): userdb", "Error: auth(default)", "Fatal:", "deliver("):
        assert line_of(V1_LOG_PATH, marker) not in rows


_LOGIN = "imap-login: Login: user=<alice>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.10, TLS"
_YEARLESS = ["time_without_year", "time_without_zone"]
_ZONELESS = ["time_without_zone"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Dovecot 1.x log file: the master's log prefix, then the time, the level, the process
        (f"dovecot: Jun 23 15:04:14 Info: {_LOGIN}", ("2024-06-23T15:04:14Z", None, _YEARLESS)),
        (f"dovecot: 2011-03-04 11:41:25 Info: {_LOGIN}", ("2011-03-04T11:41:25Z", None, _ZONELESS)),
        # log_timestamp with %{usecs}, or an ISO date and time without zone
        (
            f"Jun 23 15:04:05.123456 {_LOGIN.replace(': ', ': Info: ', 1)}",
            ("2024-06-23T15:04:05.123456Z", None, _YEARLESS),
        ),
        (f"2024-06-23 15:04:05.5 Info: {_LOGIN}", ("2024-06-23T15:04:05.500000Z", None, _ZONELESS)),
        (f"2024-06-23T15:04:05 Info: {_LOGIN}", ("2024-06-23T15:04:05Z", None, _ZONELESS)),
        # syslog without a host name
        (
            f"Oct  5 10:22:28 (none) dovecot: {_LOGIN}",
            ("2024-10-05T10:22:28Z", "onprem:(none)", _YEARLESS),
        ),
    ],
)
def test_log_file_headers(
    store: Store, tmp_path: Path, line: str, expected: tuple[object, ...]
) -> None:
    """(time, tenant, warnings) of a one-line file; every such line is Alice's login."""
    source = tmp_path / "src" / "one.log"
    source.parent.mkdir()
    source.write_text(line + "\n", "utf-8")
    result = ingest_at(store, tmp_path, source, JANUARY_2025)
    assert (result.format, result.records_new) == (FORMAT.name, 1)
    (row,) = by_line(store).values()
    assert (row["time"], row["tenant_id"], row["warnings"]) == expected
    assert (row["user_upn"], row["client_ip"], row["error_code"]) == ("alice", "203.0.113.7", 0)


# -- sniffing: a Dovecot log line is claimed by mail-syslog only ----------------------------------


def csv_sample(text: str) -> Sample:
    """The file read as CSV, as ingest samples it: its first line the header, then the rows
    with as many cells (Dovecot's lines are full of commas)."""
    header, *rows = csv.reader(io.StringIO(text))
    return Sample(
        "csv", tuple(dict(zip(header, r, strict=True)) for r in rows if len(r) == len(header))
    )


@pytest.mark.parametrize("source", SHAPES, ids=lambda p: p.stem)
def test_every_dovecot_line_sniffs_as_mail_syslog_only(source: Path) -> None:
    text = source.read_text("utf-8")
    for line in text.splitlines():
        assert sniff(Sample("text", lines=(line,))) == [FORMAT.name], line
    assert sniff(csv_sample(text)) == []
    assert sniff(Sample("json")) == []
    sniffed, _ = sniff_file(source)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("text", FORMAT.name)
