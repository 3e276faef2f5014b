"""One ingest run: files -> sniffed layout and format -> framed spans -> staged rows -> store.

A run walks its inputs once. Each file is expanded (archives, UTF-16), sniffed, and either
recorded as skipped or queued; consecutive small files of one route (the same formats and
reader) whose rows are numbered by position form a batch (a folder of Management Activity API
content blobs). A batch is framed, staged and stored in one transaction: its rows, quarantined
records and ``ingest_runs`` rows land together or not at all; a batch DuckDB cannot take is
taken again file by file, so one bad file fails alone.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from mailhunt.errors import InputError, StoreError
from mailhunt.formats.base import Format
from mailhunt.formats.sniffing import Sniffed, sniff_file
from mailhunt.ingest.results import FileResult, FileStatus, IngestSummary
from mailhunt.readers.base import readable
from mailhunt.sources.archives import ArchiveError, InputFile, expand
from mailhunt.sources.framing import ArrayScanError, Framed, file_sha256
from mailhunt.sources.quarantine import RAW_KEEP_BYTES, read_full_span
from mailhunt.store.db import Store, utc_now
from mailhunt.store.rows import IngestRunRow, QuarantineRow
from mailhunt.store.staging import Provenance, StagedFile, StageInput, Staging, Suspect

log = logging.getLogger(__name__)

# Files up to BATCH_FILE_BYTES may share a batch of at most BATCH_FILES files, BATCH_BYTES.
BATCH_FILE_BYTES = 16 * 1024 * 1024
BATCH_BYTES = 256 * 1024 * 1024
BATCH_FILES = 500
NOT_PAIRED = (
    "parsed records did not pair with their lines (the reader saw the file differently, "
    "e.g. an unclosed quote); nothing stored"
)


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


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


@dataclass(frozen=True)
class _Input:
    """A sniffed input file, waiting in a batch."""

    item: InputFile
    sniffed: Sniffed
    size: int

    @property
    def batchable(self) -> bool:
        reader = self.sniffed.layout.reader
        return self.size <= BATCH_FILE_BYTES and all(
            reader.batchable(fmt) for fmt in self.sniffed.formats
        )

    def joins(self, batch: list[_Input]) -> bool:
        """Can this file join the batch (same formats, records of the same kind, both small,
        the batch not full)? JSON lines and arrays share a batch: both are read as lines."""
        first = batch[0]
        return (
            first.batchable
            and self.batchable
            and self.sniffed.formats == first.sniffed.formats
            and self.sniffed.layout.reader.kind == first.sniffed.layout.reader.kind
            and len(batch) < BATCH_FILES
            and sum(e.size for e in batch) + self.size <= BATCH_BYTES
        )


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


def _done(framed: Framed) -> _Frames:
    future: Future[Framed] = Future()
    future.set_result(framed)
    return _Frames(framed.sha256, future)


@dataclass(frozen=True)
class _Prepared:
    """An input file being framed, and the path DuckDB reads."""

    entry: _Input
    frames: _Frames
    read_path: Path

    @property
    def display(self) -> str:
        return self.entry.item.display


class IngestRun:
    """One run of ingest over some inputs into a store; `summary` holds what it did."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        on_file: Callable[[FileResult], None] | None = None,
        on_start: Callable[[Path], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.summary = IngestSummary(run_id=uuid.uuid4().hex)
        self.started = clock()
        self._on_file = on_file
        self._on_start = on_start
        self._should_stop = should_stop or (lambda: False)
        self._work = Path()

    def run(self, paths: Iterable[Path]) -> IngestSummary:
        """Ingest every file under `paths`; never stops on a bad file or record. Asked to stop
        (`should_stop`, checked after each input), it ends after the batch being stored; the
        files of the batch still gathering are not read."""
        files = discover(paths)
        batch: list[_Input] = []
        with tempfile.TemporaryDirectory(prefix="mailhunt-") as work:
            self._work = Path(work)
            for path in files:
                if self._should_stop():
                    return self.summary
                if self._on_start:
                    self._on_start(path)
                for entry in self._inputs(path.resolve()):
                    if batch and (isinstance(entry, FileResult) or not entry.joins(batch)):
                        self._emit(self._batch(batch))
                        batch = []
                    if isinstance(entry, FileResult):
                        self._emit([entry])
                    else:
                        batch.append(entry)
                    if self._should_stop():
                        return self.summary
            self._emit(self._batch(batch))
        return self.summary

    def _emit(self, results: list[FileResult]) -> None:
        for result in results:
            self.summary.files.append(result)
            if self._on_file:
                self._on_file(result)

    # -- inputs -------------------------------------------------------------------------------

    def _inputs(self, path: Path) -> Iterator[_Input | FileResult]:
        """The input files of `path` (archive members expanded), sniffed; a recorded
        FileResult for those that cannot be read (skipped, failed)."""
        try:
            inputs = expand(path, self._work)
        except (ArchiveError, OSError) as error:
            yield self._record(FileResult(path, None, "failed", detail=str(error)))
            return
        for item in inputs:
            try:
                sniffed, why = sniff_file(item.physical)
            except OSError as error:
                sniffed, why = None, f"cannot read: {error.strerror}"
            if sniffed is None:
                result = FileResult(Path(item.display), None, "skipped", detail=why)
                yield self._record(result, size=_size(item.physical))
            else:
                yield _Input(item, sniffed, _size(item.physical) or 0)

    # -- batches ------------------------------------------------------------------------------

    def _batch(self, batch: list[_Input]) -> list[FileResult]:
        """Frame, stage and store a batch in one transaction; its results in order. When
        DuckDB cannot take the batch, its files are taken again one by one."""
        if not batch:
            return []
        results: dict[int, FileResult] = {}
        prepared: dict[int, _Prepared] = {}
        with ThreadPoolExecutor(max_workers=1) as framing:
            for n, entry in enumerate(batch):
                try:
                    prepared[n] = self._prepare(framing, entry, alone=len(batch) == 1)
                except (duckdb.Error, OSError, ArrayScanError) as error:
                    results[n] = self._failed(entry, error)
            if prepared:
                counted = self.summary.reasons.copy(), self.summary.warnings.copy()
                try:
                    with self.store.transaction():
                        results |= self._load(prepared)
                except (duckdb.Error, OSError, StoreError) as error:
                    self.summary.reasons, self.summary.warnings = counted
                    for n, one in prepared.items():
                        results[n] = (
                            self._failed(one.entry, error)
                            if len(prepared) == 1
                            else self._batch([one.entry])[0]
                        )
        return [results[n] for n in sorted(results)]

    def _prepare(self, framing: ThreadPoolExecutor, entry: _Input, *, alone: bool) -> _Prepared:
        """Start framing the file. A reader that frames beside DuckDB's read of the file
        itself does so in the thread; a file read `alone` (not in a batch) whose size no
        ingested file has is hashed in that thread too (it cannot be a copy of a stored file);
        otherwise the SHA-256 comes first, as it decides whether to read at all."""
        path, layout = entry.item.physical, entry.sniffed.layout
        reader = layout.reader
        if not reader.threaded:
            framed = reader.frame(path, self._work, layout)
            return _Prepared(entry, _done(framed), framed.read_path or path)
        read_path = readable(path, self._work)
        if alone and not self.store.ingested_size(path.stat().st_size):
            return _Prepared(
                entry,
                _Frames(None, framing.submit(reader.frame, path, self._work, layout)),
                read_path,
            )
        sha256 = file_sha256(path)
        pending = framing.submit(reader.frame, path, self._work, layout, sha256=sha256)
        return _Prepared(entry, _Frames(sha256, pending), read_path)

    def _load(self, prepared: dict[int, _Prepared]) -> dict[int, FileResult]:
        """Stage the batch's files whose content is new for every format of their route,
        check their pairing, store them, and quarantine what could not be stored."""
        results: dict[int, FileResult] = {}
        to_stage: list[int] = []
        seen: dict[str, str] = {}
        for n, one in prepared.items():
            if one.frames.known_sha256 is None:  # cannot be a copy (see _Frames)
                to_stage.append(n)
                continue
            earlier = self.store.already_ingested(one.frames.sha256) or seen.get(one.frames.sha256)
            if earlier is None:
                seen[one.frames.sha256] = one.display
                to_stage.append(n)
                continue
            framed = one.frames.result()
            result = FileResult(
                Path(one.display),
                one.entry.sniffed.format.name,
                "duplicate",
                len(framed),
                detail=f"same content already ingested from {earlier}",
            )
            results[n] = self._record(result, framed.sha256, framed.size)
        if to_stage:
            results |= self._stage(prepared, to_stage)
        return results

    def _stage(self, prepared: dict[int, _Prepared], to_stage: list[int]) -> dict[int, FileResult]:
        """Stage the files once per format of their route; a file any format cannot pair
        fails whole; the others are appended by every format."""
        first = prepared[to_stage[0]].entry.sniffed
        inputs = [StageInput(prepared[n].read_path, prepared[n].frames.result) for n in to_stage]
        with ExitStack() as stack:
            stagings = [
                stack.enter_context(
                    self.store.staging(
                        fmt, first.layout.reader, inputs, csv_skip=first.layout.preamble_lines
                    )
                )
                for fmt in first.formats
            ]
            places = set(range(1, len(to_stage) + 1))
            paired = places.intersection(*(staging.paired() for staging in stagings))
            appended = [
                staging.append(
                    {
                        p: self._provenance(
                            staging.format, staging.framed(p), prepared[to_stage[p - 1]]
                        )
                        for p in sorted(paired)
                    },
                    spans=index == 0,
                )
                for index, staging in enumerate(stagings)
            ]
            results: dict[int, FileResult] = {}
            for place, n in enumerate(to_stage, start=1):
                framed = stagings[0].framed(place)
                if place in paired:
                    staged = [files[place - 1] for files in appended]
                    results[n] = self._stored(prepared[n], framed, stagings, staged)
                else:
                    result = FileResult(
                        Path(prepared[n].display),
                        first.format.name,
                        "failed",
                        len(framed),
                        detail=NOT_PAIRED,
                    )
                    results[n] = self._record(result, framed.sha256, framed.size)
        return results

    def _provenance(self, fmt: Format, framed: Framed, one: _Prepared) -> Provenance:
        return Provenance(fmt.name, one.display, framed.sha256, self.summary.run_id)

    # -- results ------------------------------------------------------------------------------

    def _stored(
        self, one: _Prepared, framed: Framed, stagings: list[Staging], staged: list[StagedFile]
    ) -> FileResult:
        """The result of a file whose rows were stored; what could not be stored quarantined."""
        suspects = _route_suspects(stagings, staged)
        conflicts = [
            (c, s.format) for s, f in zip(stagings, staged, strict=True) for c in f.conflicts
        ]
        quarantined = self._quarantine(one, framed, [*suspects, *conflicts])
        warnings: Counter[str] = Counter()
        for files in staged:
            warnings.update(files.warnings)
        self.summary.warnings.update(warnings)
        skipped = len(frozenset.intersection(*(f.skipped for f in staged)))
        duplicates = sum(f.duplicates for f in staged)
        notes = [f"{duplicates} duplicate record(s) dropped"] if duplicates else []
        notes += [f"{len(conflicts)} record(s) whose id is stored with other content"] * bool(
            conflicts
        )
        notes += [f"{skipped} line(s) that are not records skipped"] if skipped else []
        notes += [f"{count} record(s) with warning {name}" for name, count in warnings.items()]
        notes += [framed.note] if framed.note else []
        storing = [s.format.name for s, f in zip(stagings, staged, strict=True) if f.rows]
        result = FileResult(
            Path(one.display),
            "+".join(storing) if len(storing) > 1 else (storing or [stagings[0].format.name])[0],
            "ingested",
            len(framed),
            sum(f.rows for f in staged),
            quarantined,
            "; ".join(notes),
            warnings,
            skipped,
        )
        return self._record(result, framed.sha256, framed.size)

    def _quarantine(
        self, one: _Prepared, framed: Framed, suspects: list[tuple[Suspect, Format]]
    ) -> int:
        """Quarantine records that could not be stored: where, why, and their first bytes."""
        reader = one.entry.sniffed.layout.reader
        rows: list[QuarantineRow] = []
        for suspect, fmt in sorted(suspects, key=lambda s: s[0].line):
            length = suspect.byte_length
            if suspect.framing_error:
                length = min(length, 2 * RAW_KEEP_BYTES)
            raw = read_full_span(framed.path, suspect.byte_offset, length)
            if suspect.conflict:
                reason, detail = "conflicting_duplicate", suspect.conflict
            else:
                reason, detail = reader.judge(raw, suspect.framing_error, fmt, framed.path)
            self.summary.reasons[reason] += 1
            rows.append(
                {
                    "ingest_run_id": self.summary.run_id,
                    "source_path": one.display,
                    "line": suspect.line,
                    "byte_offset": suspect.byte_offset,
                    "format": fmt.name,
                    "reason": reason,
                    "detail": detail,
                    "raw": raw[:RAW_KEEP_BYTES],
                }
            )
        self.store.insert_rows("quarantine", rows)
        return len(rows)

    def _failed(self, entry: _Input, error: Exception) -> FileResult:
        """A file the reader could not take at all: recorded as failed, the run goes on."""
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        log.warning("%s: %s", entry.item.display, first_line)
        result = FileResult(
            Path(entry.item.display), entry.sniffed.format.name, "failed", detail=first_line[:300]
        )
        return self._record(result, size=_size(entry.item.physical))

    def _record(
        self, result: FileResult, sha256: str | None = None, size: int | None = None
    ) -> FileResult:
        """Write the file's ingest_runs row; return the result."""
        status: FileStatus = result.status
        row: IngestRunRow = {
            "ingest_run_id": self.summary.run_id,
            "started_at": self.started,
            "source_path": str(result.path),
            "file_sha256": sha256,
            "file_size": size,
            "format": result.format,
            "records_read": result.records_read,
            "records_new": result.records_new,
            "records_quarantined": result.quarantined,
            "status": status,
            "detail": result.detail,
        }
        self.store.insert_rows("ingest_runs", [row])
        return result


def _route_suspects(
    stagings: list[Staging], staged: list[StagedFile]
) -> list[tuple[Suspect, Format]]:
    """The file's records to quarantine, each with the format that judged it. With one format,
    its suspects; with a group, a record no format stored that some format suspected (the
    others skipped it as not theirs), once."""
    if len(staged) == 1:
        return [(s, stagings[0].format) for s in staged[0].suspects]
    suspected = [{s.ordinal for s in files.suspects} for files in staged]
    found: dict[int, tuple[Suspect, Format]] = {}
    for staging, files in zip(stagings, staged, strict=True):
        for suspect in files.suspects:
            ordinal = suspect.ordinal
            if ordinal not in found and all(
                ordinal in mine or ordinal in other.skipped
                for mine, other in zip(suspected, staged, strict=True)
            ):
                found[ordinal] = (suspect, staging.format)
    return list(found.values())


def ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    on_file: Callable[[FileResult], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into `store`; never stops on a bad file or record.
    `on_start` is told of each input file before it is read, `on_file` of each result;
    `should_stop` is asked between batches (True: end after the batch being stored)."""
    return IngestRun(store, on_file=on_file, on_start=on_start, should_stop=should_stop).run(paths)
