"""A 10,000-record file with 1% malformed records of 12 kinds: exactly those are quarantined
(count, line numbers and reasons asserted) and every good row is kept."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from mailhunt.ingest import ingest
from mailhunt.sources.framing import MAX_RECORD_BYTES
from mailhunt.store.db import Store
from tests.helpers import at, mail_access, ual_record

RECORDS = 10_000
GOOD_ID = "good-{:05d}"


def _good(index: int) -> bytes:
    record = mail_access(
        GOOD_ID.format(index),
        at(index / 2_000, 9),
        "ann@contoso.example",
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    )
    return json.dumps(record).encode()


def _valid(index: int, **fields: object) -> dict[str, object]:
    return ual_record(f"bad-{index:05d}", at(1), **fields)


# kind -> (reason quarantine must give, bytes of one malformed record at that index)
MALFORMED: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "truncated": ("invalid_json", lambda i: json.dumps(_valid(i)).encode()[:-7]),
    "garbage": ("invalid_json", lambda i: b"<Event><Id>" + str(i).encode() + b"</Id></Event>"),
    "array": ("not_object", lambda i: json.dumps([_valid(i)]).encode()),
    "string": ("not_object", lambda i: json.dumps(f"record {i}").encode()),
    "number": ("not_object", lambda i: str(i).encode()),
    "no_id": (
        "missing_id",
        lambda i: json.dumps({k: v for k, v in _valid(i).items() if k != "Id"}).encode(),
    ),
    "empty_id": ("missing_id", lambda i: json.dumps({**_valid(i), "Id": ""}).encode()),
    "no_time": (
        "missing_time",
        lambda i: json.dumps({k: v for k, v in _valid(i).items() if k != "CreationTime"}).encode(),
    ),
    "bad_time": (
        "bad_time",
        lambda i: json.dumps({**_valid(i), "CreationTime": "31/02/2024 25:61"}).encode(),
    ),
    "latin1": (
        "invalid_utf8",
        lambda i: (
            json.dumps({**_valid(i), "UserId": "JOS\u00c9@x"}).encode().replace(b"\\u00c9", b"\xc9")
        ),
    ),
    "deep": (
        "nesting_too_deep",
        lambda i: (
            json.dumps(_valid(i)).encode()[:-1] + b', "Extra": ' + b"[" * 200 + b"]" * 200 + b"}"
        ),
    ),
    "too_large": (
        "record_too_large",
        lambda i: json.dumps({**_valid(i), "Pad": "x" * (MAX_RECORD_BYTES + 1)}).encode(),
    ),
}


kinds_used: set[str] = set()


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    """The file, and line number -> expected reason for each malformed line."""
    kinds_used.clear()
    kinds = list(MALFORMED)
    # 1% malformed: every 100th line, cycling through the kinds; one oversized line only.
    expected: dict[int, str] = {}
    lines: list[bytes] = []
    for line_number in range(1, RECORDS + 1):
        if line_number % 100 == 50:
            kind = kinds[(line_number // 100) % (len(kinds) - 1)]
            if line_number == 5050:
                kind = "too_large"
            reason, make = MALFORMED[kind]
            kinds_used.add(kind)
            lines.append(make(line_number))
            expected[line_number] = reason
        else:
            lines.append(_good(line_number))
    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, expected


def test_exactly_the_malformed_lines_are_quarantined(
    store: Store, mixed_file: tuple[Path, dict[int, str]]
) -> None:
    path, expected = mixed_file
    assert len(expected) == RECORDS // 100
    assert len(kinds_used) == len(MALFORMED) >= 10  # kinds of malformation
    assert len(set(expected.values())) >= 8  # distinct quarantine reasons
    summary = ingest(store, [path])
    [result] = summary.files
    assert result.status == "ingested"
    assert (result.records_read, result.quarantined) == (RECORDS, len(expected))
    rows = store.query("SELECT line, reason FROM quarantine ORDER BY line")
    assert dict(rows) == expected
    assert summary.reasons == Counter(expected.values())


def test_every_good_row_is_kept(store: Store, mixed_file: tuple[Path, dict[int, str]]) -> None:
    path, expected = mixed_file
    summary = ingest(store, [path])
    good = RECORDS - len(expected)
    assert summary.records_new == good
    stored = {r[0] for r in store.query("SELECT record_id FROM events")}
    assert stored == {GOOD_ID.format(n) for n in range(1, RECORDS + 1) if n not in expected}
    refs = dict(
        store.query(
            "SELECT record_id, source_ref FROM events WHERE record_id IN (?, ?)",
            [GOOD_ID.format(51), GOOD_ID.format(9_999)],
        )
    )
    assert refs[GOOD_ID.format(51)].endswith(":51")
    assert refs[GOOD_ID.format(9_999)].endswith(":9999")
