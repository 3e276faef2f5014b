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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import TABLES, TABLES_BY_NAME, Table, ddl

log = logging.getLogger(__name__)

# read_json's own object limit; records over MAX_RECORD_BYTES are already flagged by framing.
# (A limit far above what is needed made DuckDB's scan 3x slower here.)
READ_OBJECT_LIMIT = 32 * 1024 * 1024

# Temp tables of a staged file: its rows (schema columns, `_ordinal`, `_skip`) and the ordinals
# of rows the format skips; `_frames` is the file's spans, registered from Arrow.
_STAGED = ("_new", "_skipped")

@dataclass(frozen=True)
class Provenance:
    """Where a file's rows come from, written into each of them."""

    source: str  # format name
    source_ref: str  # the file's path (":line" is appended per row)
    file_sha256: str
    run_id: str


@dataclass(frozen=True)
class Staged:
    """A file's rows staged for storing, and what will not be stored."""

    rows: int  # rows kept, to be appended
    duplicates: int  # rows dropped as already stored, or repeated in the file
    suspects: list[tuple[Any, ...]]  # frames with no row: (line, offset, length, framing error)
    warnings: dict[str, int]  # data-quality warning -> records of this file carrying it
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
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _file_dates(path: Path) -> dict[str, int]:
    """Year and month of the file's modification time (UTC), for year-less timestamps."""
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return {"ingest_year": modified.year, "ingest_month": modified.month}


def _positional(fmt: Format) -> bool:
    """Are the format's rows numbered by their position once staged (see Format)?"""
    return fmt.reader != "text" and fmt.one_row_per_record


def _reader_sql(fmt: Format) -> str:
    """The rows of the file as the format's reader gives them, with `_ordinal`: the frame's
    ordinal for a text reader (its lines come from the frames themselves), NULL where rows are
    numbered by position once staged, else row_number() in file order (one core)."""
    if fmt.reader == "text":
        return "SELECT ordinal AS _ordinal, text AS line FROM _frames"
    if fmt.reader == "csv" and not fmt.embedded_json:
        options = "".join(f", {name} = {value}" for name, value in fmt.csv_options.items())
        reader = (
            "read_csv($read_path, header = true, all_varchar = true, skip = $csv_skip, "
            f"max_line_size = {READ_OBJECT_LIMIT}{options})"
        )
    else:
        reader = (
            "read_json($read_path, format = 'newline_delimited', ignore_errors = true, "
            f"maximum_object_size = {READ_OBJECT_LIMIT}, "
            f"columns = {_columns_literal(fmt.columns)})"
        )
    if _positional(fmt):
        return f"SELECT NULL::BIGINT AS _ordinal, * FROM {reader}"
    return f"SELECT row_number() OVER () AS _ordinal, * FROM {reader}"


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
        self,
        frames: Callable[[], pa.Table],
        read_path: Path,
        fmt: Format,
        *,
        csv_skip: int = 0,
    ) -> Staged:
        """Read, map and check a framed file's records into the temp table `_new`.

        `frames` gives the file's spans; it is called once the rows are read (framing may still
        be running in a thread while DuckDB reads), or first for a text reader, whose rows are
        the frames. DuckDB reads `read_path` on every core, keeping the reader's order
        (preserve_insertion_order), so the n-th row of the fresh temp table is the file's n-th
        record: its ordinal pairs it with its frame. Then rows the format skips, rows without
        a required value, rows framing rejected and duplicates (of stored records, or within
        the file) are deleted; the frames that kept no row are the suspects the caller
        quarantines. Nothing is stored until `append_staged`.
        """
        table = TABLES_BY_NAME[fmt.table]
        mapped = ", ".join(
            f"{fmt.select[c]} AS {quote_identifier(c)}"
            for c in table.column_names if c in fmt.select
        )
        skip = f"coalesce(({fmt.skip}), false)" if fmt.skip else "false"
        relation = fmt.relation.replace("{source}", f"({_reader_sql(fmt)})")
        sql = (
            f"CREATE OR REPLACE TEMP TABLE _new AS "
            f"SELECT _ordinal, {mapped}, {skip} AS _skip FROM ({relation})"
        )
        params = {"read_path": str(read_path), "csv_skip": csv_skip, **_file_dates(read_path)}
        if fmt.reader == "text":
            spans = frames()
            self.connection.register("_frames", spans)
        self.connection.execute(sql, _used(sql, params))
        if _positional(fmt):
            # Row ids of a table created in an open transaction start at a large base.
            self.connection.execute(
                "UPDATE _new SET _ordinal = rowid - (SELECT min(rowid) FROM _new) + 1"
            )
        if fmt.reader != "text":
            spans = frames()
            self.connection.register("_frames", spans)
        if self._scalar("SELECT count(*) FROM _new WHERE _ordinal > ?", [spans.num_rows]):
            return Staged(0, 0, [], {}, misaligned=True)
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE _skipped AS SELECT DISTINCT _ordinal FROM _new "
            "WHERE _skip"
        )
        required = " AND ".join(_present(table, c) for c in fmt.required)
        self.connection.execute(
            f"DELETE FROM _new WHERE _skip OR NOT ({required}) OR _ordinal IN "
            f"(SELECT ordinal FROM _frames WHERE framing_error IS NOT NULL)"
        )
        suspects = self._suspects()
        duplicates = self._drop_duplicates(table.name)
        return Staged(
            self._scalar("SELECT count(*) FROM _new"), duplicates, suspects,
            self._staged_warnings() if "warnings" in fmt.select else {},
            self._scalar("SELECT count(*) FROM _skipped"),
        )

    def staged_sample(self, limit: int) -> list[Any]:
        """A spread of staged rows as (record_id, byte_offset, byte_length)."""
        return self.connection.execute(
            f"SELECT n.record_id, f.byte_offset, f.byte_length FROM _new n "
            f"JOIN _frames f ON f.ordinal = n._ordinal "
            f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (7)"
        ).fetchall()

    def append_staged(self, fmt: Format, provenance: Provenance) -> int:
        """Append the staged rows, with their provenance, to the format's table and the file's
        spans to record_spans (one append each); return the rows appended."""
        table = TABLES_BY_NAME[fmt.table]
        columns = [c for c in table.column_names if c in fmt.select]
        line, spans = "n._ordinal", ""
        if self._scalar("SELECT count(*) FROM _frames WHERE line <> ordinal"):
            line, spans = "f.line", " JOIN _frames f ON f.ordinal = n._ordinal"
        provenance_sql = {
            "source": "$source",
            "source_ref": f"$source_ref || ':' || {line}",
            "file_sha256": "$file_sha256",
            "record_ordinal": "n._ordinal",
            "ingest_run_id": "$run_id",
        }
        names = [*columns, *provenance_sql]
        values = [f"n.{quote_identifier(c)}" for c in columns] + list(provenance_sql.values())
        appended = self._scalar(
            f"INSERT INTO {quote_identifier(table.name)} ({', '.join(names)}) "
            f"SELECT {', '.join(values)} FROM _new n{spans}",
            asdict(provenance),
        )
        self.connection.execute(
            "INSERT INTO record_spans SELECT ?, ordinal, line, byte_offset, byte_length "
            "FROM _frames",
            [provenance.file_sha256],
        )
        return appended

    def drop_staged(self) -> None:
        """Free a staged file's temp tables and spans (after appending, or instead of it)."""
        for name in _STAGED:
            self.connection.execute(f"DROP TABLE IF EXISTS {name}")
        self.connection.unregister("_frames")

    def _suspects(self) -> list[tuple[Any, ...]]:
        """Frames that kept no staged row and were not skipped on purpose."""
        return self.connection.execute(
            "SELECT f.line, f.byte_offset, f.byte_length, f.framing_error FROM _frames f "
            "WHERE f.ordinal NOT IN (SELECT _ordinal FROM _new) "
            "AND (f.framing_error IS NOT NULL OR f.ordinal NOT IN (SELECT _ordinal FROM _skipped)) "
            "ORDER BY f.line"
        ).fetchall()

    def _drop_duplicates(self, table_name: str) -> int:
        """Delete staged rows whose record id is already stored, or repeats an earlier row of
        the file; return how many. The stored ids are probed against the file's (hashed), so
        a small file into a large store reads one column of it once."""
        dropped = 0
        if self._scalar("SELECT count(record_id) - count(DISTINCT record_id) FROM _new"):
            dropped += self._scalar(
                "DELETE FROM _new WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() "
                "OVER (PARTITION BY record_id ORDER BY _ordinal) AS repeat FROM _new) "
                "WHERE repeat > 1)"
            )
        dropped += self._scalar(
            f"DELETE FROM _new WHERE record_id IN (SELECT record_id FROM "
            f"{quote_identifier(table_name)} WHERE record_id IN (SELECT record_id FROM _new))"
        )
        return dropped

    def _staged_warnings(self) -> dict[str, int]:
        rows = self.connection.execute(
            "SELECT warning, count(*) FROM (SELECT unnest(warnings) AS warning FROM _new "
            "WHERE warnings IS NOT NULL) GROUP BY warning ORDER BY warning"
        ).fetchall()
        return {str(name): int(count) for name, count in rows}

    def export_json_column(
        self, csv_path: Path, column: str, target: Path, *, skip: int = 0
    ) -> None:
        """Copy one CSV column holding JSON records to a JSON Lines file, a line per CSV row
        (raw newlines, which JSON allows only as white space, become spaces)."""
        cell = f"coalesce({quote_identifier(column)}, 'null')"
        destination = str(target).replace("'", "''")  # a path mailhunt made in its work folder
        self.connection.execute(
            f"COPY (SELECT replace(replace({cell}, chr(13), ' '), chr(10), ' ') "
            f"FROM read_csv($path, header = true, all_varchar = true, skip = $skip, "
            f"max_line_size = {READ_OBJECT_LIMIT})) "
            f"TO '{destination}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
            f"DELIMITER '\x01')",
            {"path": str(csv_path), "skip": skip},
        )

    def already_ingested(self, sha256: str) -> str | None:
        """Path of an earlier input with the same content that was ingested, if any."""
        row = self.connection.execute(
            "SELECT source_path FROM ingest_runs WHERE file_sha256 = ? AND status = 'ingested' "
            "LIMIT 1",
            [sha256],
        ).fetchone()
        return str(row[0]) if row else None

    def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        row = self.connection.execute(
            sql, params if isinstance(params, dict) else list(params)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

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
