"""One ingest run: files -> sniffed layout and format -> framed spans -> staged rows -> store.

A run walks its inputs once. Each file is expanded (archives, UTF-16), sniffed, and either
recorded as skipped or queued; consecutive small files of one route (the same formats and
reader) whose rows are numbered by position form a batch (a folder of Management Activity API
content blobs). A batch is framed, staged and stored in one transaction: its rows, quarantined
records and ``ingest_runs`` rows land together or not at all; a batch DuckDB cannot take is
taken again file by file, so one bad file fails alone; a file DuckDB cannot read as it is (or
reads in a way that does not pair with its frames) is read again without its bad records where
its reader can set them aside (`Reader.recover`), so one bad record fails no file.

The work folder (archive members, work copies) is swept of what killed runs left
(`workdir.py`), and each batch's work copies are removed once it is stored: a folder of
archives never holds more than one archive expanded.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from mailhunt.errors import InputError, StoreError
from mailhunt.formats.base import Format
from mailhunt.formats.sniffing import Sniffed, sniff_file
from mailhunt.ingest.results import FileResult, FileStatus, IngestSummary
from mailhunt.ingest.workdir import work_folder
from mailhunt.readers.base import readable
from mailhunt.sources.archives import ArchiveError, InputFile, Limits, expand
from mailhunt.sources.framing import ArrayScanError, Framed, file_sha256
from mailhunt.sources.quarantine import RAW_KEEP_BYTES, SpanReader, kept_places
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


class _Unpaired(Exception):
    """A file its reader can recover did not pair: the transaction is rolled back, and the
    file read again (see IngestRun._recover)."""


# What a bad record makes DuckDB raise (a CSV row it cannot parse, a JSON line over its object
# limit, a cell a relation cannot convert) or a reader that did not pair: worth reading again
# without the bad records. Others (I/O, memory, the store) fail the file at once.
_RECOVERABLE = (_Unpaired, duckdb.InvalidInputException, duckdb.ConversionException)


def discover(paths: Iterable[Path], refused: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Every regular file under the given paths (folders recursively), in a stable order.

    In a folder, a file whose name is not UTF-8 (DuckDB and the store take text) and a link
    leading out of the folder (never followed unless named itself) are not returned: each goes
    to `refused` with why, its name shown escaped."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for found in sorted(p for p in path.rglob("*") if not _hidden(p, path)):
                why = _refusal(found, root)
                if why is not None:
                    if refused is not None:
                        refused.append((Path(shown_path(found)), why))
                elif found.is_file():
                    files.append(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no such file or folder: {shown_path(path)}")
    return files


def shown_path(path: Path) -> str:
    """The path as text, bytes that are not UTF-8 escaped (\\xff)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _refusal(path: Path, root: Path) -> str | None:
    """Why a file found in a folder is not read, or None."""
    if shown_path(path) != str(path):
        return "file name is not UTF-8: not read (rename it to ingest it)"
    if path.is_symlink() and path.is_file() and not path.resolve().is_relative_to(root):
        return "a link to a file outside the input folder: not followed (give it by name)"
    return None


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
    """An input file being framed, the path DuckDB reads, and whether this is its reading
    again without the records DuckDB could not take."""

    entry: _Input
    frames: _Frames
    read_path: Path
    recovered: bool = False

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
        limits: Limits | None = None,
        should_stop: Callable[[], bool] | None = None,
        in_transaction: Callable[[list[FileResult]], None] | None = None,
    ) -> None:
        self.store = store
        # told of the results of each transaction's files before it commits, so a caller's
        # own rows (a collector's checkpoint) land with the records or not at all
        self._in_transaction = in_transaction
        self.limits = limits or Limits()
        self.summary = IngestSummary(run_id=uuid.uuid4().hex)
        self.started = clock()
        self._on_file = on_file
        self._on_start = on_start
        self._should_stop = should_stop or (lambda: False)
        self._work = Path()
        self._runs: list[IngestRunRow] | None = None  # rows held back while a batch is stored

    def run(self, paths: Iterable[Path]) -> IngestSummary:
        """Ingest every file under `paths`; never stops on a bad file or record. Asked to stop
        (`should_stop`, checked after each input), it ends after the batch being stored; the
        files of the batch still gathering are not read."""
        refused: list[tuple[Path, str]] = []
        files = discover(paths, refused)
        batch: list[_Input] = []
        with work_folder() as work:
            self._work = work
            self._emit([self._record(FileResult(p, None, "skipped", detail=w)) for p, w in refused])
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
            inputs = expand(path, self._work, self.limits)
        except (ArchiveError, OSError) as error:
            yield self._record(FileResult(path, None, "failed", detail=str(error)))
            return
        for item in inputs:
            if item.stop is not None and item.stop.offset == 0:  # a member not readable at all
                result = FileResult(Path(item.display), None, "failed", detail=item.stop.detail)
                yield self._record(result, item=item)
                self._discard([item])
                continue
            try:
                sniffed, why = sniff_file(item.physical)
            except OSError as error:
                sniffed, why = None, f"cannot read: {error.strerror}"
            if sniffed is None:
                result = FileResult(Path(item.display), None, "skipped", detail=why)
                yield self._record(result, size=_size(item.physical), item=item)
                self._discard([item])
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
        try:
            with ThreadPoolExecutor(max_workers=1) as framing:
                for n, entry in enumerate(batch):
                    try:
                        prepared[n] = self._prepare(framing, entry, alone=len(batch) == 1)
                    except (duckdb.Error, OSError, ArrayScanError) as error:
                        results[n] = self._failed(entry, error)
                if prepared:
                    results |= self._store(prepared)
        finally:
            self._discard([*batch, *prepared.values()])
        return [results[n] for n in sorted(results)]

    def _store(self, prepared: dict[int, _Prepared]) -> dict[int, FileResult]:
        """Store prepared files in one transaction. When DuckDB cannot take them, the files of
        a batch are taken again one by one, and a file alone is read again without the
        records it could not take (`_recover`), or fails."""
        counted = self.summary.reasons.copy(), self.summary.warnings.copy()
        try:
            with self.store.transaction():
                self._runs = []  # the batch's ingest_runs rows: one insert, in the transaction
                try:
                    results = self._load(prepared)
                    self.store.insert_rows("ingest_runs", self._runs)
                    if self._in_transaction:
                        self._in_transaction(list(results.values()))
                finally:
                    self._runs = None
                return results
        except (duckdb.Error, OSError, StoreError, _Unpaired) as error:
            self.summary.reasons, self.summary.warnings = counted
            if len(prepared) > 1:
                return {n: self._batch([one.entry])[0] for n, one in prepared.items()}
            [(n, one)] = prepared.items()
            return {n: self._recover(one, error)}

    def _recover(self, one: _Prepared, error: Exception) -> FileResult:
        """A file DuckDB refused (or read in a way that did not pair), read again once: its
        reader frames it so that the records DuckDB cannot take are flagged (quarantined) and
        set aside; the file fails only when that is not possible."""
        layout = one.entry.sniffed.layout
        recovered = None
        if not one.recovered and layout.reader.recovers and isinstance(error, _RECOVERABLE):
            try:
                framed = one.frames.result()
                recovered = layout.reader.recover(framed, self._work, layout)
            except (OSError, ArrayScanError) as failure:
                log.warning("%s: cannot read again: %s", one.display, failure)
        if recovered is None:
            return (
                self._unpaired(one)
                if isinstance(error, _Unpaired)
                else self._failed(one.entry, error)
            )
        log.info("%s: read again without %d record(s)", one.display, len(recovered.errors))
        read_path = recovered.read_path or readable(recovered.path, self._work)
        again = _Prepared(one.entry, _done(recovered), read_path, recovered=True)
        try:
            return self._store({0: again})[0]
        finally:
            self._discard([again])

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
                    }
                )
                for staging in stagings
            ]
            results: dict[int, FileResult] = {}
            for place, n in enumerate(to_stage, start=1):
                framed = stagings[0].framed(place)
                if place in paired:
                    staged = [files[place - 1] for files in appended]
                    results[n] = self._stored(prepared[n], framed, stagings, staged)
                elif len(to_stage) == 1 and first.layout.reader.recovers:
                    if not prepared[n].recovered:
                        raise _Unpaired(NOT_PAIRED)
                    results[n] = self._unpaired(prepared[n])
                else:
                    results[n] = self._unpaired(prepared[n])
        return results

    def _unpaired(self, one: _Prepared) -> FileResult:
        """A file whose rows did not pair with its frames: failed, nothing stored."""
        framed = one.frames.result()
        name = one.entry.sniffed.format.name
        result = FileResult(Path(one.display), name, "failed", len(framed), detail=NOT_PAIRED)
        return self._record(result, framed.sha256, framed.size, item=one.entry.item)

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
        quarantined, capped = self._quarantine(one, framed, [*suspects, *conflicts])
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
        notes += [capped] if capped else []
        if one.recovered and framed.errors:
            notes.append(f"read again without the {len(framed.errors)} record(s) DuckDB refused")
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
        return self._record(result, framed.sha256, framed.size, item=one.entry.item)

    def _quarantine(
        self, one: _Prepared, framed: Framed, suspects: list[tuple[Suspect, Format]]
    ) -> tuple[int, str]:
        """Quarantine records that could not be stored: where, why, and their first bytes;
        (records quarantined, the file's note). Past the cap (`Limits.quarantine`) only a
        sample is judged and kept (`kept_places`); the others are counted by a reason known
        without reading them, and one row at line 0 says how many and why."""
        reader = one.entry.sniffed.layout.reader
        ordered = sorted(suspects, key=lambda s: s[0].line)
        kept = kept_places(len(ordered), self.limits.quarantine)
        columns: dict[str, list[Any]] = {name: [] for name in QuarantineRow.__annotations__}
        with SpanReader(framed.path) as spans:
            for place in kept:
                suspect, fmt = ordered[place]
                length = suspect.byte_length
                if suspect.framing_error:
                    length = min(length, 2 * RAW_KEEP_BYTES)
                raw = spans.read(suspect.byte_offset, length)
                if suspect.conflict:
                    reason, detail = "conflicting_duplicate", suspect.conflict
                else:
                    reason, detail = reader.judge(raw, suspect.framing_error, fmt, framed.path)
                self.summary.reasons[reason] += 1
                verdict = (reason, detail, raw[:RAW_KEEP_BYTES])
                _add(columns, one.display, suspect, fmt.name, verdict)
        note = ""
        if len(kept) < len(ordered):
            note = self._counted_only(one, ordered, set(kept), columns)
        columns["ingest_run_id"] = [self.summary.run_id] * len(columns["line"])
        self.store.insert_columns("quarantine", columns)
        return len(ordered), note

    def _counted_only(
        self,
        one: _Prepared,
        ordered: list[tuple[Suspect, Format]],
        kept: set[int],
        columns: dict[str, list[Any]],
    ) -> str:
        """Count the records past the cap by a reason known without reading them; add the
        row that says so (line 0: listed first among the file's); the file's note."""
        counted = Counter(map(_cheap_reason, ordered))
        counted.subtract(_cheap_reason(ordered[place]) for place in kept)
        counted = +counted
        first = next(s for p, (s, _) in enumerate(ordered) if p not in kept)
        self.summary.reasons.update(counted)
        reasons = ", ".join(f"{count} {reason}" for reason, count in counted.most_common())
        note = (
            f"{len(ordered)} record(s) quarantined, {len(kept)} kept: over the cap of "
            f"{self.limits.quarantine} per file, {sum(counted.values())} counted only "
            f"({reasons})"
        )
        cap = Suspect(0, 0, first.byte_offset, 0)
        _add(columns, one.display, cap, ordered[0][1].name, ("quarantine_cap", note, b""))
        return note

    def _failed(self, entry: _Input, error: Exception) -> FileResult:
        """A file the reader could not take at all: recorded as failed, the run goes on."""
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        log.warning("%s: %s", entry.item.display, first_line)
        result = FileResult(
            Path(entry.item.display), entry.sniffed.format.name, "failed", detail=first_line[:300]
        )
        return self._record(result, size=_size(entry.item.physical), item=entry.item)

    def _record(
        self,
        result: FileResult,
        sha256: str | None = None,
        size: int | None = None,
        *,
        item: InputFile | None = None,
    ) -> FileResult:
        """Write the file's ingest_runs row; return the result. For an archive member, its
        note, and where it stopped being readable: quarantined (reason and place), so the
        bytes that could not be read are counted as not stored."""
        if item is not None and (item.note or item.stop):
            result = self._member_notes(result, item)
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
        if self._runs is not None:
            self._runs.append(row)
        else:
            self.store.insert_rows("ingest_runs", [row])
        return result

    def _member_notes(self, result: FileResult, item: InputFile) -> FileResult:
        stop = item.stop
        notes = [result.detail, item.note]
        if stop is not None and stop.offset > 0:
            notes.append(f"{stop.reason}: {stop.detail}")
            self.summary.reasons[stop.reason] += 1
            row: QuarantineRow = {
                "ingest_run_id": self.summary.run_id,
                "source_path": item.display,
                "line": 0,
                "byte_offset": stop.offset,
                "format": result.format or "",
                "reason": stop.reason,
                "detail": stop.detail,
                "raw": b"",
            }
            self.store.insert_rows("quarantine", [row])
            result = replace(result, quarantined=result.quarantined + 1)
        return replace(result, detail="; ".join(n for n in notes if n))

    def _discard(self, done: Iterable[InputFile | _Input | _Prepared]) -> None:
        """Remove the work copies of files that are done with (archive members, re-encoded
        files, readers' work files, links): the work folder holds one batch at a time."""
        for one in done:
            if isinstance(one, _Prepared):
                path = one.read_path
            else:
                path = one.physical if isinstance(one, InputFile) else one.item.physical
            if path.is_relative_to(self._work) and path != self._work:
                path.unlink(missing_ok=True)


def _cheap_reason(suspect: tuple[Suspect, Format]) -> str:
    """Why a record was quarantined, as far as is known without reading it."""
    record = suspect[0]
    return "conflicting_duplicate" if record.conflict else record.framing_error or "not_judged"


def _add(
    columns: dict[str, list[Any]],
    source_path: str,
    suspect: Suspect,
    fmt: str,
    verdict: tuple[str, str, bytes],
) -> None:
    """One quarantine row appended to its columns (but the run id, the same for all):
    where, and the verdict (reason, detail, first bytes)."""
    reason, detail, raw = verdict
    for name, value in (
        ("source_path", source_path),
        ("line", suspect.line),
        ("byte_offset", suspect.byte_offset),
        ("format", fmt),
        ("reason", reason),
        ("detail", detail),
        ("raw", raw),
    ):
        columns[name].append(value)


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
    limits: Limits | None = None,
    should_stop: Callable[[], bool] | None = None,
    in_transaction: Callable[[list[FileResult]], None] | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into `store`; never stops on a bad file or record.
    `on_start` is told of each input file before it is read, `on_file` of each result;
    `limits` bound how far archives may expand (sources/archives.py); `should_stop` is asked
    between batches (True: end after the batch being stored); `in_transaction` is called with
    the results of each transaction's files (stored, duplicate or failed) before it commits:
    what it writes commits with them, and if it raises nothing of them is stored."""
    return IngestRun(
        store,
        on_file=on_file,
        on_start=on_start,
        limits=limits,
        should_stop=should_stop,
        in_transaction=in_transaction,
    ).run(paths)
