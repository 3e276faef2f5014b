"""Exchange Server IMAP4, POP3 and SMTP Receive protocol logs onto signins, each quirk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.base import Sample
from mailhunt.formats.exchange_protocol_logs import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.formats.test_mail_syslog import CROWDSEC, by_line, line_of, real, skipped
from tests.helpers import FIXTURES, UPDATE_GOLDEN, Record, table_rows

HERE = FIXTURES / "formats" / "exchange_protocol_logs"
IMAP, POP, SMTP = HERE / "imap4.log", HERE / "pop3.log", HERE / "smtp_receive.log"
FILES = [IMAP, POP, SMTP]

# Real CrowdSec hub files (headers stripped): folder -> records.
CROWDSEC_FILES = {
    "exchange-imap-bf": 7,
    "exchange-imap-logs": 1,
    "exchange-pop-bf": 8,
    "exchange-pop-logs": 1,
    "exchange-smtp-bf": 9,
    "exchange-smtp-logs": 1,
}


def rows_of(store: Store, path: Path) -> dict[int, Record]:
    """The stored rows of one fixture file, by line."""
    ingest(store, [path])
    return by_line(store)


def row(store: Store, path: Path, marker: str) -> Record:
    return rows_of(store, path)[line_of(path, marker)]


def test_rows_match_golden(store: Store) -> None:
    summary = ingest(store, FILES)
    assert [(f.format, f.status, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, "ingested", 4, 1),
        (FORMAT.name, "ingested", 2, 0),
        (FORMAT.name, "ingested", 2, 0),
    ]
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: r[c] for c in columns} for r in table_rows(store, "signins")]
    path = HERE / "golden.json"
    if UPDATE_GOLDEN:
        path.write_text(json.dumps({"rows": rows}, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert rows == json.loads(path.read_text("utf-8"))["rows"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fixtures_sniff_as_exchange_protocol_logs(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("text", FORMAT.name)


def test_imap_login_success_from_the_reply(store: Store) -> None:
    login = row(store, IMAP, "a2 OK LOGIN")
    assert (login["error_code"], login["user_upn"], login["app_id"], login["app_name"]) == (
        0,
        "uma@example.org",
        "imap",
        "exchange imap4",
    )
    assert (login["client_ip"], login["session_id"], login["time"]) == (
        "203.0.113.60",
        "00000000000000A1",
        "2025-02-10T09:00:01.400000Z",
    )
    assert login["record_id"].startswith("00000000000000A1,2|")  # session,sequence verbatim
    assert login["tenant_id"] is None  # an IMAP4 line names no server


def test_imap_failure_reason_is_the_errmsg(store: Store) -> None:
    failed = row(store, IMAP, "EXAMPLE\\victor,614")
    assert (failed["error_code"], failed["failure_reason"], failed["user_upn"]) == (
        1,
        "AuthFailed:LogonDenied",
        "example\\victor",
    )


def test_a_comma_and_reply_typed_into_the_user_stay_in_their_cell(store: Store) -> None:
    failed = row(store, IMAP, "wendy,R=OK")
    assert (failed["user_upn"], failed["error_code"], failed["failure_reason"]) == (
        "wendy,r=ok",
        1,
        "a1 NO LOGIN failed.",
    )


def test_back_end_logins_are_marked(store: Store) -> None:
    back = row(store, IMAP, ",560,")
    assert (back["app_name"], back["error_code"], back["client_ip"]) == (
        "exchange imap4 back end",
        0,
        "192.0.2.50",
    )


def test_other_commands_and_headers_are_skipped(store: Store) -> None:
    result = ingest(store, [IMAP]).files[0]
    rows = by_line(store)
    for marker in ("#Fields", "OpenSession", "capability", "CloseSession", "select,INBOX"):
        assert line_of(IMAP, marker) not in rows
    assert (skipped(result), result.records_read) == (9, 14)


def test_malformed_time_is_quarantined_and_the_rest_kept(store: Store) -> None:
    result = ingest(store, [IMAP]).files[0]
    assert (result.records_new, result.quarantined) == (4, 1)
    assert store.query("SELECT line, reason FROM quarantine") == [
        (line_of(IMAP, "2025-13-45"), "unrecognised_line"),
    ]


def test_pop3_pass_success_and_auth_failure(store: Store) -> None:
    rows = rows_of(store, POP)
    ok, failed = rows[line_of(POP, ",pass,")], rows[line_of(POP, "auth, PLAIN")]
    assert (ok["error_code"], ok["user_upn"], ok["app_id"], ok["app_name"]) == (
        0,
        "yara@example.org",
        "pop3",
        "exchange pop3",
    )
    assert (failed["error_code"], failed["failure_reason"], failed["client_ip"]) == (
        1,
        "AuthFailed:LogonDenied",
        "2001:db8::62",
    )
    assert line_of(POP, ",4,user,") not in rows  # USER alone is no login


def test_smtp_auth_replies_235_and_535(store: Store) -> None:
    rows = rows_of(store, SMTP)
    ok, failed = rows[line_of(SMTP, ">,235")], rows[line_of(SMTP, ">,535")]
    assert (ok["error_code"], ok["app_id"], ok["tenant_id"], ok["user_upn"]) == (
        0,
        "submission",
        "onprem:exfe01",
        None,
    )
    assert (failed["error_code"], failed["failure_reason"], failed["app_id"]) == (
        1,
        "535 5.7.3 Authentication unsuccessful",
        "smtp",
    )
    assert (failed["client_ip"], failed["session_id"]) == ("2001:db8::63", "08DD49A1B2C3D4F0")
    assert len(rows) == 2


def test_same_file_twice_changes_no_count(store: Store, tmp_path: Path) -> None:
    ingest(store, FILES)
    counts = store.count("signins"), store.count("quarantine")
    copy = tmp_path / IMAP.name
    copy.write_bytes(IMAP.read_bytes())
    assert ingest(store, [copy]).files[0].status == "duplicate"
    assert (store.count("signins"), store.count("quarantine")) == counts


@pytest.mark.parametrize(
    ("lines", "claimed"),
    [
        (("#Software: Microsoft Exchange Server", "#Log-type: SMTP Receive Protocol Log"), True),
        (
            (
                "#Software: Microsoft Exchange Server",
                "#Log-type: SMTP Send Protocol Log",
                "2025-02-10T11:00:00.100Z,Send,08DD49A1B2C3D4E5,0,192.0.2.50:1,192.0.2.9:25,+,,",
            ),
            False,
        ),
        (("#Software: Microsoft Exchange Server", "#Log-type: Message Tracking Log"), False),
        (("#Fields: date-time,client-ip,client-hostname,server-ip",), False),
        (("2025-02-10T11:00:00.100Z,x,08DD49A1B2C3D4E5,0,192.0.2.50:25,192.0.2.9:1,+,,",), True),
        (("Jan  5 08:02:10 mx1 dovecot: imap-login: Login: user=<a>",), False),
    ],
)
def test_sniff_claims_imap_pop_and_smtp_receive_only(lines: tuple[str, ...], claimed: bool) -> None:
    assert FORMAT.sniff(Sample("text", lines=lines)) is claimed


@pytest.mark.parametrize("folder", sorted(CROWDSEC_FILES))
def test_real_crowdsec_files(store: Store, folder: str) -> None:
    (path,) = sorted(real(CROWDSEC / folder).glob("*.log"))
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    result = ingest(store, [path]).files[0]
    assert (result.status, result.quarantined, skipped(result)) == ("ingested", 0, 0)
    assert result.records_new == CROWDSEC_FILES[folder]
    assert {r["error_code"] for r in table_rows(store, "signins")} == {1}
