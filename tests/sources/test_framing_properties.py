"""Framing's invariants on mutated files of every layout, random bytes and generated JSON
(hypothesis; a small budget by default, MAILHUNT_HYPOTHESIS_PROFILE=long for more): every
byte accounted for, spans consistent, never raising on arbitrary bytes (see tests/fuzzing.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailhunt.sources.framing import nesting_depth
from tests import fuzzing
from tests.fuzzing import Case


@given(fuzzing.framing_cases())
def test_framing_keeps_its_invariants_on_mutated_files(case: Case) -> None:
    fuzzing.check_framing(case)


@given(st.binary(max_size=400))
def test_framing_keeps_its_invariants_on_random_bytes(data: bytes) -> None:
    fuzzing.check_framing(Case(data))


@settings(max_examples=60)
@given(fuzzing.json_values())
def test_a_valid_json_document_is_framed_into_exactly_its_records(value: Any) -> None:
    """Arrays, pages ({"value": [...]}) and lone objects whose strings hold brackets, quotes
    and escapes: the bracket-depth walk frames exactly the parsed elements."""
    for document in (value, [value, value], {"value": [value]}, {"records": [value], "n": 1}):
        data = orjson.dumps(document)
        with tempfile.TemporaryDirectory() as folder:
            fuzzing.check_array(data, Path(folder))
            fuzzing.check_array(b"\xef\xbb\xbf \n" + data + b"\n" + data, Path(folder))


@settings(max_examples=60)
@given(fuzzing.json_values())
def test_nesting_depth_is_the_depth_of_the_parsed_value(value: Any) -> None:
    assert nesting_depth(orjson.dumps(value)) == fuzzing._reference_depth(value)


@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=30),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_lines_framing_accounts_for_every_line(lines: list[bytes], newline: bytes) -> None:
    data = newline.join(lines)
    with tempfile.TemporaryDirectory() as folder:
        framed = fuzzing.check_lines(data, Path(folder))
    kept = [line for line in lines if line.strip(fuzzing.WHITESPACE)]
    assert len(framed) == len(kept)


@pytest.mark.parametrize("case", fuzzing.found_cases("framing"), ids=lambda p: p.name)
def test_framing_cases_found_by_fuzzing(case: Path) -> None:
    fuzzing.check_framing(fuzzing.case_of(case))
