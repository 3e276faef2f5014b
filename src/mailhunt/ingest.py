"""Ingest: files -> sniffed format -> framed spans -> DuckDB -> schema tables.

One file at a time, or a batch of small files of one format, in one transaction: the rows,
quarantined records and ``ingest_runs`` rows land together or not at all (a batch DuckDB cannot
take is retried file by file). A file that matches no format is skipped with the formats
tried; a malformed record is quarantined and the run goes on.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from mailhunt.errors import InputError, StoreError
from mailhunt.formats import FORMATS, Format, Sample, sniff
from mailhunt.sources.archives import ArchiveError, InputFile, expand
from mailhunt.sources.framing import (
    BOM,
    MAX_RECORD_BYTES,
    ArrayScanError,
    Framed,
    file_sha256,
    frame_array,
    frame_csv,
    frame_lines,
    with_texts,
)
from mailhunt.sources.quarantine import RAW_KEEP_BYTES, judge, read_full_span
from mailhunt.store.db import Provenance, Staged, StageInput, Store, utc_now

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1024 * 1024
SNIFF_LINES = 5
SNIFF_TEXT_LINES = 20


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    format: str | None
    status: str  # ingested | duplicate (same content already stored) | skipped | failed
    records_read: int = 0
    records_new: int = 0
    quarantined: int = 0
    detail: str = ""
    warnings: Counter[str] = field(default_factory=Counter)
    skipped_lines: int = 0  # lines the format recognises as not records (not quarantined)


@dataclass
class IngestSummary:
    """What one ingest run did, file by file, with quarantine reasons counted."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def records_read(self) -> int:
        return sum(f.records_read for f in self.files)

    @property
    def records_new(self) -> int:
        return sum(f.records_new for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every regular file under the given paths (folders recursively), in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no such file or folder: {path}")
    return files


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


# -- sniffing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sniffed:
    """How a file is laid out and which format its records are."""

    container: str  # lines | array | csv | text
    format: Format
    preamble_lines: int = 0  # lines before a CSV header (PowerShell's #TYPE line)


def _json_line_records(text: bytes) -> list[object]:
    records = []
    for line in text.split(b"\n", SNIFF_LINES)[:SNIFF_LINES]:  # not the whole head
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return records


def _json_array_records(path: Path, head: bytes) -> list[object]:
    """First elements of a JSON array (or page) whose start is `head`."""
    data = head
    try:
        framed, _ = frame_array(path, data)
    except ArrayScanError:
        return []
    records = []
    for offset, length in zip(
        framed.offsets[:SNIFF_LINES].tolist(), framed.lengths[:SNIFF_LINES].tolist(), strict=True
    ):
        try:
            records.append(orjson.loads(data[offset : offset + length]))
        except orjson.JSONDecodeError:
            continue
    return records


def _csv_records(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        rows = [row for _, row in zip(range(SNIFF_LINES), reader, strict=False)]
    except (csv.Error, StopIteration):
        return []
    if len(header) < 2:
        return []
    return [dict(zip(header, row, strict=False)) for row in rows if len(row) == len(header)]


POWERSHELL_TYPE_LINE = b"#TYPE "


def _has_type_line(head: bytes) -> bool:
    """Windows PowerShell 5.1 Export-Csv (without -NoTypeInformation) writes a `#TYPE ...`
    line before the header; the CSV starts on the next line."""
    return head.removeprefix(BOM).startswith(POWERSHELL_TYPE_LINE)


def _samples(path: Path, head: bytes) -> list[tuple[str, Sample]]:
    """The ways the file could be laid out, each with its sample, most specific first."""
    text = head.removeprefix(BOM).lstrip()
    samples: list[tuple[str, Sample]] = []
    lines_records = [r for r in _json_line_records(text) if isinstance(r, dict)]
    wrapped = ("value", "records", "items")
    if lines_records and not any(
        isinstance(r.get(key), list) for r in lines_records for key in wrapped
    ):
        samples.append(("lines", Sample("json", tuple(lines_records), name=path.name)))
    if not samples and text[:1] in (b"[", b"{"):
        array_records = [r for r in _json_array_records(path, head) if isinstance(r, dict)]
        if array_records:
            samples.append(("array", Sample("json", tuple(array_records), name=path.name)))
    decoded = text.decode("utf-8", errors="replace")
    csv_records = _csv_records(decoded.split("\n", 1)[-1] if _has_type_line(head) else decoded)
    if csv_records:
        samples.append(("csv", Sample("csv", tuple(csv_records), name=path.name)))
    first_lines = tuple(
        line.rstrip("\r")
        for line in decoded.split("\n", SNIFF_TEXT_LINES)[:SNIFF_TEXT_LINES]
        if line.strip()
    )
    samples.append(("text", Sample("text", lines=first_lines, name=path.name)))
    return samples


_CONTAINER_READER = {"lines": "json", "array": "json", "csv": "csv", "text": "text"}


def sniff_file(path: Path) -> tuple[Sniffed | None, str]:
    """The layout and format of a file, or None with the reason none matched."""
    with path.open("rb") as stream:
        head = stream.read(SAMPLE_BYTES)
        while b"\n" not in head and len(head) < MAX_RECORD_BYTES:  # a long first record
            more = stream.read(SAMPLE_BYTES)
            if not more:
                break
            head += more
    if not head.removeprefix(BOM).strip():
        return None, "file is empty"
    samples = _samples(path, head)
    for container, sample in samples:
        for name in sniff(sample):
            fmt = FORMATS[name]
            if fmt.reader == _CONTAINER_READER[container]:
                preamble = 1 if container == "csv" and _has_type_line(head) else 0
                return Sniffed(container, fmt, preamble), ""
    if _empty_container(path, head):
        return None, "no records: an empty JSON array or page"
    tried = ", ".join(FORMATS)
    return None, f"no format matched {_looks_like(samples)} (tried: {tried})"


def _empty_container(path: Path, head: bytes) -> bool:
    """An empty array or page (`[]`, `{"value": []}`): common as the last page of an API."""
    if head.removeprefix(BOM).lstrip()[:1] not in (b"[", b"{"):
        return False
    try:
        framed, broken_at = frame_array(path, head)
    except ArrayScanError:
        return False
    return len(framed) == 0 and broken_at is None


def _looks_like(samples: list[tuple[str, Sample]]) -> str:
    """What the file seemed to hold, so a reader of the skip reason can tell what it was."""
    for _, sample in samples:
        names = list(sample.records[0]) if sample.records else []
        if sample.kind == "json" or (names and all(len(n) <= 40 for n in names)):
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            kind = "JSON records with keys" if sample.kind == "json" else "CSV with columns"
            return f"[{kind} {shown}]"
    lines = samples[-1][1].lines
    return f"[text starting {(lines[0][:60] if lines else '')!r}]"


# -- loading --------------------------------------------------------------------------------------


def ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    on_file: Callable[[FileResult], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into `store`; never stops on a bad file or record.
    `on_start` is told of each input file before it is read, `on_file` of each result.

    Consecutive small files of one format whose rows are numbered by position (a folder of
    Management Activity API content blobs) are read as one batch: one DuckDB statement per
    step for the batch instead of per file, one transaction for the batch."""
    files = discover(paths)
    summary = IngestSummary(run_id=uuid.uuid4().hex)
    started = utc_now()
    batch: list[_Input] = []

    def emit(results: list[FileResult]) -> None:
        for result in results:
            summary.files.append(result)
            if on_file:
                on_file(result)

    with tempfile.TemporaryDirectory(prefix="mailhunt-") as work_dir:
        work = Path(work_dir)
        for path in files:
            if on_start:
                on_start(path)
            for entry in _inputs(store, path.resolve(), summary, started, work):
                if batch and (isinstance(entry, FileResult) or not _fits(batch, entry)):
                    emit(_ingest_batch(store, batch, summary, started, work))
                    batch = []
                if isinstance(entry, FileResult):
                    emit([entry])
                else:
                    batch.append(entry)
        emit(_ingest_batch(store, batch, summary, started, work))
    return summary


# Files up to BATCH_FILE_BYTES may share a batch of at most BATCH_FILES files, BATCH_BYTES.
BATCH_FILE_BYTES = 16 * 1024 * 1024
BATCH_BYTES = 256 * 1024 * 1024
BATCH_FILES = 500


@dataclass(frozen=True)
class _Input:
    """A sniffed input file, waiting in a batch."""

    item: InputFile
    sniffed: Sniffed
    size: int

    @property
    def batchable(self) -> bool:
        fmt = self.sniffed.format
        return (
            fmt.reader == "json"
            and fmt.numbered_by_position
            and self.sniffed.container in ("lines", "array")
            and self.size <= BATCH_FILE_BYTES
        )


def _fits(batch: list[_Input], entry: _Input) -> bool:
    """Can `entry` join the batch (same format, both small, the batch not full)?"""
    return (
        batch[0].batchable
        and entry.batchable
        and entry.sniffed.format is batch[0].sniffed.format
        and len(batch) < BATCH_FILES
        and sum(e.size for e in batch) + entry.size <= BATCH_BYTES
    )


def _inputs(
    store: Store, path: Path, summary: IngestSummary, started: datetime, work: Path
) -> Iterator[_Input | FileResult]:
    """The input files of `path` (archive members expanded), sniffed; a FileResult for those
    that cannot be read (skipped, failed), recorded as such."""
    try:
        inputs = expand(path, work)
    except (ArchiveError, OSError) as error:
        result = FileResult(path, None, "failed", detail=str(error))
        _record_run(store, summary.run_id, started, result)
        yield result
        return
    for item in inputs:
        try:
            sniffed, why = sniff_file(item.physical)
        except OSError as error:
            sniffed, why = None, f"cannot read: {error.strerror}"
        if sniffed is None:
            result = FileResult(Path(item.display), None, "skipped", detail=why)
            _record_run(store, summary.run_id, started, result, size=_size(item.physical))
            yield result
        else:
            yield _Input(item, sniffed, _size(item.physical) or 0)


@dataclass(frozen=True)
class _Prepared:
    """A framed input file (frames possibly still being computed) and what DuckDB reads."""

    entry: _Input
    frames: _Frames
    read_path: Path
    broken: str  # why an array file was not well formed, if it was not


def _ingest_batch(
    store: Store, batch: list[_Input], summary: IngestSummary, started: datetime, work: Path
) -> list[FileResult]:
    """Frame, stage and store a batch of inputs in one transaction; their results in order.
    When DuckDB cannot take the batch, its files are taken again one by one, so one bad file
    fails alone."""
    results: dict[int, FileResult] = {}
    prepared: dict[int, _Prepared] = {}
    with ThreadPoolExecutor(max_workers=1) as framing:
        for n, entry in enumerate(batch):
            try:
                frames, read_path, broken = _start_framing(
                    framing, store, entry.item.physical, entry.sniffed, work, len(batch) == 1
                )
            except (duckdb.Error, OSError, ArrayScanError) as error:
                results[n] = _failed(
                    store, summary, started, entry.item, entry.sniffed.format, error
                )
                continue
            prepared[n] = _Prepared(entry, frames, read_path, broken)
        if prepared:
            counted = summary.reasons.copy(), summary.warnings.copy()
            store.begin()
            try:
                results |= _load(store, prepared, summary, started)
                store.commit()
            except (duckdb.Error, OSError, StoreError) as error:
                store.rollback()
                summary.reasons, summary.warnings = counted
                for n, one in prepared.items():
                    results[n] = (
                        _failed(
                            store, summary, started, one.entry.item, one.entry.sniffed.format, error
                        )
                        if len(prepared) == 1
                        else _ingest_batch(store, [one.entry], summary, started, work)[0]
                    )
    return [results[n] for n in sorted(results)]


def _failed(  # noqa: PLR0917
    store: Store,
    summary: IngestSummary,
    started: datetime,
    item: InputFile,
    fmt: Format,
    error: Exception,
) -> FileResult:
    """A file the reader could not take at all: recorded as failed, the run goes on."""
    first_line = (str(error).splitlines() or [type(error).__name__])[0]
    log.warning("%s: %s", item.display, first_line)
    result = FileResult(Path(item.display), fmt.name, "failed", detail=first_line[:300])
    _record_run(store, summary.run_id, started, result, size=_size(item.physical))
    return result


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


@dataclass(frozen=True)
class _Frames:
    """A file's frames, possibly still being computed in a thread, and its SHA-256 when it
    was known first (it decides whether the file was ingested already). Unknown means the
    file cannot be a copy of a stored one: no ingested file has its size."""

    known_sha256: str | None
    pending: Future[Framed]

    @property
    def sha256(self) -> str:
        return self.known_sha256 or self.result().sha256

    def result(self) -> Framed:
        return self.pending.result()

    def table(self) -> pa.Table:
        return self.result().table()


def _done(framed: Framed) -> _Frames:
    future: Future[Framed] = Future()
    future.set_result(framed)
    return _Frames(framed.sha256, future)


_GLOB_CHARACTERS = frozenset("*?[")


def _readable(path: Path, work: Path) -> Path:
    """A path DuckDB reads as exactly this file: DuckDB expands `*`, `?` and `[...]` in the
    paths it is given, so a file named `audit[1].json` would be read as `audit1.json`; such a
    file is read through a link in the work folder."""
    if not _GLOB_CHARACTERS & set(str(path)):
        return path
    link = work / f"{uuid.uuid4().hex}{''.join(path.suffixes[-1:])}"
    link.symlink_to(path)
    return link


def _start_framing(  # noqa: PLR0917
    framing: ThreadPoolExecutor,
    store: Store,
    path: Path,
    sniffed: Sniffed,
    work: Path,
    alone: bool,
) -> tuple[_Frames, Path, str]:
    """Frame the file; return its frames, the path DuckDB reads and, for a JSON array that was
    not closed properly, why. JSON Lines and CSV exports (the bulk of audit-log exports) are
    framed in a thread while DuckDB reads the same file: a file read `alone` (not in a batch)
    whose size no ingested file has is hashed in that thread too (it cannot be a copy of a
    stored file); otherwise the SHA-256 comes first, as it decides whether to read at all."""
    if sniffed.container in ("lines", "csv"):
        frame = (
            partial(frame_lines, path)
            if sniffed.container == "lines"
            else partial(frame_csv, path, preamble_lines=sniffed.preamble_lines)
        )
        if alone and not store.ingested_size(path.stat().st_size):
            return _Frames(None, framing.submit(frame)), _readable(path, work), ""
        sha256 = file_sha256(path)
        return _Frames(sha256, framing.submit(frame, sha256=sha256)), _readable(path, work), ""
    if sniffed.container == "text":
        return _done(with_texts(frame_lines(path), path.read_bytes())), path, ""
    data = path.read_bytes()
    framed, broken_at = frame_array(path, data)
    read_path = work / f"{framed.sha256}.jsonl"
    with read_path.open("wb") as out:
        for offset, length in zip(framed.offsets.tolist(), framed.lengths.tolist(), strict=True):
            element = data[offset : offset + length]
            out.write(element.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n")
    broken = "" if broken_at is None else f"array not closed properly after byte {broken_at}"
    return _done(framed), read_path, broken


def _load(
    store: Store, prepared: dict[int, _Prepared], summary: IngestSummary, started: datetime
) -> dict[int, FileResult]:
    """Stage the batch's files whose content is new, check their pairing, store them, and
    quarantine what could not be stored; one result per file."""
    fmt = next(iter(prepared.values())).entry.sniffed.format
    results: dict[int, FileResult] = {}
    to_stage: list[int] = []
    seen: dict[str, str] = {}
    for n, one in prepared.items():
        if one.frames.known_sha256 is None:  # cannot be a copy (see _Frames)
            to_stage.append(n)
            continue
        earlier = store.already_ingested(one.frames.sha256) or seen.get(one.frames.sha256)
        if earlier is not None:
            framed = one.frames.result()
            note = f"same content already ingested from {earlier}"
            results[n] = FileResult(
                Path(one.entry.item.display), fmt.name, "duplicate", len(framed), detail=note
            )
            _record_run(store, summary.run_id, started, results[n], framed.sha256, framed.size)
            continue
        seen[one.frames.sha256] = one.entry.item.display
        to_stage.append(n)
    if not to_stage:
        return results
    staged = store.stage(
        [StageInput(prepared[n].read_path, prepared[n].frames.table) for n in to_stage],
        fmt,
        csv_skip=prepared[to_stage[0]].entry.sniffed.preamble_lines,
    )
    provenances: dict[int, Provenance] = {}
    framed_files = {place: prepared[n].frames.result() for place, n in enumerate(to_stage, 1)}
    paired = _pairing_holds(store, framed_files)
    for place, n in enumerate(to_stage, start=1):
        framed = framed_files[place]
        if staged[place - 1].misaligned or place not in paired:
            detail = (
                "parsed records did not pair with their lines (the reader saw the file "
                "differently, e.g. an unclosed quote); nothing stored"
            )
            results[n] = FileResult(
                Path(prepared[n].entry.item.display), fmt.name, "failed", len(framed), detail=detail
            )
            _record_run(store, summary.run_id, started, results[n], framed.sha256, framed.size)
        else:
            provenances[place] = Provenance(
                fmt.name, prepared[n].entry.item.display, framed.sha256, summary.run_id
            )
    store.append_staged(fmt, provenances, staged)
    store.drop_staged()
    for place, n in enumerate(to_stage, start=1):
        if place in provenances:
            results[n] = _stored(store, prepared[n], staged[place - 1], summary, started)
    return results


def _stored(
    store: Store, one: _Prepared, staged: Staged, summary: IngestSummary, started: datetime
) -> FileResult:
    """The result of a file whose rows were stored; its suspects quarantined."""
    fmt, display, framed = one.entry.sniffed.format, one.entry.item.display, one.frames.result()
    quarantined = _quarantine(store, framed, fmt, staged.suspects, summary, display)
    result = FileResult(Path(display), fmt.name, "ingested", len(framed), staged.rows, quarantined)
    result.skipped_lines = staged.skipped
    result.warnings.update(staged.warnings)
    summary.warnings.update(staged.warnings)
    notes = [f"{staged.duplicates} duplicate record(s) dropped"] if staged.duplicates else []
    notes += [f"{staged.skipped} line(s) that are not records skipped"] if staged.skipped else []
    notes += [f"{count} record(s) with warning {name}" for name, count in staged.warnings.items()]
    notes += [one.broken] if one.broken else []
    result.detail = "; ".join(notes)
    _record_run(store, summary.run_id, started, result, framed.sha256, framed.size)
    return result


PAIRING_SAMPLE = 32


def _pairing_holds(store: Store, framed_files: dict[int, Framed]) -> set[int]:
    """The staged files (by place) whose rows, checked on a few spread evenly over each file,
    hold their own record ids at their spans.

    DuckDB's rows are paired with framing's spans by ordinal; a reader that skipped or split a
    line would shift every later pairing, and this check refuses such a file. A composite id
    ("<source id>|<suffix>") is checked by its source id."""
    picks = {
        place: sorted(
            {round(x) for x in np.linspace(1, len(framed), min(PAIRING_SAMPLE, len(framed)))}
        )
        for place, framed in framed_files.items()
        if len(framed)
    }
    paired = set(framed_files)
    streams: dict[int, BinaryIO] = {}
    try:
        for place, record_id, offset, length in store.staged_sample(picks):
            if place not in streams:
                streams[place] = framed_files[place].path.open("rb")
            streams[place].seek(offset)
            if not _holds_id(streams[place].read(length), str(record_id).split("|", 1)[0]):
                paired.discard(place)
    finally:
        for stream in streams.values():
            stream.close()
    return paired


def _holds_id(raw: bytes, source_id: str) -> bool:
    """Whether a record's bytes carry the id: verbatim, JSON-escaped, or (escaped otherwise,
    e.g. \\u00e9 or \\/) among the string values of the parsed record."""
    if source_id.encode() in raw or orjson.dumps(source_id)[1:-1] in raw:
        return True
    try:
        return source_id in _strings(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return False


def _strings(value: object, depth: int = 0) -> set[str]:
    """Every string value of a parsed record (to a bounded depth)."""
    if isinstance(value, str):
        return {value}
    children: list[object] = []
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    if depth > 8:
        return set()
    return set().union(*(_strings(child, depth + 1) for child in children))


def _quarantine(  # noqa: PLR0917
    store: Store,
    framed: Framed,
    fmt: Format,
    suspects: list[tuple[Any, ...]],
    summary: IngestSummary,
    display: str,
) -> int:
    rows = []
    header = _csv_header(framed.path) if fmt.embedded_json and suspects else []
    for line, offset, length, framing_error in suspects:
        raw = read_full_span(
            framed.path, offset, min(length, 2 * RAW_KEEP_BYTES) if framing_error else length
        )
        if fmt.embedded_json and not framing_error:
            cell = _csv_cell(raw, header, fmt.embedded_json)
            reason, detail = judge(cell, None, fmt.id_field, fmt.time_field, "json")
            detail = f"{fmt.embedded_json}: {detail}"
        else:
            reason, detail = judge(raw, framing_error, fmt.id_field, fmt.time_field, fmt.reader)
        summary.reasons[reason] += 1
        rows.append(
            (summary.run_id, display, line, offset, fmt.name, reason, detail, raw[:RAW_KEEP_BYTES])
        )
    store.insert_rows("quarantine", rows)
    return len(rows)


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        return next(csv.reader(stream), [])


def _csv_cell(raw: bytes, header: list[str], column: str) -> bytes:
    """One cell of a CSV record, by column name (empty when the row has no such cell)."""
    try:
        row = next(csv.reader(io.StringIO(raw.decode("utf-8"))), [])
    except (UnicodeDecodeError, csv.Error):
        return raw
    cells = dict(zip(header, row, strict=False))
    return cells.get(column, "").encode("utf-8")


def _record_run(  # noqa: PLR0917
    store: Store,
    run_id: str,
    started: datetime,
    result: FileResult,
    sha256: str | None = None,
    size: int | None = None,
) -> None:
    store.insert_rows(
        "ingest_runs",
        [
            (
                run_id,
                started,
                str(result.path),
                sha256,
                size,
                result.format,
                result.records_read,
                result.records_new,
                result.quarantined,
                result.status,
                result.detail,
            )
        ],
    )
