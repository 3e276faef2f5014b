"""Every reader, and ingest end to end, on mutated files of its layout (hypothesis; a small
budget by default, MAILHUNT_HYPOTHESIS_PROFILE=long for more): nothing but documented errors,
stored + quarantined + skipped + duplicates == records framed, good records never lost (see
tests/fuzzing.py for the inputs and invariants)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import fuzzing
from tests.fuzzing import Case


@pytest.mark.parametrize("reader", fuzzing.READER_NAMES)
@given(data=st.data())
def test_reader_never_raises_and_accounts_for_every_record(
    reader: str, data: st.DataObject
) -> None:
    fuzzing.run_case(reader, data.draw(fuzzing.mutated(reader)))


@pytest.mark.parametrize("reader", fuzzing.READER_NAMES)
@given(data=st.data())
def test_good_records_around_a_bad_one_are_stored(reader: str, data: st.DataObject) -> None:
    fuzzing.run_case(reader, data.draw(fuzzing.seeded(reader)))


@settings(max_examples=5)
@given(st.binary(max_size=300), st.sampled_from([".json", ".jsonl", ".csv", ".log", ".gz"]))
def test_ingest_of_random_bytes_never_raises(data: bytes, suffix: str) -> None:
    with fuzzing.quiet(), tempfile.TemporaryDirectory() as folder:
        fuzzing.check_ingest(Case(data, suffix), Path(folder))


def test_every_reader_has_seeds() -> None:
    assert all(fuzzing.seeds(reader) for reader in fuzzing.READER_NAMES)


@pytest.mark.parametrize(
    ("reader", "case"),
    [(reader, path) for reader in fuzzing.READER_NAMES for path in fuzzing.found_cases(reader)],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_reader_cases_found_by_fuzzing(reader: str, case: Path) -> None:
    fuzzing.run_case(reader, fuzzing.case_of(case))
