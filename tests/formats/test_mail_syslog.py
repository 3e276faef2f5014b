"""Mail server syslog (Dovecot + Postfix in one mail.log): header, times, ids, skipping, sniffing.

The daemons' own lines are tested in test_dovecot.py and test_postfix.py; the helpers here
(ingesting a copy whose modification time is fixed, rows by line, real data) are shared.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailhunt.formats._textlog import CODES
from mailhunt.formats.base import Sample
from mailhunt.formats.mail_syslog import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import FileResult, ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, UPDATE_GOLDEN, Record, table_rows

HERE = FIXTURES / "formats" / "mail_syslog"
MIXED = HERE / "mail.log"
JANUARY_2025 = datetime(2025, 1, 15, 12, tzinfo=UTC)
REAL = Path(
    os.environ.get("MAILHUNT_REAL_DATA")
    or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
)
CROWDSEC = REAL / "crowdsec-hub-mail-logs"
FAIL2BAN = REAL / "fail2ban-mail-logs"

# Real CrowdSec hub files: (folder, records, lines skipped as not authentication events).
CROWDSEC_FILES = {
    "dovecot-logs": (15, 0),
    "dovecot-slow-bf": (4, 0),
    "dovecot-slow-bf-no-overlap": (4, 0),
    "dovecot-slow-bf-user-enum": (4, 0),
    "dovecot-spam": (12, 0),
    "dovecot-time-based-bf": (4, 0),
    "dovecot-time-based-bf-user-enum": (4, 0),
    "postfix-helo": (0, 2),
    "postfix-honeypot-users": (9, 0),
    "postfix-logs": (1, 6),
    "postfix-non-smtp": (0, 1),
    "postfix-relay": (0, 2),
    "postfix-sasl-bf": (3, 0),
    "postfix-spam": (4, 2),
}


# -- shared helpers ----------------------------------------------------------------------------


def ingest_at(store: Store, folder: Path, source: Path, moment: datetime) -> FileResult:
    """Ingest a copy of `source` last modified at `moment` (BSD syslog times take its year)."""
    path = folder / source.name
    shutil.copyfile(source, path)
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    summary = ingest(store, [path])
    assert len(summary.files) == 1
    return summary.files[0]


def by_line(store: Store) -> dict[int, Record]:
    """The stored sign-ins by their line in the file."""
    return {int(row["source_ref"].rsplit(":", 1)[1]): row for row in table_rows(store, "signins")}


def line_of(source: Path, marker: str) -> int:
    """The (1-based) line of `source` holding `marker`, which must be unique."""
    lines = source.read_text("utf-8").splitlines()
    found = [number for number, text in enumerate(lines, 1) if marker in text]
    assert len(found) == 1, (marker, found)
    return found[0]


def skipped(result: FileResult) -> int:
    """Lines the format skipped as not records, as the ingest summary reports them."""
    match = re.search(r"(\d+) line\(s\) that are not records skipped", result.detail)
    return int(match.group(1)) if match else 0


def check_golden(folder: Path, store: Store, name: str = "golden.json") -> None:
    """The stored rows (every mapped column, by record id) against folder/name."""
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: row[c] for c in columns} for row in table_rows(store, "signins")]
    path = folder / name
    if UPDATE_GOLDEN:
        path.write_text(json.dumps({"rows": rows}, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert rows == json.loads(path.read_text("utf-8"))["rows"]


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not present: {path} (set MAILHUNT_REAL_DATA)")
    return path


def labelled_lines(path: Path) -> list[tuple[int, str, dict[str, object]]]:
    """fail2ban test logs: (line number, log line, label) for each line under a failJSON."""
    found, label = [], None
    for number, text in enumerate(path.read_text("utf-8").splitlines(), 1):
        if re.match(r"#\s*failJSON:", text):
            label = json.loads(text.split(":", 1)[1])
        elif text.strip() and not text.startswith("#") and label is not None:
            found.append((number, text, label))
            label = None
    return found


def same_clock(stored: object, labelled: object, line: str) -> bool:
    """A stored UTC time against fail2ban's label: BSD lines have no year (compare from the
    month on), TAI64N labels are in fail2ban's test zone (compare the day)."""
    stored, labelled = str(stored), str(labelled)
    if line.startswith("@"):
        return stored[:10] == labelled[:10]
    if re.match(r"[A-Z][a-z]{2} ", line):  # fail2ban writes "2005-03-7T02:09:33" too
        _, month, day_clock = labelled.split("-", 2)
        day, clock = day_clock.split("T")
        return stored[5:19] == f"{int(month):02d}-{int(day):02d}T{clock}"
    return stored[:19] == labelled[:19]


# -- the mixed file -----------------------------------------------------------------------------


@pytest.fixture
def mixed(store: Store, tmp_path: Path) -> tuple[FileResult, dict[int, Record]]:
    result = ingest_at(store, tmp_path, MIXED, JANUARY_2025)
    return result, by_line(store)


def test_rows_match_golden(store: Store, mixed: tuple[FileResult, dict[int, Record]]) -> None:
    check_golden(HERE, store)


def test_mixed_file_is_one_format_with_both_daemons(
    mixed: tuple[FileResult, dict[int, Record]],
) -> None:
    result, rows = mixed
    assert (result.format, result.status) == (FORMAT.name, "ingested")
    assert {row["app_name"] for row in rows.values()} == {"dovecot imap-login", "postfix smtpd"}


def test_december_lines_in_a_january_file_are_from_the_year_before(
    mixed: tuple[FileResult, dict[int, Record]],
) -> None:
    _, rows = mixed
    assert rows[line_of(MIXED, "YearEnd")]["time"] == "2024-12-31T23:58:00Z"
    assert rows[line_of(MIXED, "NewYear")]["time"] == "2025-01-01T00:00:10Z"


def test_year_follows_the_modification_time(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, MIXED, datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    rows = by_line(store)
    assert rows[line_of(MIXED, "YearEnd")]["time"] == "2026-12-31T23:58:00Z"
    assert rows[line_of(MIXED, "NewYear")]["time"] == "2026-01-01T00:00:10Z"


def test_yearless_local_times_carry_warnings(mixed: tuple[FileResult, dict[int, Record]]) -> None:
    result, rows = mixed
    assert {tuple(row["warnings"]) for row in rows.values()} == {
        ("time_without_year", "time_without_zone"),
    }
    assert result.warnings == {"time_without_year": 6, "time_without_zone": 6}


def test_lines_that_are_not_authentication_are_skipped_not_quarantined(
    mixed: tuple[FileResult, dict[int, Record]],
) -> None:
    result, rows = mixed
    assert line_of(MIXED, "connect from") not in rows
    assert line_of(MIXED, "opendkim") not in rows
    assert skipped(result) == 2
    assert result.records_read == len(rows) + result.quarantined + skipped(result)


def test_an_impossible_date_is_quarantined_and_the_rest_kept(
    store: Store,
    mixed: tuple[FileResult, dict[int, Record]],
) -> None:
    result, rows = mixed
    bad = line_of(MIXED, "BadDate")
    assert (result.quarantined, len(rows)) == (1, 6)
    assert store.query("SELECT line, reason FROM quarantine") == [(bad, "unrecognised_line")]


def test_identical_lines_are_two_records_with_verbatim_time_prefix(
    mixed: tuple[FileResult, dict[int, Record]],
) -> None:
    _, rows = mixed
    twins = [row for row in rows.values() if row["session_id"] == "TakeoverAAAAAAAA"]
    assert len(twins) == 2
    assert twins[0]["record_id"] != twins[1]["record_id"]
    assert all(re.fullmatch(r"Jan  1 00:01:00\|[0-9a-f]{32}", r["record_id"]) for r in twins)


def test_same_file_twice_changes_no_count(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, MIXED, JANUARY_2025)
    counts = (store.count("signins"), store.count("quarantine"))
    again = tmp_path / "again"
    again.mkdir()
    result = ingest_at(store, again, MIXED, JANUARY_2025)
    assert result.status == "duplicate"
    assert (store.count("signins"), store.count("quarantine")) == counts


def test_grown_file_adds_only_its_new_lines(store: Store, tmp_path: Path) -> None:
    ingest_at(store, tmp_path, MIXED, JANUARY_2025)
    before = store.count("signins")
    grown = tmp_path / "grown" / MIXED.name
    grown.parent.mkdir()
    extra = (
        "Jan  1 00:02:00 mail dovecot: pop3-login: Login: user=<uma@example.org>, "
        "method=PLAIN, rip=203.0.113.41, lip=192.0.2.20, mpid=5004, TLS, session=<Grown>\n"
    )
    grown.write_text(MIXED.read_text("utf-8") + extra, "utf-8")
    os.utime(grown, (JANUARY_2025.timestamp(), JANUARY_2025.timestamp()))
    result = ingest(store, [grown]).files[0]
    assert (result.records_new, store.count("signins")) == (1, before + 1)


def test_every_outcome_code_is_documented(store: Store, tmp_path: Path) -> None:
    for daemon in ("dovecot", "postfix"):
        ingest_at(store, tmp_path, FIXTURES / "formats" / daemon / f"{daemon}.log", JANUARY_2025)
    codes = {row["error_code"] for row in table_rows(store, "signins")}
    assert codes == set(CODES)


# -- sniffing ---------------------------------------------------------------------------------


def text(*lines: str) -> Sample:
    return Sample("text", lines=lines)


@pytest.mark.parametrize(
    ("sample", "claimed"),
    [
        (text("Jan  5 08:02:10 mx1 dovecot: imap-login: Login: user=<a>, rip=192.0.2.1"), True),
        (text("2024-08-29T01:08:59.7+00:00 m postfix/smtpd[1]: connect from x[192.0.2.1]"), True),
        (text("# failJSON: {}", "Jan 29 09:33:58 pop3-login: Info: Aborted login"), True),
        (text("@4000000067794b8a1dcd6500 dovecot-auth: pam_unix(dovecot:auth): x"), True),
        (text("Jan  5 08:02:10 host sshd[9]: Accepted password for root"), False),
        (text("2022/04/02 13:39:51 [info] 8#8: *6631 client login failed: x"), False),
        (text("dovecot: imap-login: Login: user=<a>"), False),  # no syslog time
        (Sample("json", records=({"line": "x dovecot: y"},)), False),
    ],
)
def test_sniff_claims_mail_syslog_only(sample: Sample, claimed: bool) -> None:
    assert FORMAT.sniff(sample) is claimed


def test_committed_fixtures_sniff_as_mail_syslog() -> None:
    for path in (
        MIXED,
        FIXTURES / "formats" / "dovecot" / "dovecot.log",
        FIXTURES / "formats" / "postfix" / "postfix.log",
    ):
        sniffed, _ = sniff_file(path)
        assert sniffed is not None
        assert (sniffed.container, sniffed.format.name) == ("text", FORMAT.name)


# -- real data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(CROWDSEC_FILES))
def test_real_crowdsec_files(store: Store, folder: str) -> None:
    (path,) = sorted(real(CROWDSEC / folder).glob("*.log"))
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name
    result = ingest(store, [path]).files[0]
    assert (result.status, result.quarantined) == ("ingested", 0)
    assert (result.records_new, skipped(result)) == CROWDSEC_FILES[folder]


@pytest.mark.parametrize("folder", ["nginx-mail-bf", "nginx-mail-logs"])
def test_real_nginx_mail_proxy_files_are_not_read(store: Store, folder: str) -> None:
    (path,) = sorted(real(CROWDSEC / folder).glob("*.log"))
    result = ingest(store, [path]).files[0]
    assert (result.format, result.status, result.records_read) == (None, "skipped", 0)
    assert store.count("signins") == store.count("quarantine") == 0
