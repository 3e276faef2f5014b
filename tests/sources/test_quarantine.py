"""Quarantine reasons: decided from a suspect record's bytes, most fundamental problem first."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.sources.quarantine import RAW_KEEP_BYTES, REASONS, judge, read_full_span, read_span

ALL_REASONS = {
    "invalid_json",
    "not_object",
    "missing_id",
    "missing_time",
    "bad_time",
    "invalid_utf8",
    "record_too_large",
    "nesting_too_deep",
}


def ual_judge(raw: bytes, framing_error: str | None = None) -> tuple[str, str]:
    return judge(raw, framing_error, "Id", "CreationTime")


def test_every_json_reason_has_a_human_description() -> None:
    assert set(REASONS) >= ALL_REASONS
    assert all(REASONS.values())


@pytest.mark.parametrize(
    ("raw", "reason", "detail_part"),
    [
        (b'{"Id": "x", bad', "invalid_json", "not valid JSON"),
        (b"[1, 2, 3]", "not_object", "(a list)"),
        (b'"just a string"', "not_object", "(a str)"),
        (b"42", "not_object", "(a int)"),
        (b'{"CreationTime": "2024-03-04T09:15:22"}', "missing_id", "(Id)"),
        (b'{"Id": "", "CreationTime": "2024-03-04T09:15:22"}', "missing_id", "(Id)"),
        (b'{"Id": "a1"}', "missing_time", "(CreationTime)"),
        (b'{"Id": "a1", "CreationTime": null}', "missing_time", "(CreationTime)"),
        (b'{"Id": "a1", "CreationTime": "last Tuesday"}', "bad_time", "'last Tuesday'"),
        (b'{"Id": "a1", "UserId": "b\xff\xfeb"}', "invalid_utf8", "(byte 25)"),
        (
            b'{"Id": "a1", "X": ' + b"[" * 100 + b"]" * 100 + b"}",
            "nesting_too_deep",
            "deeper than 64",
        ),
    ],
)
def test_judge_names_the_reason(raw: bytes, reason: str, detail_part: str) -> None:
    got_reason, detail = ual_judge(raw)
    assert got_reason == reason
    assert detail_part in detail


def test_framing_error_wins_over_the_bytes() -> None:
    assert ual_judge(b'{"Id": "a1"', "record_too_large") == (
        "record_too_large",
        REASONS["record_too_large"],
    )


def test_invalid_utf8_is_judged_before_json() -> None:
    assert ual_judge(b"\xff{not json")[0] == "invalid_utf8"


def test_id_and_time_fields_come_from_the_format() -> None:
    raw = b'{"id": "s1", "createdDateTime": "soon"}'
    assert judge(raw, None, "id", "createdDateTime") == (
        "bad_time",
        "record time cannot be parsed: 'soon'",
    )


def test_read_span_keeps_at_most_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    data = b"x" * 10 + b"y" * 10_000
    path.write_bytes(data)
    assert read_span(path, 10, 10_000) == b"y" * RAW_KEEP_BYTES
    assert read_span(path, 5, 10) == b"xxxxxyyyyy"
    assert read_full_span(path, 10, 10_000) == b"y" * 10_000
