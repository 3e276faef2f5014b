"""Staging: files' records read, mapped and checked in temp tables of their own, then appended
to the store once.

``with store.staging(fmt, inputs) as staging:`` reads the inputs (one file, or a batch of
small files of a format whose rows are numbered by position) with the reader's SQL and the
format's mapping into a temp table, numbers the rows, pairs them with framing's spans (line,
offset, length) and drops what is not to be stored (rows the format skips, rows without a
required value, rows framing rejected). Its ``files`` are immutable per-file results; the
pairing check (``paired``) samples rows against their bytes; ``append`` drops duplicates and
stores the rest with their provenance. The temp tables are dropped when the block ends.

Every check works on the staged rows, so a small file costs little however large the store;
the only look at the stored rows is one probe of their record ids.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import TABLES_BY_NAME, Table
from mailhunt.model.sql import quote_identifier
from mailhunt.readers.base import Reader
from mailhunt.sources.framing import Framed
from mailhunt.store import pairing

log = logging.getLogger(__name__)

PROVENANCE_COLUMNS = ("source", "source_ref", "file_sha256", "record_ordinal", "ingest_run_id")
# Columns that may differ between two copies of one record without their content differing
# (item_count is derived from message_items, which is compared).
_NOT_CONTENT = frozenset({"record_id", "warnings", "item_count", *PROVENANCE_COLUMNS})


@dataclass(frozen=True)
class StageInput:
    """One file to stage: where DuckDB reads it, and its frames (a callable: framing may
    still be running in a thread while DuckDB reads)."""

    read_path: Path
    frames: Callable[[], Framed]


@dataclass(frozen=True)
class Provenance:
    """Where a file's rows come from, written into each of them."""

    source: str  # format name
    source_ref: str  # the file's path (":line" is appended per row)
    file_sha256: str
    run_id: str


@dataclass(frozen=True, slots=True)
class Suspect:
    """A framed record that kept no row: where it is, and why framing flagged it if it did.
    `conflict` is set for a record whose id is stored with other content."""

    ordinal: int
    line: int
    byte_offset: int
    byte_length: int
    framing_error: str | None = None
    conflict: str | None = None


@dataclass(frozen=True)
class StagedFile:
    """What staging and appending did with one file's records."""

    rows: int = 0  # rows appended
    duplicates: int = 0  # rows dropped: the same record already stored or earlier in the batch
    suspects: tuple[Suspect, ...] = ()  # records to quarantine
    conflicts: tuple[Suspect, ...] = ()  # records whose id is stored with other content
    warnings: Mapping[str, int] = field(default_factory=dict)  # warning -> records with it
    skipped: frozenset[int] = frozenset()  # ordinals of records the format skips on purpose
    misaligned: bool = False  # the reader's rows did not pair with the framed records


def _present(table: Table, column: str) -> str:
    """SQL: the required column has a value (text must not be empty)."""
    name = quote_identifier(column)
    types = {c.name: c.type for c in table.columns}
    return f"coalesce({name}, '') <> ''" if types[column] == "VARCHAR" else f"{name} IS NOT NULL"


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named parameters a statement uses (DuckDB refuses unused ones)."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {name: value for name, value in params.items() if name in used}


def _file_dates(path: Path) -> dict[str, int]:
    """Year and month of the file's modification time (UTC), for year-less timestamps."""
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return {"ingest_year": modified.year, "ingest_month": modified.month}


class Staging:
    """The staged rows of some files for one format, in temp tables this object owns."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        fmt: Format,
        reader: Reader,
        inputs: Sequence[StageInput],
        *,
        csv_skip: int = 0,
    ) -> None:
        if len(inputs) > 1 and not reader.batchable(fmt):
            raise ValueError(f"{fmt.name}: one file at a time")
        self._connection = connection
        self.format = fmt
        self._reader = reader
        self._inputs = inputs
        self._csv_skip = csv_skip
        suffix = uuid.uuid4().hex[:12]
        self._new = quote_identifier(f"_new_{suffix}")
        self._skipped = quote_identifier(f"_skipped_{suffix}")
        self._dropped = quote_identifier(f"_dropped_{suffix}")
        self._hits = quote_identifier(f"_hits_{suffix}")
        self._frames_name = f"_frames_{suffix}"
        self._frames = quote_identifier(self._frames_name)
        self._framed: list[Framed] = []
        self.files: tuple[StagedFile, ...] = ()

    # -- the block ---------------------------------------------------------------------------

    def __enter__(self) -> Staging:
        try:
            self._stage()
        except BaseException:
            self._drop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._drop()

    def _drop(self) -> None:
        """Free the temp tables and the registered frames. After a failed statement the
        transaction is aborted and its rollback drops the tables: the first error stands."""
        try:
            for name in (self._new, self._skipped, self._dropped, self._hits):
                self._run(f"DROP TABLE IF EXISTS {name}")
            if self._framed:
                self._connection.unregister(self._frames_name)
        except duckdb.TransactionException:
            log.debug("temp tables of %s left to the rollback", self.format.name)

    # -- staging ------------------------------------------------------------------------------

    def _stage(self) -> None:
        """Read, map and check the inputs' records into the temp table.

        Where rows are numbered by position, DuckDB reads the files on every core keeping the
        readers' order (preserve_insertion_order), so the rows of the fresh temp table come file
        by file, record by record, and a row's ordinal is its place among its file's rows.
        Frames are fetched once the rows are read (first for a reader whose rows are the
        frames)."""
        numbers_rows = self._reader.numbers_rows(self.format)
        if numbers_rows:
            self._register_frames()
        self._read(numbers_rows)
        if not numbers_rows:
            self._register_frames()
        misaligned = {
            int(file)
            for (file,) in self._rows(
                f"SELECT DISTINCT n._file FROM {self._new} n LEFT JOIN (SELECT file, count(*) "
                f"AS frames FROM {self._frames} GROUP BY file) k ON k.file = n._file "
                "WHERE n._ordinal > coalesce(k.frames, 0)"
            )
        }
        if misaligned:
            self._run(
                f"DELETE FROM {self._new} WHERE list_contains(?, _file)", [sorted(misaligned)]
            )
        self._drop_not_records()
        skipped: dict[int, set[int]] = {}
        for file, ordinal in self._rows(f"SELECT _file, _ordinal FROM {self._skipped}"):
            skipped.setdefault(int(file), set()).add(int(ordinal))
        suspects: dict[int, list[Suspect]] = {}
        for file, *suspect in self._suspects():
            suspects.setdefault(int(file), []).append(Suspect(*suspect))
        self.files = tuple(
            StagedFile(
                suspects=tuple(suspects.get(place, ())),
                skipped=frozenset(skipped.get(place, ())),
                misaligned=place in misaligned,
            )
            for place in range(1, len(self._inputs) + 1)
        )

    def _read(self, numbers_rows: bool) -> None:
        """Read and map the inputs into the temp table: schema columns, `_file`, `_ordinal`
        and `_skip`."""
        fmt = self.format
        table = TABLES_BY_NAME[fmt.table]
        mapped = ", ".join(
            f"{fmt.select[c]} AS {quote_identifier(c)}"
            for c in table.column_names
            if c in fmt.select
        )
        skip = f"coalesce(({fmt.skip}), false)" if fmt.skip else "false"
        file_and_ordinal = (
            "1 AS _file, _ordinal"
            if numbers_rows
            else "_ordinal AS _file, NULL::BIGINT AS _ordinal"
        )
        rows = self._reader.rows_sql(fmt).replace("{frames}", self._frames)
        relation = fmt.relation.replace("{source}", f"({rows})")
        sql = (
            f"CREATE TEMP TABLE {self._new} AS SELECT {file_and_ordinal}, "
            f"{mapped}, {skip} AS _skip FROM ({relation})"
        )
        params = {
            "read_paths": [str(i.read_path) for i in self._inputs],
            "read_path": str(self._inputs[0].read_path),
            "csv_skip": self._csv_skip,
            **_file_dates(self._inputs[0].read_path),
        }
        self._run(sql, _used(sql, params))
        if not numbers_rows:
            # Row ids of a table created in an open transaction start at a large base.
            self._run(
                f"UPDATE {self._new} SET _ordinal = {self._new}.rowid - f.first + 1 FROM (SELECT "
                f"_file, min(rowid) AS first FROM {self._new} GROUP BY _file) f "
                f"WHERE f._file = {self._new}._file"
            )
        if self._scalar(f"SELECT count(*) FROM {self._new} WHERE _file IS NULL"):
            raise StoreError("DuckDB read a file it was not given (a path it expanded as a glob?)")

    def _drop_not_records(self) -> None:
        """Note the rows the format skips, then delete them, the rows without a required
        value and the rows framing rejected."""
        self._run(
            f"CREATE TEMP TABLE {self._skipped} AS SELECT DISTINCT _file, _ordinal "
            f"FROM {self._new} WHERE _skip"
        )
        table = TABLES_BY_NAME[self.format.table]
        required = " AND ".join(_present(table, c) for c in self.format.required)
        self._run(
            f"DELETE FROM {self._new} WHERE _skip OR NOT ({required}) OR EXISTS (SELECT 1 FROM "
            f"{self._frames} f WHERE f.framing_error IS NOT NULL AND f.file = {self._new}._file "
            f"AND f.ordinal = {self._new}._ordinal)"
        )

    def _register_frames(self) -> None:
        """The inputs' frames as one Arrow table, with the file's place (1-based)."""
        self._framed = [i.frames() for i in self._inputs]
        tables = [
            framed.table().append_column("file", pa.array(np.full(len(framed), n, dtype=np.int64)))
            for n, framed in enumerate(self._framed, start=1)
        ]
        self._connection.register(self._frames_name, pa.concat_tables(tables))

    def _suspects(self) -> list[tuple[Any, ...]]:
        """Frames that kept no staged row and were not skipped on purpose:
        (file, ordinal, line, offset, length, framing error)."""
        return self._rows(
            f"SELECT f.file, f.ordinal, f.line, f.byte_offset, f.byte_length, f.framing_error "
            f"FROM {self._frames} f WHERE NOT EXISTS (SELECT 1 FROM {self._new} n "
            f"WHERE n._file = f.file AND n._ordinal = f.ordinal) AND (f.framing_error IS NOT NULL "
            f"OR NOT EXISTS (SELECT 1 FROM {self._skipped} k WHERE k._file = f.file "
            "AND k._ordinal = f.ordinal)) ORDER BY f.file, f.line"
        )

    # -- the pairing check --------------------------------------------------------------------

    def paired(self) -> set[int]:
        """The staged files (1-based places) whose rows, checked on a few spread evenly over
        each file, hold their own record ids at their spans (see :mod:`.pairing`)."""
        picks = {
            place: pairing.sample_ordinals(len(framed))
            for place, framed in enumerate(self._framed, start=1)
            if len(framed)
        }
        paired = {place for place, staged in enumerate(self.files, 1) if not staged.misaligned}
        paths = {place: framed.path for place, framed in enumerate(self._framed, start=1)}
        return paired - pairing.unpaired(self._sample(picks), paths)

    def _sample(self, picks: Mapping[int, Sequence[int]]) -> list[tuple[Any, ...]]:
        """(file, record_id, byte_offset, byte_length) of the staged rows at these ordinals
        (file: 1-based place -> ordinals), those that kept a row."""
        wanted = pa.table(
            {
                "file": pa.array([f for f, ords in picks.items() for _ in ords], pa.int64()),
                "ordinal": pa.array([o for ords in picks.values() for o in ords], pa.int64()),
            }
        )
        name = f"_picks_{uuid.uuid4().hex[:12]}"
        self._connection.register(name, wanted)
        try:
            return self._rows(
                f"SELECT n._file, n.record_id, f.byte_offset, f.byte_length FROM "
                f"{quote_identifier(name)} p JOIN {self._new} n ON n._file = p.file AND "
                f"n._ordinal = p.ordinal JOIN {self._frames} f ON f.file = p.file AND "
                "f.ordinal = p.ordinal ORDER BY n._file, n._ordinal"
            )
        finally:
            self._connection.unregister(name)

    def framed(self, place: int) -> Framed:
        """The frames of the file at this place (1-based)."""
        return self._framed[place - 1]

    # -- appending ----------------------------------------------------------------------------

    def append(
        self, provenances: Mapping[int, Provenance], *, spans: bool = True
    ) -> tuple[StagedFile, ...]:
        """Append the staged rows of these files (1-based place -> provenance) to the format's
        table, and (unless `spans` is false) the spans of the rows appended to record_spans
        (each format of a file's group writes those of its own rows); return every file's
        result with its rows, duplicates, conflicts and warnings. Files not named are dropped
        first (before duplicates are looked for: a dropped file's rows must not make another
        file's rows duplicates)."""
        kept = sorted(provenances)
        self._run(f"DELETE FROM {self._new} WHERE NOT list_contains(?, _file)", [kept])
        table = TABLES_BY_NAME[self.format.table]
        files = [dict(vars(f)) for f in self.files]
        self._drop_duplicates(table, files, provenances)
        for file, count in self._rows(f"SELECT _file, count(*) FROM {self._new} GROUP BY _file"):
            files[file - 1]["rows"] = int(count)
        if "warnings" in self.format.select:
            for file, warning, count in self._rows(
                "SELECT _file, warning, count(*) FROM (SELECT _file, unnest(warnings) AS warning "
                f"FROM {self._new} WHERE warnings IS NOT NULL) GROUP BY ALL ORDER BY ALL"
            ):
                files[file - 1]["warnings"] = {**files[file - 1]["warnings"], warning: int(count)}
        if kept:
            self._insert(table, provenances, kept, spans=spans)
        self.files = tuple(replace(self.files[n], **changes) for n, changes in enumerate(files))
        return self.files

    def _content_columns(self, table: Table) -> list[str]:
        return [c for c in table.column_names if c in self.format.select and c not in _NOT_CONTENT]

    def _content_differs(self, table: Table, left: str, right: str) -> str:
        """SQL: the names of the content columns where two rows both hold a value and the
        values differ (an empty list when none does). A value one copy lacks (NULL, or an empty
        list: nested data an export dropped, as Defender's CloudAppEvents drops message ids)
        is not a difference."""
        types = {c.name: c.type for c in table.columns}
        tests = []
        for column in self._content_columns(table):
            quoted = quote_identifier(column)
            a, b = f"{left}.{quoted}", f"{right}.{quoted}"
            if types[column].endswith("[]"):
                a, b = (f"CASE WHEN len({x}) > 0 THEN {x} END" for x in (a, b))
            tests.append(
                (column, f"({a} IS NOT NULL AND {b} IS NOT NULL AND {a} IS DISTINCT FROM {b})")
            )
        if not tests:
            return "[]::VARCHAR[]"
        names = ", ".join(f"CASE WHEN {test} THEN '{column}' END" for column, test in tests)
        return (
            f"CASE WHEN coalesce({' OR '.join(test for _, test in tests)}, false) THEN "
            f"list_filter([{names}], lambda x: x IS NOT NULL) ELSE []::VARCHAR[] END"
        )

    def _drop_duplicates(
        self, table: Table, files: list[dict[str, Any]], provenances: Mapping[int, Provenance]
    ) -> None:
        """Delete staged rows whose record id is already stored, or repeats an earlier row of
        the batch (file by file, record by record). A copy with the same content is a
        duplicate; one whose content differs is a conflict, kept visible (quarantined by the
        caller, naming where the first copy is). The stored ids are probed against the
        batch's, so a small batch into a large store reads one column of it once; stored rows
        are read whole only where an id collides."""
        parts = []
        hits = self._hits
        content = ", ".join(quote_identifier(c) for c in self._content_columns(table)) or "1"
        self._run(
            f"CREATE TEMP TABLE {hits} AS SELECT record_id, rowid AS stored_row FROM "
            f"{quote_identifier(table.name)} WHERE record_id IN (SELECT record_id FROM {self._new})"
        )
        if self._scalar(f"SELECT count(*) FROM {hits}"):
            parts.append(
                f"SELECT n.rowid AS row, n._file, n._ordinal, "
                f"{self._content_differs(table, 'n', 's')} AS differs, s.source_ref AS earlier, "
                "NULL::BIGINT AS first_file, NULL::BIGINT AS first_ordinal "
                f"FROM {self._new} n JOIN {hits} h USING (record_id) JOIN (SELECT rowid AS "
                f"stored_row, source_ref, {content} FROM {quote_identifier(table.name)} WHERE "
                f"rowid IN (SELECT stored_row FROM {hits})) s USING (stored_row)"
            )
        if self._scalar(f"SELECT count(record_id) - count(DISTINCT record_id) FROM {self._new}"):
            numbered = (
                f"(SELECT rowid AS _rid, *, row_number() OVER (PARTITION BY record_id ORDER BY "
                f"_file, _ordinal) AS repeat FROM {self._new})"
            )
            parts.append(
                f"SELECT n._rid AS row, n._file, n._ordinal, "
                f"{self._content_differs(table, 'n', 'e')} AS differs, NULL AS earlier, "
                "e._file AS first_file, e._ordinal AS first_ordinal "
                f"FROM {numbered} n JOIN {numbered} e ON e.record_id = n.record_id AND "
                "e.repeat = 1 WHERE n.repeat > 1"
            )
        if not parts:
            return
        dropped = (
            parts[0]
            if len(parts) == 1
            # a row in both: one row, both reasons
            else (
                "SELECT row, _file, _ordinal, flatten(list(differs)) AS differs, first(earlier) AS "
                "earlier, first(first_file) AS first_file, first(first_ordinal) AS first_ordinal "
                f"FROM ({' UNION ALL '.join(parts)}) GROUP BY row, _file, _ordinal"
            )
        )
        self._run(f"CREATE TEMP TABLE {self._dropped} AS {dropped}")
        for file, count in self._rows(
            f"SELECT _file, count(*) FROM {self._dropped} WHERE len(differs) = 0 GROUP BY _file"
        ):
            files[file - 1]["duplicates"] = int(count)
        self._collect_conflicts(files, provenances)
        self._run(f"DELETE FROM {self._new} WHERE rowid IN (SELECT row FROM {self._dropped})")

    def _collect_conflicts(
        self, files: list[dict[str, Any]], provenances: Mapping[int, Provenance]
    ) -> None:
        """The conflicting copies, each with where its first copy is: a stored row's
        source_ref, or the file and line of an earlier record read with it."""
        conflicts: dict[int, list[Suspect]] = {}
        for (
            file,
            ordinal,
            line,
            offset,
            length,
            differs,
            stored,
            first_file,
            first_line,
        ) in self._rows(
            f"SELECT d._file, d._ordinal, f.line, f.byte_offset, f.byte_length, "
            f"list_distinct(d.differs), d.earlier, d.first_file, e.line FROM {self._dropped} d "
            f"JOIN {self._frames} f ON f.file = d._file AND f.ordinal = d._ordinal LEFT JOIN "
            f"{self._frames} e ON e.file = d.first_file AND e.ordinal = d.first_ordinal "
            "WHERE len(d.differs) > 0 ORDER BY d._file, f.line"
        ):
            earlier = stored or (
                f"line {first_line} of this file"
                if first_file == file
                else f"{provenances[first_file].source_ref}:{first_line}"
            )
            detail = f"same id as {earlier}, other {', '.join(sorted(differs))}"
            conflicts.setdefault(int(file), []).append(
                Suspect(int(ordinal), int(line), int(offset), int(length), None, detail)
            )
        for place, found in conflicts.items():
            files[place - 1]["conflicts"] = tuple(found)

    def _insert(
        self, table: Table, provenances: Mapping[int, Provenance], kept: list[int], *, spans: bool
    ) -> None:
        """Insert the rows (by column name) with their provenance, and the files' spans."""
        first = provenances[kept[0]]
        files = pa.table(
            {
                "file": pa.array(kept, pa.int64()),
                "source_ref": pa.array([provenances[f].source_ref for f in kept], pa.string()),
                "file_sha256": pa.array([provenances[f].file_sha256 for f in kept], pa.string()),
            }
        )
        files_name = f"_files_{uuid.uuid4().hex[:12]}"
        self._connection.register(files_name, files)
        try:
            self._insert_rows(table, quote_identifier(files_name), first)
            if spans:
                self._run(
                    "INSERT INTO record_spans (file_sha256, ordinal, line, byte_offset, "
                    f"byte_length) SELECT b.file_sha256, f.ordinal, f.line, f.byte_offset, "
                    f"f.byte_length FROM {self._frames} f JOIN {quote_identifier(files_name)} b "
                    f"ON b.file = f.file{self._kept_frames(kept)}"
                )
        finally:
            self._connection.unregister(files_name)

    def _kept_frames(self, kept: list[int]) -> str:
        """SQL: the condition keeping the spans of frames whose row is appended (a duplicate,
        a conflict, a skipped or quarantined record has no row to give evidence for; a
        conflict's bytes are in quarantine). Empty when every frame of the files kept its row
        (the common case: no per-row join)."""
        frames = self._scalar(
            f"SELECT count(*) FROM {self._frames} WHERE list_contains(?, file)", [kept]
        )
        if self.format.one_row_per_record and frames == self._scalar(
            f"SELECT count(*) FROM {self._new}"
        ):
            return ""
        return (
            f" WHERE EXISTS (SELECT 1 FROM {self._new} n WHERE n._file = f.file "
            "AND n._ordinal = f.ordinal)"
        )

    def _insert_rows(self, table: Table, files: str, first: Provenance) -> None:
        columns = [c for c in table.column_names if c in self.format.select]
        line, spans = "n._ordinal", ""
        if self._scalar(f"SELECT count(*) FROM {self._frames} WHERE line <> ordinal"):
            line = "f.line"
            spans = f" JOIN {self._frames} f ON f.file = n._file AND f.ordinal = n._ordinal"
        provenance_sql = {
            "source": "$source",
            "source_ref": f"b.source_ref || ':' || {line}",
            "file_sha256": "b.file_sha256",
            "record_ordinal": "n._ordinal",
            "ingest_run_id": "$run_id",
        }
        names = ", ".join(quote_identifier(c) for c in [*columns, *provenance_sql])
        values = [f"n.{quote_identifier(c)}" for c in columns] + list(provenance_sql.values())
        self._run(
            f"INSERT INTO {quote_identifier(table.name)} ({names}) SELECT {', '.join(values)} "
            f"FROM {self._new} n JOIN {files} b ON b.file = n._file{spans}",
            {"source": first.source, "run_id": first.run_id},
        )

    # -- statements ---------------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        """Run a statement to its end (DuckDB refuses new work while a result is unread)."""
        self._connection.execute(sql, params if isinstance(params, dict) else list(params))
        self._connection.fetchall()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, list(params)).fetchall()

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        rows = self._connection.execute(sql, list(params)).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0
