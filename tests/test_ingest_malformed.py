"""Malformed input: each bad record is quarantined with where and why; every good one is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.ingest import IngestSummary, ingest
from mailhunt.sources.framing import MAX_RECORD_BYTES
from mailhunt.store.db import Store
from tests.helpers import at, compact, signin_record, ual_record, write_array

T = "2024-03-04T09:15:22"


def good(record_id: str) -> bytes:
    return compact(ual_record(record_id, T, UserId="alice@contoso.onmicrosoft.com"))


# (line bytes, expected reason or None for a good line, "" for a blank line), in file order.
def mixed_lines() -> list[tuple[bytes, str | None]]:
    return [
        (good("g1"), None),
        (
            b'{"Id": "bad-json", "CreationTime": ' + b'"2024-03-04T09:15:22", Operation: Send}',
            "invalid_json",
        ),
        (b'[{"Id": "in-array", "CreationTime": "2024-03-04T09:15:22"}]', "not_object"),
        (b'"a JSON string, not an object"', "not_object"),
        (compact({"CreationTime": T, "Operation": "Send", "Workload": "Exchange"}), "missing_id"),
        (compact({"Id": "no-time", "Operation": "Send", "Workload": "Exchange"}), "missing_time"),
        (compact(ual_record("bad-time", "04/03/2024 9:15 AM")), "bad_time"),
        (good("utf8").replace(b"alice@", b"al\xff\xfece@"), "invalid_utf8"),
        (b"", ""),
        (b"  \t ", ""),
        (good("g2"), None),
        (
            compact(ual_record("deep", T))[:-1] + b',"Nested":' + b"[" * 100 + b"]" * 100 + b"}",
            "nesting_too_deep",
        ),
        (good("g3"), None),
        (compact(ual_record("huge", T, Pad="a" * (MAX_RECORD_BYTES + 1))), "record_too_large"),
        (good("g4"), None),
    ]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[bytes, str | None]]]:
    """A CRLF file of good lines and every malformed kind, the last line without a newline."""
    lines = [*mixed_lines(), (good("g5"), None)]
    path = tmp_path_factory.mktemp("malformed") / "mixed.jsonl"
    path.write_bytes(b"\r\n".join(line for line, _ in lines))
    return path, lines


@pytest.fixture(scope="module")
def ingested(
    mixed: tuple[Path, list[tuple[bytes, str | None]]],
) -> tuple[IngestSummary, list[tuple[object, ...]], list[str]]:
    path, _ = mixed
    with Store.open(None) as store:
        summary = ingest(store, [path])
        quarantined = store.query(
            "SELECT line, byte_offset, reason, raw, format, source_path, detail "
            "FROM quarantine ORDER BY line"
        )
        ids = [r[0] for r in store.query("SELECT record_id FROM events ORDER BY record_id")]
    return summary, quarantined, ids


def expected_quarantine(lines: list[tuple[bytes, str | None]]) -> list[tuple[int, int, str]]:
    expected, offset = [], 0
    for number, (line, reason) in enumerate(lines, 1):
        if reason:
            expected.append((number, offset, reason))
        offset += len(line) + 2
    return expected


def test_exactly_the_bad_lines_are_quarantined_with_reason_line_and_offset(
    mixed: tuple[Path, list[tuple[bytes, str | None]]], ingested: tuple
) -> None:
    _, lines = mixed
    _, quarantined, _ = ingested
    assert [(q[0], q[1], q[2]) for q in quarantined] == expected_quarantine(lines)


def test_raw_holds_the_first_4_kib_of_the_line(
    mixed: tuple[Path, list[tuple[bytes, str | None]]], ingested: tuple
) -> None:
    _, lines = mixed
    _, quarantined, _ = ingested
    for line_number, _, reason, raw, *_ in quarantined:
        line = lines[line_number - 1][0]
        assert len(raw) <= 4096, reason
        assert raw == line[:4096], reason


def test_every_good_line_is_kept(ingested: tuple) -> None:
    _, _, ids = ingested
    assert ids == ["g1", "g2", "g3", "g4", "g5"]


def test_quarantine_rows_name_the_file_and_format(
    mixed: tuple[Path, list[tuple[bytes, str | None]]], ingested: tuple
) -> None:
    path, _ = mixed
    _, quarantined, _ = ingested
    assert {(q[4], q[5]) for q in quarantined} == {("m365-ual-json", str(path.resolve()))}
    details = {q[2]: q[6] for q in quarantined}
    assert details["missing_id"] == "record has no id (Id)"
    assert details["bad_time"] == "record time cannot be parsed: '04/03/2024 9:15 AM'"


def test_summary_counts_reasons(ingested: tuple) -> None:
    summary, _, _ = ingested
    [result] = summary.files
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        14,
        5,
        9,
    )
    assert dict(summary.reasons) == {
        "invalid_json": 1,
        "not_object": 2,
        "missing_id": 1,
        "missing_time": 1,
        "bad_time": 1,
        "invalid_utf8": 1,
        "nesting_too_deep": 1,
        "record_too_large": 1,
    }


def test_array_elements_are_quarantined_by_element_number_and_file_offset(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "blob.json"
    elements = write_array(
        path,
        [
            ual_record("a1", T),
            ual_record("a2", "not a time"),
            {"CreationTime": T, "Operation": "Send", "Workload": "Exchange"},
            ual_record("a4", T),
        ],
    )
    ingest(store, [path])
    data = path.read_bytes()
    rows = store.query("SELECT line, byte_offset, reason, raw FROM quarantine ORDER BY line")
    assert [(r[0], r[2]) for r in rows] == [(2, "bad_time"), (3, "missing_id")]
    for line, offset, _, raw in rows:
        assert raw == elements[line - 1]
        assert data[offset : offset + len(raw)] == raw
    assert [r[0] for r in store.query("SELECT record_id FROM events ORDER BY 1")] == ["a1", "a4"]


def test_sign_in_without_id_names_the_graph_field(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "signins.jsonl"
    records = [
        signin_record("s1", at(0), "a@contoso.onmicrosoft.com", "app"),
        signin_record("s2", at(0), "b@contoso.onmicrosoft.com", "app"),
    ]
    del records[1]["id"]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    ingest(store, [path])
    assert store.query("SELECT line, reason, detail FROM quarantine") == [
        (2, "missing_id", "record has no id (id)"),
    ]
    assert store.count("signins") == 1


def test_empty_id_is_quarantined_like_a_missing_one(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    path.write_bytes(good("") + b"\n" + compact(ual_record("", "2024-03-05T10:00:00")) + b"\n")
    ingest(store, [path])
    assert store.query("SELECT line, reason FROM quarantine ORDER BY line") == [
        (1, "missing_id"),
        (2, "missing_id"),
    ]
    assert store.count("events") == 0


def test_deep_nesting_inside_an_array_is_quarantined(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "blob.json"
    deep = compact(ual_record("deep", T))[:-1] + b',"Nested":' + b"[" * 100 + b"]" * 100 + b"}"
    path.write_bytes(b"[" + good("a1") + b"," + deep + b"]")
    ingest(store, [path])
    assert store.query("SELECT line, reason FROM quarantine") == [(2, "nesting_too_deep")]
    assert [r[0] for r in store.query("SELECT record_id FROM events")] == ["a1"]


def test_a_blob_cut_short_quarantines_its_cut_element(store: Store, tmp_path: Path) -> None:
    """A content blob cut inside an element: the element is quarantined (truncated_record,
    its element number and offset), the elements before it stored."""
    path = tmp_path / "blob.json"
    elements = [compact(ual_record(f"a{n}", T)) for n in range(3)]
    data = b"[" + b",".join(elements) + b"," + elements[0][:40].replace(b"a0", b"cut")
    path.write_bytes(data)
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_read, result.records_new) == ("ingested", 4, 3)
    assert store.query("SELECT line, byte_offset, reason FROM quarantine") == [
        (4, data.rindex(b"{"), "truncated_record")
    ]
    assert "array not closed properly" in result.detail
