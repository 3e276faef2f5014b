"""Strict CSV framing and the work copy without bad records (sources/recovery.py): each record
parsed, a bad one flagged and framing resumed at its next line, spans exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.sources import recovery
from mailhunt.sources.framing import Framed, frame_csv
from mailhunt.sources.recovery import frame_csv_strict, replace_spans

HEADER = b"id,when,what\n"


def _frames(tmp_path: Path, data: bytes, preamble: int = 0) -> list[tuple[int, bytes, str | None]]:
    """(line, bytes, framing error) of each record."""
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    framed = frame_csv_strict(path, "sha", preamble_lines=preamble)
    assert framed is not None
    spans = zip(*(a.tolist() for a in (framed.lines, framed.offsets, framed.lengths)), strict=True)
    return [
        (line, data[offset : offset + length], framed.errors.get(index))
        for index, (line, offset, length) in enumerate(spans)
    ]


def test_a_clean_file_frames_as_the_fast_framing_does(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbfid,when,what\r\n1,"x\r\ny",a\r\n\r\n2,"say ""hi""\nthere",b\r\n  \n3,z,c'
    path = tmp_path / "clean.csv"
    path.write_bytes(data)
    fast, strict = frame_csv(path), frame_csv_strict(path, "sha")
    assert strict is not None
    assert strict.errors == fast.errors == {}
    for column in ("lines", "offsets", "lengths"):
        assert getattr(strict, column).tolist() == getattr(fast, column).tolist()


def test_a_wrong_number_of_cells_is_that_record_only(tmp_path: Path) -> None:
    data = HEADER + b"1,a,b\n2,a,b,c\n3,a\n4,a,b\n"
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, b"2,a,b,c", "csv_columns"),
        (4, b"3,a", "csv_columns"),
        (5, b"4,a,b", None),
    ]


def test_a_quote_inside_an_unquoted_cell_is_text(tmp_path: Path) -> None:
    """DuckDB reads it as text too: the record is good (the quote-counting framing is lost)."""
    data = HEADER + b'1,an"n,b\n2,a,b\n'
    assert _frames(tmp_path, data) == [(2, b'1,an"n,b', None), (3, b"2,a,b", None)]


def test_a_stray_quote_costs_one_line(tmp_path: Path) -> None:
    data = HEADER + b'1,a,b\n"2,a,b\n3,a,"b"\n4,"a""x",b\n'
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, b'"2,a,b', "csv_quoting"),
        (4, b'3,a,"b"', None),
        (5, b'4,"a""x",b', None),
    ]


def test_two_stray_quotes_in_a_row_are_two_records(tmp_path: Path) -> None:
    """Found by the malformed soak: the second joined the first as one quarantined record."""
    data = HEADER + b'1,a,b\n"2,a,b\n"3,a,b\n4,a,b\n"5,"a",b\n"6,a,"b"\n7,a,b\n'
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, b'"2,a,b', "csv_quoting"),
        (4, b'"3,a,b', "csv_quoting"),
        (5, b"4,a,b", None),
        (6, b'"5,"a",b', "csv_quoting"),
        (7, b'"6,a,"b"', "csv_quoting"),
        (8, b"7,a,b", None),
    ]


def test_lines_of_a_cell_starting_with_a_doubled_or_closing_quote_stay_joined(
    tmp_path: Path,
) -> None:
    data = HEADER + b'1,a,b\n2,"x"y\n""key"": 1\n",b\n3,a,b\n'
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, b'2,"x"y\n""key"": 1\n",b', "csv_quoting"),
        (6, b"3,a,b", None),
    ]


def test_text_after_a_closing_quote_is_malformed(tmp_path: Path) -> None:
    data = HEADER + b'1,"a"x,b\n2,a,b\n'
    assert _frames(tmp_path, data) == [(2, b'1,"a"x,b', "csv_quoting"), (3, b"2,a,b", None)]


def test_the_lines_of_a_broken_multiline_record_stay_one_record(tmp_path: Path) -> None:
    """A stray quote in a record whose cell spans lines: the lines after it that are no record
    either are the rest of it (one quarantined record, not one per line)."""
    data = HEADER + b'1,a,b\n2,"x"y\nmore\nlines",b\n3,a,b\n'
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, b'2,"x"y\nmore\nlines",b', "csv_quoting"),
        (6, b"3,a,b", None),
    ]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b'3,a,"cut in a quo', (4, b'3,a,"cut in a quo', "truncated_record")),  # inside quotes
        (b"3,a", (4, b"3,a", "truncated_record")),  # a cell short, no newline
        (b'3,"multi\nline, cut', (4, b'3,"multi\nline, cut', "truncated_record")),
    ],
)
def test_a_file_cut_short_flags_its_last_record(
    tmp_path: Path, tail: bytes, expected: tuple[int, bytes, str]
) -> None:
    data = HEADER + b"1,a,b\r\n2,a,b\r\n" + tail
    assert _frames(tmp_path, data)[-1] == expected
    assert len(_frames(tmp_path, data)) == 3


def test_invalid_utf8_nul_and_a_preamble(tmp_path: Path) -> None:
    data = b"#TYPE System.Management.Automation.PSCustomObject\n" + HEADER
    data += b"1,a\xff,b\n2,a\x00,b\n3,a,b\n"
    assert _frames(tmp_path, data, preamble=1) == [
        (3, b"1,a\xff,b", "invalid_utf8"),
        (4, b"2,a\x00,b", None),
        (5, b"3,a,b", None),
    ]


def test_a_line_over_the_record_limit_is_never_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recovery, "MAX_RECORD_BYTES", 64)
    monkeypatch.setattr(recovery, "CHUNK_BYTES", 16)
    long = b"2," + b"x" * 200 + b",b"
    data = HEADER + b"1,a,b\n" + long + b"\r\n3,a,b\n"
    assert _frames(tmp_path, data) == [
        (2, b"1,a,b", None),
        (3, long, "record_too_large"),
        (4, b"3,a,b", None),
    ]


def test_an_unreadable_header_gives_no_frames(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b'"id,when\n')
    assert frame_csv_strict(path, "sha") is None


def test_the_work_copy_has_a_placeholder_line_per_flagged_record(tmp_path: Path) -> None:
    data = HEADER + b'1,a,b\r\n"2,a,b\r\n3,a,"b"\r\n4,a,b,c\r\n5,a,b'
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    framed = frame_csv_strict(path, "sha")
    assert isinstance(framed, Framed)
    copy = replace_spans(framed, tmp_path, b",,")
    assert copy.read_bytes() == HEADER + b'1,a,b\r\n,,\r\n3,a,"b"\r\n,,\r\n5,a,b'
    assert copy.parent == tmp_path
