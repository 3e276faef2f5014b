"""What fuzzing (bench/fuzz.py, tests/fuzzing.py) found, each with its exact input under
tests/fixtures/fuzz/<target>/ (every file there also runs through its target's invariants in
tests/sources/test_framing_properties.py and tests/readers/test_reader_properties.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.ingest import ingest
from mailhunt.sources.framing import MAX_NESTING, frame_csv, frame_lines
from mailhunt.sources.recovery import frame_csv_strict
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, compact, ual_record

FOUND = FIXTURES / "fuzz"


def stored_ids(store: Store) -> list[str]:
    rows = store.query("SELECT record_id FROM events UNION ALL SELECT record_id FROM signins")
    return sorted(r[0] for r in rows)


def ingested(path: Path) -> tuple[str, str | None, int, int, list[str]]:
    with Store.open(None) as store:
        [result] = ingest(store, [path]).files
        return (
            result.status,
            result.format,
            result.records_new,
            result.quarantined,
            stored_ids(store),
        )


def test_a_blank_lf_line_after_a_crlf_header_costs_no_record() -> None:
    """DuckDB's CSV sniffer refuses mixed line ends ('Error when sniffing file'); recovery read
    the same bytes again, so the whole file failed. Now the recovered copy holds one record per
    LF line (blank lines out)."""
    clean = ingested(FIXTURES / "formats/m365_purview_csv/purview_audit_export.csv")
    found = ingested(FOUND / "csv/purview_blank_lf_line_after_crlf_header.csv")
    assert found == clean
    assert found[:4] == ("ingested", "m365-ual-purview-csv", 4, 1)


def test_a_broken_first_record_does_not_hide_a_csv_files_layout() -> None:
    """The first record's multi-line cell lost a quote, so the first rows after the header
    were of another width and sniffing (5 rows) saw no record: the file was skipped. Now rows
    of another width are passed over (up to 100) and the file is read; the broken record's
    lines are quarantined and both records stored."""
    status, fmt, new, quarantined, ids = ingested(
        FOUND / "csv/sentinel_auditlogs_broken_first_cell.csv"
    )
    assert (status, fmt, new, quarantined) == ("ingested", "sentinel-audit-logs-csv", 2, 5)
    assert ids == [
        "Directory_0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f_KQ2B7_11112222",
        "Directory_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d_M4N5P_33334444",
    ]


def test_one_damaged_row_among_the_first_does_not_hide_an_exchange_protocol_log() -> None:
    """A row of an IMAP4 log cut to '2': the sniffer wanted every sampled row to match, so
    the file was skipped with its 3 good sign-ins. Now most rows must match (as mail-syslog's
    sniffer does); the damaged line is not a sign-in (skipped, as the format skips lines that
    are not authentication events)."""
    clean = ingested(FIXTURES / "formats/exchange_protocol_logs/imap4.log")
    status, fmt, new, quarantined, ids = ingested(FOUND / "text/imap4_damaged_third_row.log")
    assert (status, fmt, new, quarantined) == ("ingested", "exchange-protocol-logs", 3, 1)
    assert set(ids) < set(clean[4])
    assert len(ids) == len(clean[4]) - 1


@pytest.mark.parametrize("line", [b"\x00\x00\x00", b'""', b"\x00"])
def test_strict_csv_framing_takes_a_line_of_nuls_as_a_record_like_fast_framing(
    tmp_path: Path, line: bytes
) -> None:
    """Found by atheris (tests/fixtures/fuzz/framing/): recovery's strict framing read NULs as
    spaces and then took the line for a blank one, so a record the fast framing (and DuckDB)
    counts vanished from the recovered copy without a quarantine row. A line is blank by its
    bytes now; that one is a record of another width (csv_columns)."""
    path = tmp_path / "nuls.csv"
    path.write_bytes(b"a,b\n1,2\n" + line + b"\n3,4\n")
    fast = frame_csv(path)
    strict = frame_csv_strict(path, fast.sha256)
    assert strict is not None
    assert strict.offsets.tolist() == fast.offsets.tolist() == [4, 8, 9 + len(line)]
    assert strict.errors == {1: "csv_columns"}


def test_a_quote_left_open_in_the_first_csv_record_does_not_hide_the_file() -> None:
    """Found by hypothesis: the first record cut just after an opening quote. Sniffing's
    lenient parse then read the rest of the head as one long cell and saw no record: the
    file was skipped with its good record. Now sniffing parses again strictly, passing over
    the row that does not parse (as recovery frames), and the good record is stored."""
    status, fmt, new, quarantined, ids = ingested(
        FOUND / "csv/sentinel_auditlogs_first_record_cut_in_a_quote.csv"
    )
    assert (status, fmt, new, quarantined) == ("ingested", "sentinel-audit-logs-csv", 1, 1)
    assert ids == ["Directory_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d_M4N5P_33334444"]


@pytest.mark.parametrize("ending", [b"", b"\n"])
def test_a_deep_last_line_without_a_newline_is_flagged(tmp_path: Path, ending: bytes) -> None:
    """Found by atheris (tests/fixtures/fuzz/framing/b497a215470e69a2.json): the nesting check
    ran over complete lines only, so a last line without a newline nested deeper than
    MAX_NESTING was not flagged (DuckDB then got it)."""
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"a":1}\n' + b"[" * (MAX_NESTING + 5) + ending)
    assert frame_lines(path).errors == {1: "nesting_too_deep"}


def test_a_file_of_one_deep_record_without_a_newline_is_quarantined_not_a_crash(
    tmp_path: Path,
) -> None:
    """Found by hypothesis and atheris (tests/fixtures/fuzz/framing/b242e2287a93862c.json and
    others): the nesting check ran over each chunk's unfinished last line too, and with no
    record framed yet it failed (`np.concatenate` of nothing): a JSON Lines file holding one
    deeply nested record and no final newline made `ingest` raise ValueError."""
    path = tmp_path / "deep.jsonl"
    record = compact(ual_record("deep", "2024-03-04T09:15:22"))
    path.write_bytes(record[:-1] + b',"Nested":' + b"[" * 70 + b"]" * 70 + b"}")
    assert frame_lines(path).errors == {0: "nesting_too_deep"}
    with Store.open(None) as store:
        [result] = ingest(store, [path]).files
        assert (result.status, result.records_read, result.quarantined) == ("ingested", 1, 1)
        assert store.query("SELECT reason FROM quarantine") == [("nesting_too_deep",)]
