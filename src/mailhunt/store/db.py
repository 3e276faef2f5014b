"""The DuckDB store: the one place that opens connections and runs the schema's SQL.

Records are loaded file by file, in two steps. ``stage``: DuckDB parses the file on every core
(``read_json`` with the format's typed columns), maps it onto the schema with the format's SQL
into a temp table, numbers the rows by position, pairs them with framing's spans (line,
offset, length) and drops what is not to be stored (skipped, incomplete, rejected by framing,
duplicates). ``append_staged``: one append of what is left to the store's table. Every check
works on the file's own rows, so a small file costs little however large the store; the only
look at the stored rows is one probe of their record ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import TABLES, TABLES_BY_NAME, Table, ddl

log = logging.getLogger(__name__)

# read_json's own object limit; records over MAX_RECORD_BYTES are already flagged by framing.
# (A limit far above what is needed made DuckDB's scan 3x slower here.)
READ_OBJECT_LIMIT = 32 * 1024 * 1024

# Temp tables of staged files: their rows (schema columns, `_file`, `_ordinal`, `_skip`), the
# (file, ordinal) of rows the format skips, rows dropped as duplicates; `_frames` (the files'
# spans, with the file's place) is registered from Arrow.
_STAGED = ("_new", "_skipped", "_dropped")


@dataclass(frozen=True)
class Provenance:
    """Where a file's rows come from, written into each of them."""

    source: str  # format name
    source_ref: str  # the file's path (":line" is appended per row)
    file_sha256: str
    run_id: str


@dataclass(frozen=True)
class StageInput:
    """One file to stage: where DuckDB reads it, and its frames (a callable: framing may
    still be running in a thread while DuckDB reads)."""

    read_path: Path
    frames: Callable[[], pa.Table]


@dataclass
class Staged:
    """A file's rows staged for storing, and what will not be stored."""

    rows: int = 0  # rows kept, to be appended
    duplicates: int = 0  # rows dropped as already stored, or repeated in the file or batch
    suspects: list[tuple[Any, ...]] = field(default_factory=list)  # frames with no row:
    # (line, offset, length, framing error)
    warnings: dict[str, int] = field(default_factory=dict)  # warning -> records carrying it
    skipped: int = 0  # records the format marks as legitimately not records
    misaligned: bool = False  # the reader's rows did not pair with the framed records


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB (the one helper that does)."""
    return '"' + name.replace('"', '""') + '"'


def _check_is_store(connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """Refuse a DuckDB file that is not a mailhunt store (rather than writing into it)."""
    tables = connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    names = {row[0] for row in tables}
    missing = {t.name for t in TABLES if not t.view} - names
    if missing:
        connection.close()
        raise StoreError(f"{path} is not a mailhunt database (no table {sorted(missing)[0]})")


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


def _reader_sql(fmt: Format) -> str:
    """The rows of the files as the format's reader gives them, with `_ordinal`: the frame's
    ordinal for a text reader (its lines come from the frames themselves); where rows are
    numbered by position once staged, the file's place in $read_paths (relations carry
    `_ordinal` through, so it carries the file until then); else row_number() in file order
    (one core, one file)."""
    if fmt.reader == "text":
        return "SELECT ordinal AS _ordinal, text AS line FROM _frames"
    if fmt.reader == "csv":  # one file: $read_path
        options = "".join(f", {name} = {value}" for name, value in fmt.csv_options.items())
        reader = (
            "read_csv($read_path, header = true, all_varchar = true, skip = $csv_skip, "
            f"max_line_size = {READ_OBJECT_LIMIT}{options})"
        )
        file = "1::BIGINT" if fmt.numbered_by_position else "row_number() OVER ()"
        return f"SELECT {file} AS _ordinal, * FROM {reader}"
    reader = (
        "read_json($read_paths, format = 'newline_delimited', ignore_errors = true, "
        f"maximum_object_size = {READ_OBJECT_LIMIT}, "
        f"columns = {_columns_literal(fmt.columns)}, filename = '_path')"
    )
    file = (
        "list_position($read_paths, _path)::BIGINT"
        if fmt.numbered_by_position
        else "row_number() OVER ()"
    )
    return f"SELECT {file} AS _ordinal, * EXCLUDE (_path) FROM {reader}"


def _columns_literal(columns: dict[str, str] | Any) -> str:
    """DuckDB struct literal for read_json's columns (names and types come from format code)."""
    items = ", ".join(
        "'" + name.replace("'", "''") + "': '" + type_.replace("'", "''") + "'"
        for name, type_ in columns.items()
    )
    return "{" + items + "}"


class Store:
    """A mailhunt database: a DuckDB file holding the schema's tables."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None, *, create: bool = True, read_only: bool = False) -> Store:
        """Open (and create, unless told not to) the store at `path`; None means in memory."""
        if path is not None and not create and not path.exists():
            raise StoreError(f"no database at {path} (run 'mailhunt ingest' first)")
        try:
            connection = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
            connection.execute("SET TimeZone = 'UTC'")
            # Loading numbers rows by the order DuckDB appends them (DuckDB's default, relied on).
            connection.execute("SET preserve_insertion_order = true")
            if create and not read_only:
                for table in TABLES:
                    connection.execute(ddl(table))
            else:
                _check_is_store(connection, path)
        except duckdb.Error as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise StoreError(f"cannot open database {path}: {first_line}") from None
        return cls(connection, path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- loading -------------------------------------------------------------------------------

    def stage(
        self, inputs: Sequence[StageInput], fmt: Format, *, csv_skip: int = 0
    ) -> list[Staged]:
        """Read, map and check files' records into the temp table `_new`; one Staged per file.

        Several files are staged together only for formats whose rows are numbered by position
        (`Format.numbered_by_position`): DuckDB reads them on every core, keeping the readers'
        order (preserve_insertion_order), so the rows of the fresh temp table come file by
        file, record by record, and a row's ordinal is its place among its file's rows. Other
        formats stage one file at a time. `frames` are called once the rows are read (first for
        a text reader, whose rows are the frames). Then rows the format skips, rows without a
        required value and rows framing rejected are deleted; the frames that kept no row are
        the suspects the caller quarantines. Nothing is stored until `append_staged`, which
        also drops duplicates.
        """
        if len(inputs) > 1 and not fmt.numbered_by_position:
            raise ValueError(f"{fmt.name}: one file at a time")
        if fmt.reader == "text":
            self._register_frames(inputs)
        self._read(inputs, fmt, csv_skip)
        if fmt.reader != "text":
            self._register_frames(inputs)
        staged = [Staged() for _ in inputs]
        for (file,) in self.connection.execute(
            "SELECT DISTINCT n._file FROM _new n LEFT JOIN (SELECT file, count(*) AS frames "
            "FROM _frames GROUP BY file) k ON k.file = n._file "
            "WHERE n._ordinal > coalesce(k.frames, 0)"
        ).fetchall():
            staged[file - 1].misaligned = True
        self._drop_files([n + 1 for n, s in enumerate(staged) if s.misaligned])
        self._drop_not_records(fmt)
        self._count_by_file(
            staged, "skipped", "SELECT _file, count(*) FROM _skipped GROUP BY _file"
        )
        for file, *suspect in self._suspects():
            staged[file - 1].suspects.append(tuple(suspect))
        return staged

    def _read(self, inputs: Sequence[StageInput], fmt: Format, csv_skip: int) -> None:
        """Read and map the inputs into `_new` (schema columns, `_file`, `_ordinal`, `_skip`)."""
        table = TABLES_BY_NAME[fmt.table]
        mapped = ", ".join(
            f"{fmt.select[c]} AS {quote_identifier(c)}"
            for c in table.column_names
            if c in fmt.select
        )
        skip = f"coalesce(({fmt.skip}), false)" if fmt.skip else "false"
        file_and_ordinal = (
            "_ordinal AS _file, NULL::BIGINT AS _ordinal"
            if fmt.numbered_by_position
            else "1 AS _file, _ordinal"
        )
        relation = fmt.relation.replace("{source}", f"({_reader_sql(fmt)})")
        sql = (
            f"CREATE OR REPLACE TEMP TABLE _new AS "
            f"SELECT {file_and_ordinal}, {mapped}, {skip} AS _skip FROM ({relation})"
        )
        params = {
            "read_paths": [str(i.read_path) for i in inputs],
            "read_path": str(inputs[0].read_path),
            "csv_skip": csv_skip,
            **_file_dates(inputs[0].read_path),
        }
        self._run(sql, _used(sql, params))
        if fmt.numbered_by_position:
            # Row ids of a table created in an open transaction start at a large base.
            self._run(
                "UPDATE _new SET _ordinal = _new.rowid - f.first + 1 FROM (SELECT _file, "
                "min(rowid) AS first FROM _new GROUP BY _file) f WHERE f._file = _new._file"
            )
        if self._scalar("SELECT count(*) FROM _new WHERE _file IS NULL"):
            raise StoreError("DuckDB read a file it was not given (a path it expanded as a glob?)")

    def _drop_not_records(self, fmt: Format) -> None:
        """Note the rows the format skips (`_skipped`), then delete them, the rows without a
        required value and the rows framing rejected."""
        self._run(
            "CREATE OR REPLACE TEMP TABLE _skipped AS SELECT DISTINCT _file, _ordinal FROM _new "
            "WHERE _skip"
        )
        table = TABLES_BY_NAME[fmt.table]
        required = " AND ".join(_present(table, c) for c in fmt.required)
        self._run(
            f"DELETE FROM _new WHERE _skip OR NOT ({required}) OR EXISTS (SELECT 1 FROM _frames "
            f"f WHERE f.framing_error IS NOT NULL AND f.file = _new._file "
            f"AND f.ordinal = _new._ordinal)"
        )

    def _register_frames(self, inputs: Sequence[StageInput]) -> None:
        """The inputs' frames as one Arrow table `_frames`, with the file's place (1-based)."""
        tables = [i.frames() for i in inputs]
        tables = [
            t.append_column("file", pa.array(np.full(t.num_rows, n, dtype=np.int64)))
            for n, t in enumerate(tables, start=1)
        ]
        self.connection.register("_frames", pa.concat_tables(tables))

    def _count_by_file(self, staged: list[Staged], name: str, sql: str) -> None:
        for file, count in self.connection.execute(sql).fetchall():
            setattr(staged[file - 1], name, int(count))

    def _suspects(self) -> list[tuple[Any, ...]]:
        """Frames that kept no staged row and were not skipped on purpose:
        (file, line, offset, length, framing error)."""
        return self.connection.execute(
            "SELECT f.file, f.line, f.byte_offset, f.byte_length, f.framing_error FROM _frames f "
            "WHERE NOT EXISTS (SELECT 1 FROM _new n WHERE n._file = f.file "
            "AND n._ordinal = f.ordinal) AND (f.framing_error IS NOT NULL OR NOT EXISTS "
            "(SELECT 1 FROM _skipped k WHERE k._file = f.file AND k._ordinal = f.ordinal)) "
            "ORDER BY f.file, f.line"
        ).fetchall()

    def _drop_duplicates(self, table_name: str, staged: list[Staged]) -> None:
        """Delete staged rows whose record id is already stored, or repeats an earlier row of
        the batch (file by file, record by record). The stored ids are probed against the
        batch's (hashed), so a small batch into a large store reads one column of it once."""
        repeats = (
            "SELECT rowid, _file FROM (SELECT rowid, _file, row_number() OVER (PARTITION BY "
            "record_id ORDER BY _file, _ordinal) AS repeat FROM _new) WHERE repeat > 1"
            if self._scalar("SELECT count(record_id) - count(DISTINCT record_id) FROM _new")
            else "SELECT rowid, _file FROM _new WHERE false"
        )
        self._run(
            f"CREATE OR REPLACE TEMP TABLE _dropped AS {repeats} UNION ALL "
            f"SELECT rowid, _file FROM _new WHERE record_id IN (SELECT record_id FROM "
            f"{quote_identifier(table_name)} WHERE record_id IN (SELECT record_id FROM _new))"
        )
        self._count_by_file(
            staged, "duplicates", "SELECT _file, count(DISTINCT rowid) FROM _dropped GROUP BY _file"
        )
        self._run("DELETE FROM _new WHERE rowid IN (SELECT rowid FROM _dropped)")

    def _drop_files(self, files: Sequence[int]) -> None:
        if files:
            self._run("DELETE FROM _new WHERE list_contains(?, _file)", [list(files)])

    def staged_sample(self, picks: Mapping[int, Sequence[int]]) -> list[Any]:
        """(file, record_id, byte_offset, byte_length) of the staged rows at these ordinals
        (file: 1-based place in the staged inputs -> ordinals), those that kept a row."""
        wanted = pa.table(
            {
                "file": pa.array([f for f, ords in picks.items() for _ in ords], pa.int64()),
                "ordinal": pa.array([o for ords in picks.values() for o in ords], pa.int64()),
            }
        )
        self.connection.register("_picks", wanted)
        try:
            return self.connection.execute(
                "SELECT n._file, n.record_id, f.byte_offset, f.byte_length FROM _picks p "
                "JOIN _new n ON n._file = p.file AND n._ordinal = p.ordinal "
                "JOIN _frames f ON f.file = p.file AND f.ordinal = p.ordinal "
                "ORDER BY n._file, n._ordinal"
            ).fetchall()
        finally:
            self.connection.unregister("_picks")

    def append_staged(
        self, fmt: Format, provenances: dict[int, Provenance], staged: list[Staged]
    ) -> None:
        """Append the staged rows of these files (1-based place -> provenance) to the format's
        table, and their spans to record_spans: one append each. Files not named are dropped
        first (before duplicates are looked for: a dropped file's rows must not make another
        file's rows duplicates); each kept file's Staged gets its rows, duplicates and
        warnings."""
        table = TABLES_BY_NAME[fmt.table]
        kept = sorted(provenances)
        self._run("DELETE FROM _new WHERE NOT list_contains(?, _file)", [kept])
        self._drop_duplicates(table.name, staged)
        self._count_by_file(staged, "rows", "SELECT _file, count(*) FROM _new GROUP BY _file")
        if "warnings" in fmt.select:
            for file, warning, count in self.connection.execute(
                "SELECT _file, warning, count(*) FROM (SELECT _file, unnest(warnings) AS warning "
                "FROM _new WHERE warnings IS NOT NULL) GROUP BY ALL ORDER BY ALL"
            ).fetchall():
                staged[file - 1].warnings[str(warning)] = int(count)
        files = pa.table(
            {
                "file": pa.array(kept, pa.int64()),
                "source_ref": pa.array([provenances[f].source_ref for f in kept], pa.string()),
                "file_sha256": pa.array([provenances[f].file_sha256 for f in kept], pa.string()),
            }
        )
        self.connection.register("_files", files)
        try:
            self._append(table, fmt, provenances[kept[0]] if kept else None)
        finally:
            self.connection.unregister("_files")

    def _append(self, table: Table, fmt: Format, first: Provenance | None) -> None:
        if first is None:
            return
        columns = [c for c in table.column_names if c in fmt.select]
        line, spans = "n._ordinal", ""
        if self._scalar("SELECT count(*) FROM _frames WHERE line <> ordinal"):
            line, spans = "f.line", " JOIN _frames f ON f.file = n._file AND f.ordinal = n._ordinal"
        provenance_sql = {
            "source": "$source",
            "source_ref": f"b.source_ref || ':' || {line}",
            "file_sha256": "b.file_sha256",
            "record_ordinal": "n._ordinal",
            "ingest_run_id": "$run_id",
        }
        names = [*columns, *provenance_sql]
        values = [f"n.{quote_identifier(c)}" for c in columns] + list(provenance_sql.values())
        self._run(
            f"INSERT INTO {quote_identifier(table.name)} ({', '.join(names)}) "
            f"SELECT {', '.join(values)} FROM _new n JOIN _files b ON b.file = n._file{spans}",
            {"source": first.source, "run_id": first.run_id},
        )
        self._run(
            "INSERT INTO record_spans SELECT b.file_sha256, f.ordinal, f.line, f.byte_offset, "
            "f.byte_length FROM _frames f JOIN _files b ON b.file = f.file"
        )

    def drop_staged(self) -> None:
        """Free staged files' temp tables and spans (after appending, or instead of it)."""
        for name in _STAGED:
            self._run(f"DROP TABLE IF EXISTS {name}")
        self.connection.unregister("_frames")

    def already_ingested(self, sha256: str) -> str | None:
        """Path of an earlier input with the same content that was ingested, if any."""
        row = self.connection.execute(
            "SELECT source_path FROM ingest_runs WHERE file_sha256 = ? AND status = 'ingested' "
            "LIMIT 1",
            [sha256],
        ).fetchone()
        return str(row[0]) if row else None

    def ingested_size(self, size: int) -> bool:
        """Was a file of this size ingested before (so the same content may be stored)?"""
        return bool(
            self._scalar(
                "SELECT count(*) FROM ingest_runs WHERE file_size = ? AND status = 'ingested'",
                [size],
            )
        )

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        """Run a statement to its end (DuckDB refuses new work while a result is unread)."""
        self.connection.execute(sql, params if isinstance(params, dict) else list(params))
        self.connection.fetchall()

    def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """The integer a statement returns (0 for none). The result is read to its end: DuckDB
        refuses other work on the connection (registering a table) while one is unread."""
        rows = self.connection.execute(
            sql, params if isinstance(params, dict) else list(params)
        ).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def insert_rows(self, table_name: str, rows: Sequence[Sequence[Any]]) -> None:
        """Append plain rows (quarantine, ingest_runs) with bound values."""
        if not rows:
            return
        table = TABLES_BY_NAME[table_name]
        marks = ", ".join("?" for _ in table.columns)
        self.connection.executemany(
            f"INSERT INTO {quote_identifier(table.name)} VALUES ({marks})", [list(r) for r in rows]
        )

    # -- reading -------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query with bound values."""
        return self.connection.execute(sql, list(params)).fetchall()

    def count(self, table_name: str) -> int:
        table = TABLES_BY_NAME[table_name]
        row = self.connection.execute(f"SELECT count(*) FROM {quote_identifier(table.name)}")
        result = row.fetchone()
        return int(result[0]) if result else 0

    def begin(self) -> None:
        self.connection.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        self.connection.execute("ROLLBACK")


def utc_now() -> datetime:
    return datetime.now(UTC)
