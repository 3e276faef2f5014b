"""CSV record spans: a record ends at a newline outside quotes (quoted newlines, doubled quotes,
CRLF, BOM and blank lines handled), the header is not a record."""

from __future__ import annotations

from pathlib import Path

from mailhunt.sources.framing import csv_record_spans, frame_csv


def _records(data: bytes) -> list[tuple[int, bytes]]:
    lines, offsets, lengths = csv_record_spans(data)
    return [(line, data[o : o + n]) for line, o, n in zip(lines, offsets, lengths, strict=True)]


def test_quoted_newlines_and_doubled_quotes_stay_in_one_record() -> None:
    data = b'a,b\n1,"x\ny"\n2,"say ""hi""\nthere"\n3,z\n'
    assert _records(data) == [(2, b'1,"x\ny"'), (4, b'2,"say ""hi""\nthere"'), (6, b"3,z")]


def test_bom_crlf_and_blank_lines() -> None:
    data = b'\xef\xbb\xbfa,b\r\n1,2\r\n\r\n"3","x\r\ny"\r\n4,5'
    assert _records(data) == [(2, b"1,2"), (4, b'"3","x\r\ny"'), (6, b"4,5")]


def test_an_unclosed_quote_makes_the_rest_one_flagged_record(tmp_path: Path) -> None:
    """Everything after an unclosed quote belongs to one unfinished record: framing flags it
    (truncated_record), so it is never silently left out; DuckDB refuses such a file or pairs it
    differently, and recovery frames it strictly (tests/sources/test_recovery.py)."""
    data = b'a,b\n1,2\n3,"never closed\n4,5\n'
    assert _records(data) == [(2, b"1,2"), (3, b'3,"never closed\n4,5')]
    path = tmp_path / "cut.csv"
    path.write_bytes(data)
    for chunk_bytes in (1, 3, 64):
        assert frame_csv(path, chunk_bytes=chunk_bytes).errors == {1: "truncated_record"}


def test_chunked_framing_gives_the_same_spans(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbfa,b\r\n1,"x\r\ny"\r\n\r\n2,"say ""hi""\nthere"\n3,z'
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    expected = csv_record_spans(data)
    for chunk_bytes in (1, 2, 3, 7, 64):
        framed = frame_csv(path, chunk_bytes=chunk_bytes)
        got = (framed.lines.tolist(), framed.offsets.tolist(), framed.lengths.tolist())
        assert got == expected, chunk_bytes
