"""Fuzzing of framing and every reader: inputs, the invariants they must keep, and the cases.

Shared by the property tests (`tests/sources/test_framing_properties.py`,
`tests/readers/test_reader_properties.py`), the regression tests of what fuzzing found
(`tests/test_fuzz_regressions.py`, over `tests/fixtures/fuzz/`) and the bench
(`bench/fuzz.py`: hypothesis's long profile, and atheris where it runs).

Inputs are mostly VALID files of each layout (the committed fixtures) mutated the way real
exports break: cut short, spliced with another file, bytes flipped, quotes, newlines, NULs,
BOMs and invalid UTF-8 inserted, lines (a CSV header) duplicated or swapped; some are random
bytes or generated JSON. A target never raises anything but its documented errors, and keeps
its invariants:

- framing: every byte accounted for (outside the spans only white space, a leading BOM, a CSV
  header), spans in order and inside the file, line numbers right, chunk size irrelevant,
  nesting flags exact, a valid JSON array framed into exactly its elements;
- a reader: sampling and sniffing never raise; frames keep those invariants; a work file (or a
  recovered copy) holds exactly one record per frame (rows pair with frames by ordinal);
  judging any record of any format gives a known reason;
- ingest, end to end into a fresh store: never raises; for each stored file, records stored +
  quarantined + skipped + dropped as duplicates == records framed, and quarantine rows match;
  good records seeded into the bytes (the records of a valid file the mutation did not touch)
  are stored, byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mailhunt.formats import FORMATS
from mailhunt.formats.sniffing import read_head, sniff_file
from mailhunt.ingest import ingest
from mailhunt.readers import READERS
from mailhunt.sources.framing import (
    BOM,
    MAX_NESTING,
    ArrayScanError,
    Framed,
    csv_record_spans,
    find_array_start,
    frame_array,
    frame_csv,
    frame_lines,
    nesting_depth,
)
from mailhunt.sources.quarantine import REASONS
from mailhunt.sources.recovery import frame_csv_strict
from mailhunt.store.db import Store

FIXTURES = Path(__file__).parent / "fixtures"
FOUND = FIXTURES / "fuzz"  # cases fuzzing found, one folder per target (regression tests)
READER_NAMES = ("json-lines", "json-array", "csv", "text", "json-envelope")
TARGETS = ("framing", *READER_NAMES)
WHITESPACE = b" \t\r\n\f\v"
MAX_INPUT = 64 * 1024

# Bytes real breakage puts into files: quotes (stray, doubled, escaped), line ends, NUL, BOMs,
# invalid UTF-8 (a lone continuation byte, a cut sequence, a surrogate, past U+10FFFF),
# brackets, separators, a terminal escape, a PowerShell type line.
TOKENS = (
    b'"',
    b'""',
    b'\\"',
    b"\\",
    b"\n",
    b"\r\n",
    b"\r",
    b"\x00",
    BOM,
    b"\xff\xfe",
    b"\x80",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\t",
    b"null",
    b"1e999",
    b'"Id":',
    b"\xe2\x80\xa8",
    b"\x1b]0;x\x07",
    b"#TYPE System.Object\n",
)
# Inside a JSON array element these keep its brackets and strings balanced (the structure).
SAFE_TOKENS = tuple(
    t for t in TOKENS if not any(c in t for c in b'"\\[]{}') and t != b"#TYPE System.Object\n"
)
KINDS = ("truncate", "flip", "insert", "delete", "splice", "duplicate_line", "swap_lines", "junk")

log = logging.getLogger(__name__)

# The small budget CI runs (each reader example is an ingest into a fresh store: ~0.1-0.5 s)
# and the long one for runs by hand (MAILHUNT_HYPOTHESIS_PROFILE=long; bench/fuzz.py).
settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)


class Violation(AssertionError):
    """An invariant did not hold (a finding, like an unhandled error)."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise Violation(message)


# --- seeds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """A valid file of one layout: its name (the suffix matters to nothing but humans), bytes."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix or ".txt"


@cache
def seeds(reader: str) -> tuple[Seed, ...]:
    """The committed fixtures the reader takes (by sniffing), plus for envelopes the same
    envelopes as a JSON array (the other outer layout)."""
    found: list[Seed] = []
    paths = sorted(
        p
        for folder in ("formats", "readers")
        for p in (FIXTURES / folder).rglob("*")
        if p.is_file() and "golden" not in p.name
    )
    for path in paths:
        sniffed, _ = sniff_file(path)
        if sniffed is not None and sniffed.layout.reader.name == reader:
            found.append(Seed(path.name, path.read_bytes()))
    if reader == "json-envelope":
        for seed in list(found):
            lines = [line for line in seed.data.splitlines() if line.strip()]
            found.append(
                Seed(Path(seed.name).stem + "_array.json", b"[" + b",\n".join(lines) + b"]")
            )
    return tuple(found)


def all_seeds() -> tuple[Seed, ...]:
    return tuple(seed for reader in READER_NAMES for seed in seeds(reader))


# --- mutations ---------------------------------------------------------------------------------

Op = tuple[str, int, int, bytes]


def _line_starts(data: bytes) -> list[int]:
    return [0, *(m.end() for m in re.finditer(rb"\n", data))]


def apply_op(data: bytes, op: Op, other: bytes) -> bytes:  # noqa: PLR0911 (one per kind)
    """One mutation of `data`; positions are taken modulo the data's size."""
    kind, a, b, token = op
    size = len(data)
    at = a % (size + 1)
    if kind == "truncate":
        return data[:at]
    if kind == "flip" and size:
        index = a % size
        return data[:index] + bytes([data[index] ^ (1 + b % 255)]) + data[index + 1 :]
    if kind == "insert":
        return data[:at] + token + data[at:]
    if kind == "delete":
        return data[:at] + data[at + 1 + b % 64 :]
    if kind == "splice" and other:
        start = b % len(other)
        return data[:at] + other[start : start + 1 + (a ^ b) % 512] + data[at:]
    if kind in ("duplicate_line", "swap_lines"):
        lines = data.splitlines(keepends=True)
        if not lines:
            return data
        i, j = a % len(lines), b % len(lines)
        if kind == "duplicate_line":
            lines.insert(j, lines[i] if lines[i].endswith(b"\n") else lines[i] + b"\n")
        else:
            lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if kind == "junk":
        return data[:at] + token * (1 + b % 4) + data[at:]
    return data


def apply_ops(data: bytes, ops: list[Op], other: bytes = b"") -> bytes:
    for op in ops:
        data = apply_op(data, op, other)
    return data[:MAX_INPUT]


def ops(tokens: tuple[bytes, ...] = TOKENS, max_size: int = 4) -> st.SearchStrategy[list[Op]]:
    return st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.integers(0, 1 << 20),
            st.integers(0, 1 << 20),
            st.one_of(st.sampled_from(tokens), st.binary(min_size=1, max_size=6)),
        ),
        min_size=1,
        max_size=max_size,
    )


def json_values() -> st.SearchStrategy[Any]:
    """JSON values whose strings hold what trips a bracket walk (brackets, quotes, escapes)."""
    text = st.text(alphabet=st.sampled_from('ab{}[]",:\\ \n\té€\u2028\x00'), max_size=12)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)
        ),
        max_leaves=20,
    )


@dataclass(frozen=True)
class Case:
    """One input: the file's bytes, its suffix, and the good records the bytes must keep
    (each record's exact bytes, as stored spans give them back)."""

    data: bytes
    suffix: str = ".json"
    good: frozenset[bytes] = frozenset()
    how: str = ""

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return f"Case(data={self.data!r}, suffix={self.suffix!r}, how={self.how!r})"


@st.composite
def mutated(draw: st.DrawFn, reader: str | None = None) -> Case:
    """A valid file of the reader's layout (any layout for None) with 1-4 mutations; or,
    now and then, random bytes or a generated JSON document."""
    pool = seeds(reader) if reader else all_seeds()
    choice = draw(st.integers(0, 11))
    if choice == 0:
        seed = draw(st.sampled_from(pool))
        return Case(draw(st.binary(max_size=512)), seed.suffix, how="random bytes")
    if choice == 1:
        document = orjson.dumps(draw(json_values()))
        return Case(document, ".json", how="generated JSON")
    if choice == 2:  # nesting around the limit, closed or not, the last line or not
        depth = draw(st.integers(MAX_NESTING - 2, MAX_NESTING + 3))
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        closed = draw(st.booleans())
        document = opener * depth + (b"1" + (b"]" if opener == b"[" else b"}") * depth) * closed
        before = draw(st.sampled_from([b"", b'{"a":1}\n', b"\n"]))
        return Case(before + document + draw(st.sampled_from([b"", b"\n"])), how="deep")
    seed = draw(st.sampled_from(pool))
    other = draw(st.sampled_from(pool)).data
    mutations = draw(ops())
    return Case(apply_ops(seed.data, mutations, other), seed.suffix, how=f"{seed.name} {mutations}")


# --- good records: mutations that leave the file's other records whole ---------------------------


@cache
def stored_spans(reader: str, index: int) -> tuple[tuple[int, int], ...]:
    """(offset, length) of the records of seed `index` that a clean ingest stores."""
    seed = seeds(reader)[index]
    with tempfile.TemporaryDirectory(prefix="mailhunt-fuzz-") as folder:
        path = Path(folder) / f"seed{seed.suffix}"
        path.write_bytes(seed.data)
        with Store.open(None) as store:
            ingest(store, [path])
            rows = store.query(
                "SELECT DISTINCT byte_offset, byte_length FROM record_spans ORDER BY 1"
            )
    return tuple((int(o), int(n)) for o, n in rows)


@st.composite
def seeded(draw: st.DrawFn, reader: str) -> Case:
    """A valid file whose records are good, changed so that some of them stay whole: cut short
    anywhere, one record mutated (inside its span; JSON array elements keep their brackets
    and strings balanced), or a junk record inserted between two records."""
    pool = seeds(reader)
    index = draw(st.integers(0, len(pool) - 1))
    seed, spans = pool[index], stored_spans(reader, index)
    data = seed.data
    records = {data[o : o + n] for o, n in spans}
    structured = reader == "json-array" or (
        reader == "json-envelope" and seed.name.endswith("array.json")
    )
    how = draw(st.sampled_from(("cut", "one record", "junk record")))
    lone = structured and _lone_object(data)
    if how == "cut" or not spans or (how == "junk record" and lone):
        cut = draw(st.integers(0, len(data)))
        good = frozenset(data[o : o + n] for o, n in spans if o + n <= cut)
        return Case(data[:cut], seed.suffix, good, f"{seed.name} cut at {cut}")
    k = draw(st.integers(0, len(spans) - 1))
    offset, length = spans[k]
    record = data[offset : offset + length]
    others = frozenset(data[o : o + n] for i, (o, n) in enumerate(spans) if i != k)
    if how == "one record":
        if structured and draw(st.booleans()):
            changed = orjson.dumps(draw(json_values()))
        elif structured:
            inner = apply_ops(record[1:-1], draw(ops(SAFE_TOKENS)))
            inner = (
                bytes(b for b in inner if b not in b'"\\[]{}') if inner != record[1:-1] else inner
            )
            changed = record[:1] + inner + record[-1:]
        else:
            changed = apply_ops(record, draw(ops()))
        mutated_data = data[:offset] + changed + data[offset + length :]
        good = others - {changed} if changed not in records else others
        return Case(
            mutated_data, seed.suffix, good, f"{seed.name} record {k + 1}: {changed!r}"[:300]
        )
    if structured:
        junk = orjson.dumps(draw(json_values())) + b",\n"
    else:
        line = draw(st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)), max_size=6))
        junk = b"".join(line).replace(b"\n", b" ").replace(b"\r", b" ") + b"\n"
    mutated_data = data[:offset] + junk + data[offset:]
    return Case(
        mutated_data, seed.suffix, others | {record}, f"{seed.name} junk {junk!r} before {k + 1}"
    )


def _lone_object(data: bytes) -> bool:
    """Is the file one lone JSON object (not an array or page): no place for another record?"""
    try:
        return find_array_start(data) < 0
    except ArrayScanError:
        return True


def reader_cases(reader: str) -> st.SearchStrategy[Case]:
    return st.one_of(mutated(reader), seeded(reader))


def framing_cases() -> st.SearchStrategy[Case]:
    return mutated(None)


# --- framing invariants ------------------------------------------------------------------------


def _check_spans(framed: Framed, data: bytes) -> None:
    """Spans in file order, not overlapping, inside the file, one line number each."""
    offsets, lengths = framed.offsets.tolist(), framed.lengths.tolist()
    expect(len(offsets) == len(lengths) == len(framed.lines), "arrays of unequal length")
    end = 0
    for offset, length in zip(offsets, lengths, strict=True):
        expect(offset >= end and length >= 0, f"span ({offset}, {length}) overlaps or goes back")
        end = offset + length
        expect(end <= len(data), f"span ({offset}, {length}) ends past the file ({len(data)})")
    expect(all(0 <= i < len(offsets) for i in framed.errors), "an error for no record")
    expect(set(framed.errors.values()) <= set(REASONS), f"unknown errors {framed.errors}")


def _outside(data: bytes, offsets: list[int], lengths: list[int], start: int = 0) -> bytes:
    """The bytes of data from `start` that no span covers."""
    parts, position = [], start
    for offset, length in zip(offsets, lengths, strict=True):
        parts.append(data[position:offset])
        position = max(position, offset + length)
    parts.append(data[position:])
    return b"".join(parts)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _chunks(data: bytes) -> tuple[int, ...]:
    """Chunk sizes to frame again with: small ones only for small inputs (a numpy step per
    chunk), one of them varying with the data so boundaries fall everywhere over a run."""
    varying = 1 + zlib.crc32(data) % 97 + len(data) // 256
    return (1, varying) if len(data) <= 256 else (varying, len(data) // 3 + 1)


def check_lines(data: bytes, folder: Path) -> Framed:
    """frame_lines: every byte accounted for, chunk size irrelevant, nesting flags exact."""
    path = folder / "lines.jsonl"
    path.write_bytes(data)
    framed = frame_lines(path)
    _check_spans(framed, data)
    expect(framed.sha256 == hashlib.sha256(data).hexdigest() and framed.size == len(data), "id")
    offsets, lengths = framed.offsets.tolist(), framed.lengths.tolist()
    body = data[len(BOM) :] if data.startswith(BOM) else data
    skip = len(data) - len(body)
    expect(all(o >= skip for o in offsets), "a span starts inside the BOM")
    lost = _outside(data, offsets, lengths, skip).translate(None, WHITESPACE)
    expect(not lost, f"bytes outside every line span: {lost[:40]!r}")
    for index, (offset, length) in enumerate(zip(offsets, lengths, strict=True)):
        span = data[offset : offset + length]
        expect(b"\n" not in span and span.strip(WHITESPACE), f"span {index} is not one line")
        expect(framed.lines[index] == _line_of(data, offset), f"span {index}: wrong line number")
        deep = nesting_depth(span) > MAX_NESTING
        expect(
            deep == (framed.errors.get(index) == "nesting_too_deep"),
            f"span {index}: nesting flag {framed.errors.get(index)} for depth "
            f"{nesting_depth(span)}",
        )
    for chunk in _chunks(data):
        again = frame_lines(path, chunk_bytes=chunk, sha256=framed.sha256)
        expect(
            again.offsets.tolist() == offsets
            and again.lengths.tolist() == lengths
            and again.lines.tolist() == framed.lines.tolist()
            and again.errors == framed.errors,
            f"frame_lines differs with chunks of {chunk} bytes",
        )
    return framed


def check_csv(data: bytes, folder: Path) -> None:
    """frame_csv (fast, quote parity) and frame_csv_strict (recovery): spans in order, every
    byte after the header accounted for, chunk size irrelevant, never raising."""
    path = folder / "records.csv"
    path.write_bytes(data)
    for preamble in (0, 1):
        framed = frame_csv(path, preamble_lines=preamble)
        _check_spans(framed, data)
        offsets, lengths = framed.offsets.tolist(), framed.lengths.tolist()
        if offsets:
            lost = _outside(data, offsets, lengths, offsets[0]).translate(None, WHITESPACE)
            expect(not lost, f"csv: bytes after the header outside every record: {lost[:40]!r}")
        for index, (offset, length) in enumerate(zip(offsets, lengths, strict=True)):
            span = data[offset : offset + length]
            expect(framed.lines[index] == _line_of(data, offset), f"csv {index}: line number")
            expect(
                span.count(b'"') % 2 == 0 or framed.errors.get(index) == "truncated_record",
                f"csv record {index} has an odd number of quotes and no error",
            )
        for chunk in _chunks(data):
            again = frame_csv(path, preamble_lines=preamble, chunk_bytes=chunk, sha256="-")
            expect(
                again.offsets.tolist() == offsets
                and again.lengths.tolist() == lengths
                and again.errors == framed.errors,
                f"frame_csv differs with chunks of {chunk} bytes",
            )
        if not preamble:
            _, spans_offsets, spans_lengths = csv_record_spans(data)
            expect(spans_offsets == offsets and spans_lengths == lengths, "csv_record_spans")
        strict = frame_csv_strict(path, framed.sha256, preamble_lines=preamble)
        if strict is not None:
            _check_spans(strict, data)
            offsets, lengths = strict.offsets.tolist(), strict.lengths.tolist()
            if offsets:
                lost = _outside(data, offsets, lengths, offsets[0]).translate(None, WHITESPACE)
                expect(not lost, f"csv strict: bytes outside every record: {lost[:40]!r}")


def _reference_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_reference_depth, value), default=0)
    return 0


def _record_list(value: object) -> list[Any] | None:
    """The records a valid JSON document holds as framing should see them, or None when
    framing's choice is not decidable from the parsed value (duplicate keys, several lists)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [k for k in ("value", "records", "items") if isinstance(value.get(k), list)]
        keys = [k for k in ("value", "records", "items") if k in value]
        if not keys:
            return [value]
        if len(lists) == 1 and len(keys) == 1:
            return list(value[lists[0]])
    return None


def check_array(data: bytes, folder: Path) -> None:
    """frame_array (the bracket-depth walk): only ArrayScanError; spans in order and whole
    elements; nesting flags exact; a valid JSON document framed into exactly its records."""
    path = folder / "array.json"
    try:
        framed, broken_at = frame_array(path, data)
    except ArrayScanError:
        return
    _check_spans(framed, data)
    expect(broken_at is None or 0 <= broken_at <= len(data), f"broken_at {broken_at}")
    for index, (offset, length) in enumerate(
        zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True)
    ):
        span = data[offset : offset + length]
        if span[:1] in (b"{", b"[") and framed.errors.get(index) != "truncated_record":
            # an element cut short by the end of the file is framed and flagged (quarantined)
            expect(span[-1:] in (b"}", b"]"), f"element {index} does not close: {span[-20:]!r}")
            deep = nesting_depth(span) > MAX_NESTING
            expect(deep == (framed.errors.get(index) == "nesting_too_deep"), f"nesting {index}")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    expected = _record_list(value)
    if expected is None or b"\\u0000" in data:
        return
    elements = []
    for offset, length in zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True):
        elements.append(orjson.loads(data[offset : offset + length]))
    expect(broken_at is None, f"a valid document reported broken at {broken_at}")
    expect(elements == expected, f"elements framed {elements!r:.200} != {expected!r:.200}")
    expect(nesting_depth(data) == _reference_depth(value), "nesting_depth of a valid document")


def check_framing(case: Case) -> None:
    """Every framing of the bytes (lines, CSV, JSON array) keeps its invariants."""
    with tempfile.TemporaryDirectory(prefix="mailhunt-fuzz-") as folder:
        check_lines(case.data, Path(folder))
        check_csv(case.data, Path(folder))
        check_array(case.data, Path(folder))


# --- readers -----------------------------------------------------------------------------------


def _count_records(path: Path) -> int:
    """Records in a work file DuckDB reads as JSON lines: its non-blank lines."""
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip(WHITESPACE))


def check_reader(reader_name: str, case: Case, folder: Path) -> None:
    """The reader's own steps on the file: sample (every reader), sniff, frame, recover and
    judge never raise but documented errors; frames and work files keep their invariants."""
    path = folder / f"input{case.suffix}"
    path.write_bytes(case.data)
    head = read_head(path)
    for reader in READERS.values():
        reader.sample(path, head)
    sniff_file(path)
    reader = READERS[reader_name]
    sampled = reader.sample(path, head)
    if sampled is None:
        return
    layout = sampled[1]
    work = folder / "work"
    work.mkdir(exist_ok=True)
    try:
        framed = reader.frame(path, work, layout)
    except ArrayScanError:
        return
    _check_spans(framed, case.data)
    if framed.texts is not None:
        expect(len(framed.texts) == len(framed), "texts and frames differ in number")
    if framed.read_path is not None:
        count = _count_records(framed.read_path)
        expect(count == len(framed), f"work file holds {count} records for {len(framed)} frames")
    recovered = reader.recover(framed, work, layout)
    if recovered is not None:
        _check_spans(recovered, case.data)
        if recovered.read_path is not None and reader.kind == "json":
            count = _count_records(recovered.read_path)
            expect(count == len(recovered), f"recovered copy: {count} for {len(recovered)}")
        elif recovered.read_path is not None:
            again = frame_csv_strict(recovered.read_path, "", preamble_lines=layout.preamble_lines)
            count = len(again) if again is not None else -1
            expect(count == len(recovered), f"recovered CSV: {count} for {len(recovered)}")
            expect(
                again is None or not again.errors, f"recovered CSV flags {again and again.errors}"
            )
    _check_judge(reader_name, framed, case.data, path)


def _check_judge(reader_name: str, framed: Framed, data: bytes, path: Path) -> None:
    reader = READERS[reader_name]
    kinds = ("json", "text") if reader_name == "json-envelope" else (reader.kind,)
    formats = [fmt for fmt in FORMATS.values() if fmt.reader in kinds]
    for index in range(min(len(framed), 8)):
        offset, length = int(framed.offsets[index]), int(framed.lengths[index])
        raw = data[offset : offset + length]
        for fmt in formats:
            reason, detail = reader.judge(raw, framed.errors.get(index), fmt, path)
            expect(reason in REASONS and isinstance(detail, str), f"judge gave {reason!r}")


# --- ingest, end to end ------------------------------------------------------------------------

_DUPLICATES = re.compile(r"(\d+) duplicate record\(s\) dropped")


@dataclass
class Outcome:
    """What one ingest of a case did (figures for the bench)."""

    statuses: dict[str, int] = field(default_factory=dict)


def check_ingest(case: Case, folder: Path) -> Outcome:
    """Ingest the bytes as a file into a fresh store through `mailhunt.ingest`: nothing
    raised, every framed record accounted for, every good record stored byte for byte."""
    path = folder / f"ingest{case.suffix}"
    path.write_bytes(case.data)
    outcome = Outcome()
    with Store.open(None) as store:
        summary = ingest(store, [path])
        for result in summary.files:
            outcome.statuses[result.status] = outcome.statuses.get(result.status, 0) + 1
            if result.status == "ingested":
                _check_accounting(store, result.records_read, result)
        stored = {
            case.data[o : o + n]
            for o, n in store.query("SELECT byte_offset, byte_length FROM record_spans")
        }
        missing = case.good - stored
        if missing:
            conflicts = {
                case.data[o : o + 16]
                for (o,) in store.query(
                    "SELECT byte_offset FROM quarantine WHERE reason = 'conflicting_duplicate'"
                )
            }
            missing = {m for m in missing if m[:16] not in conflicts}
        if missing:
            files = [
                (f.status, f.records_read, f.records_new, f.quarantined, f.detail)
                for f in summary.files
            ]
            raise Violation(
                f"{len(missing)} good record(s) not stored, e.g. {min(missing)[:120]!r}; "
                f"files: {files}"
            )
    return outcome


def _check_accounting(store: Store, framed: int, result: Any) -> None:
    (stored,) = store.query("SELECT count(DISTINCT ordinal) FROM record_spans")[0]
    (quarantined,) = store.query("SELECT count(*) FROM quarantine WHERE line > 0")[0]
    duplicates = sum(int(n) for n in _DUPLICATES.findall(result.detail))
    expect(
        quarantined == result.quarantined or "quarantine_cap" in result.detail,
        f"{quarantined} quarantine rows for {result.quarantined} quarantined",
    )
    total = stored + result.quarantined + result.skipped_lines + duplicates
    expect(
        total == framed,
        f"stored {stored} + quarantined {result.quarantined} + skipped {result.skipped_lines} "
        f"+ duplicates {duplicates} != framed {framed} ({result.format}: {result.detail})",
    )


# --- targets -----------------------------------------------------------------------------------


@contextmanager
def quiet() -> Iterator[None]:
    """Ingest's warnings about bad files are expected here: not printed."""
    logger = logging.getLogger("mailhunt")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_case(target: str, case: Case) -> Outcome:
    """Run one case through a target (framing, or a reader end to end)."""
    if target == "framing":
        check_framing(case)
        return Outcome()
    with quiet(), tempfile.TemporaryDirectory(prefix="mailhunt-fuzz-") as folder:
        check_reader(target, case, Path(folder))
        return check_ingest(case, Path(folder))


def strategy(target: str) -> st.SearchStrategy[Case]:
    return framing_cases() if target == "framing" else reader_cases(target)


def found_cases(target: str) -> list[Path]:
    """The inputs fuzzing found for a target, kept as regression tests."""
    folder = FOUND / target
    return sorted(folder.iterdir()) if folder.is_dir() else []


def case_of(path: Path) -> Case:
    return Case(path.read_bytes(), path.suffix or ".json", how=path.name)


def save_case(target: str, case: Case) -> Path:
    """Keep a found case under tests/fixtures/fuzz/<target>/ (named by its content)."""
    folder = FOUND / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(case.data).hexdigest()[:16]}{case.suffix}"
    path.write_bytes(case.data)
    return path
