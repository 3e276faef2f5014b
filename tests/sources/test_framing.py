"""Framing: where each record starts and ends in its file, never what it says."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from mailhunt.sources.framing import (
    MAX_RECORD_BYTES,
    ArrayScanError,
    array_element_spans,
    frame_array,
    frame_csv,
    frame_lines,
    nesting_depth,
)

BOM = b"\xef\xbb\xbf"
# BOM, CRLF, a blank CRLF line, a whitespace-only line, a blank line, no final newline.
MIXED = BOM + b'{"a":1}\r\n\r\n  \t\n{"b":[2]}\n\n{"c":3}'


def spans(data: bytes, framed_lines: list[int], offsets: list[int], lengths: list[int]) -> list:
    return [
        (n, data[o : o + length])
        for n, o, length in zip(framed_lines, offsets, lengths, strict=True)
    ]


def test_lines_skip_blank_lines_but_count_them(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    framed = frame_lines(path)
    assert framed.lines.tolist() == [1, 4, 6]
    assert framed.offsets.tolist() == [3, 18, 29]
    assert framed.lengths.tolist() == [7, 9, 7]
    assert spans(
        MIXED, framed.lines.tolist(), framed.offsets.tolist(), framed.lengths.tolist()
    ) == [(1, b'{"a":1}'), (4, b'{"b":[2]}'), (6, b'{"c":3}')]
    assert framed.errors == {}
    assert len(framed) == 3


def test_lines_identity_is_sha256_and_size_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    framed = frame_lines(path)
    assert framed.sha256 == hashlib.sha256(MIXED).hexdigest()
    assert framed.size == len(MIXED)
    assert framed.path == path


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 8, 13])
def test_lines_do_not_depend_on_chunk_boundaries(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    framed = frame_lines(path, chunk_bytes=chunk_bytes)
    assert framed.lines.tolist() == [1, 4, 6]
    assert framed.offsets.tolist() == [3, 18, 29]
    assert framed.lengths.tolist() == [7, 9, 7]


def test_empty_and_blank_files_have_no_records(tmp_path: Path) -> None:
    empty, blank = tmp_path / "empty.jsonl", tmp_path / "blank.jsonl"
    empty.write_bytes(b"")
    blank.write_bytes(BOM + b"\r\n \n\t\t\n")
    assert len(frame_lines(empty)) == 0
    assert len(frame_lines(blank)) == 0
    assert frame_lines(empty).sha256 == hashlib.sha256(b"").hexdigest()


def test_over_long_line_is_flagged_and_the_next_line_stays_exact(tmp_path: Path) -> None:
    long_line = b'{"Pad":"' + b"a" * MAX_RECORD_BYTES + b'"}'
    exact = b'{"Pad":"' + b"b" * (MAX_RECORD_BYTES - 10) + b'"}'
    assert len(exact) == MAX_RECORD_BYTES
    data = b'{"first":1}\n' + long_line + b"\r\n" + exact + b"\n" + b'{"last":2}\n'
    path = tmp_path / "long.jsonl"
    path.write_bytes(data)
    framed = frame_lines(path)
    assert framed.lines.tolist() == [1, 2, 3, 4]
    assert framed.errors == {1: "record_too_large"}
    start = 12
    assert framed.offsets.tolist()[1] == start
    assert framed.lengths.tolist()[1] == len(long_line)
    last_offset = framed.offsets.tolist()[3]
    assert data[last_offset : last_offset + framed.lengths.tolist()[3]] == b'{"last":2}'


def test_table_pairs_spans_with_framing_errors(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    table = frame_lines(path).table().to_pydict()
    names = ("line", "byte_offset", "byte_length", "framing_error")
    assert {name: table[name] for name in names} == {
        "line": [1, 2],
        "byte_offset": [0, 8],
        "byte_length": [7, 7],
        "framing_error": [None, None],
    }


# -- JSON arrays -------------------------------------------------------------------------------


def test_array_spans_ignore_brackets_and_quotes_inside_strings() -> None:
    data = b'[ {"a":"]}[{\\"x"}, ["n",[1]] ,\n"s", {"b":{"c":[]}} ]'
    spans_, broken = array_element_spans(data)
    assert broken is None
    assert [data[o : o + n] for o, n in spans_] == [
        b'{"a":"]}[{\\"x"}',
        b'["n",[1]]',
        b'"s"',
        b'{"b":{"c":[]}}',
    ]


def test_page_spans_are_the_value_array() -> None:
    data = (
        BOM + b'  {"@odata.context":"https://graph.microsoft.com/beta/$metadata#auditLogs/'
        b'signIns","value":[{"id":"1"},{"id":"2"}],"@odata.nextLink":"https://x.example"}'
    )
    spans_, broken = array_element_spans(data)
    assert broken is None
    assert [data[o : o + n] for o, n in spans_] == [b'{"id":"1"}', b'{"id":"2"}']


def test_unclosed_array_reports_where_it_broke() -> None:
    data = b'[{"id":"1"},{"id":"2"},{"id":"3", "trunc'
    spans_, broken = array_element_spans(data)
    assert [data[o : o + n] for o, n in spans_] == [b'{"id":"1"}', b'{"id":"2"}']
    assert broken == len(b'[{"id":"1"},{"id":"2"}')


@pytest.mark.parametrize("data", [b'"text"', b"   ", b"42", b"null"])
def test_no_record_array_is_an_array_scan_error(data: bytes) -> None:
    with pytest.raises(ArrayScanError):
        array_element_spans(data)


def test_records_wrapper_spans_are_the_records_array() -> None:
    data = b'{"records": [{"id":"1"}, {"id":"2"}]}'
    spans_, broken = array_element_spans(data)
    assert broken is None
    assert [data[o : o + n] for o, n in spans_] == [b'{"id":"1"}', b'{"id":"2"}']


def test_lone_object_is_one_record() -> None:
    data = b'\n  {"id":"1","x":{"y":["}"]}}\n'
    spans_, broken = array_element_spans(data)
    assert broken is None
    assert [data[o : o + n] for o, n in spans_] == [b'{"id":"1","x":{"y":["}"]}}']


def test_empty_array_has_no_elements() -> None:
    assert array_element_spans(b"[]") == ([], None)
    assert array_element_spans(b'{"value": []}') == ([], None)


def test_frame_array_numbers_elements_and_maps_back_to_the_file(tmp_path: Path) -> None:
    records = [{"Id": "a", "Folders": [{"Path": "\\Inbox [1]"}]}, {"Id": "b"}, {"Id": "c"}]
    data = json.dumps(records, indent=2).encode()
    framed, broken = frame_array(tmp_path / "blob.json", data)
    assert broken is None
    assert framed.lines.tolist() == [1, 2, 3]
    assert framed.sha256 == hashlib.sha256(data).hexdigest()
    assert framed.size == len(data)
    decoded = [
        json.loads(data[o : o + n])
        for o, n in zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True)
    ]
    assert decoded == records


def test_scalar_array_elements_are_framed_so_they_can_be_quarantined() -> None:
    data = b'[{"Id":"a"}, 42, null, true, "s", {"Id":"b"}]'
    spans_, _ = array_element_spans(data)
    assert [data[o : o + n] for o, n in spans_] == [
        b'{"Id":"a"}',
        b"42",
        b"null",
        b"true",
        b'"s"',
        b'{"Id":"b"}',
    ]


def test_nesting_depth_counts_brackets_outside_strings() -> None:
    assert nesting_depth(b'{"a":1}') == 1
    assert nesting_depth(b'{"a":[{"b":[]}]}') == 4
    assert nesting_depth(b'{"a":"[[[[{{{{"}') == 1
    assert nesting_depth(b'{"a":' + b"[" * 100 + b"]" * 100 + b"}") == 101
    assert nesting_depth(b"42") == 0


def test_sha256_of_a_file_read_in_many_chunks_is_the_whole_file_s(tmp_path: Path) -> None:
    data = b"".join(b'{"Id": "%d", "pad": "%s"}\n' % (n, b"x" * (n % 97)) for n in range(3000))
    lines, table = tmp_path / "many.jsonl", tmp_path / "many.csv"
    lines.write_bytes(data)
    table.write_bytes(b"a,b\n" + b"".join(b"%d,%s\n" % (n, b"y" * (n % 89)) for n in range(3000)))
    assert frame_lines(lines, chunk_bytes=997).sha256 == hashlib.sha256(data).hexdigest()
    table_sha256 = hashlib.sha256(table.read_bytes()).hexdigest()
    assert frame_csv(table, chunk_bytes=997).sha256 == table_sha256


def test_a_cut_array_frames_its_cut_element_as_truncated(tmp_path: Path) -> None:
    """The element the cut went through is a frame flagged truncated_record (quarantined,
    not lost with a note only); commas and blanks before it are not part of it."""
    data = b'[{"id":"1"},{"id":"2"}, \n {"id":"3", "trunc  \n'
    framed, broken = frame_array(tmp_path / "blob.json", data)
    assert broken == len(b'[{"id":"1"},{"id":"2"}')
    assert [data[o : o + n] for o, n in zip(framed.offsets, framed.lengths, strict=True)] == [
        b'{"id":"1"}',
        b'{"id":"2"}',
        b'{"id":"3", "trunc',
    ]
    assert framed.errors == {2: "truncated_record"}
    assert framed.lines.tolist() == [1, 2, 3]


def test_an_array_cut_after_a_comma_has_no_cut_element(tmp_path: Path) -> None:
    framed, broken = frame_array(tmp_path / "blob.json", b'[{"id":"1"},  ')
    assert (len(framed), broken, framed.errors) == (1, len(b'[{"id":"1"}'), {})


def test_a_long_string_is_scanned_in_one_step(tmp_path: Path) -> None:
    """A 16 MiB string in an element (closed, then cut) is framed in well under a second of
    CPU: the string pattern used to keep state per byte (3 s, 2 GB) and backtrack over a cut
    one (1.3 s). CPU time, not wall time: the machine may be busy."""
    text = b"x" * (16 * 1024 * 1024)
    data = b'[{"id":"1","pad":"' + text + b'"},{"id":"2","pad":"' + text
    start = time.process_time()
    framed, _ = frame_array(tmp_path / "blob.json", data)
    assert time.process_time() - start < 1.5
    second = data.index(b'{"id":"2"')
    assert framed.offsets.tolist() == [1, second]
    assert framed.lengths.tolist() == [second - 2, len(data) - second]
    assert framed.errors == {0: "record_too_large", 1: "truncated_record"}
