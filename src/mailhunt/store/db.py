"""The DuckDB store: the one place that opens connections and runs the schema's SQL.

Records are loaded file by file: DuckDB parses the file in parallel (``read_json`` with the
format's typed columns), the rows are paired positionally with framing's spans (line, offset,
length), mapped onto the schema by the format's SQL, deduplicated by record id against what is
already stored, and written in one transaction with the file's ``ingest_runs`` row.
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

# Provenance columns: named parameters bound from Provenance.
# Rows the format skips get a negative ordinal, to be counted and deleted after the INSERT.
_PROVENANCE_SQL = {
    "source": "$source",
    "source_ref": "$source_ref || ':' || r._ordinal",  # corrected below where line != ordinal
    "file_sha256": "$file_sha256",
    "record_ordinal": "CASE WHEN r._skip THEN -r._ordinal ELSE r._ordinal END",
    "ingest_run_id": "$run_id",
}
# Rows numbered by position (see Store._number_by_position): 0, or -1 when skipped, until then.
_POSITIONAL_SQL = {
    "source_ref": "$source_ref",
    "record_ordinal": "CASE WHEN r._skip THEN -1 ELSE 0 END",
}


@dataclass(frozen=True)
class Provenance:
    """Where a file's rows come from, written into each of them."""

    source: str  # format name
    source_ref: str  # the file's path (":line" is appended per row)
    file_sha256: str
    run_id: str


@dataclass(frozen=True)
class Loaded:
    """What loading one framed file did."""

    inserted: int  # rows written
    new: int  # rows kept: inserted minus duplicates
    duplicates: int  # rows deleted again as duplicates
    suspects: list[tuple[Any, ...]]  # frames with no row: (line, offset, length, framing error)
    warnings: dict[str, int]  # data-quality warning -> records of this file carrying it
    skipped: int = 0  # rows the format marks as legitimately not records
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
    """Are the format's rows numbered by their position once inserted (see Format)?"""
    return fmt.reader != "text" and fmt.one_row_per_record


def _reader_sql(fmt: Format) -> str:
    """The rows of the file as the format's reader gives them, with `_ordinal`: the frame's
    ordinal for a text reader (its lines come from the frames themselves), NULL where rows are
    numbered by position once inserted, else row_number() in file order (one core)."""
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

    def load(
        self,
        frames: Callable[[], pa.Table],
        read_path: Path,
        fmt: Format,
        provenance: Provenance,
        *,
        csv_skip: int = 0,
    ) -> Loaded:
        """Insert a framed file's good records; return what was stored and what was not.

        `frames` gives the file's spans; it is called once the rows are in (framing may still
        be running in a thread while DuckDB reads), or first for a text reader, whose rows are
        the frames. One INSERT: DuckDB parses `read_path` in parallel, maps every row with the
        format's SQL and writes it once. The rows are then numbered by their position (or carry
        the reader's numbers, see `_reader_sql`), which pairs them with the frames; rows the format
        skips or that lack a required value, and duplicates (of stored records, or within the
        file), are deleted again. The frames that kept no row are the suspects the caller
        quarantines.
        """
        table = TABLES_BY_NAME[fmt.table]
        positional = _positional(fmt)
        columns = [c for c in table.column_names if c in fmt.select or c in _PROVENANCE_SQL]
        mapped = ", ".join(
            f"{fmt.select[c]} AS {quote_identifier(c)}" for c in columns if c in fmt.select
        )
        mapped += f", coalesce(({fmt.skip}), false) AS _skip" if fmt.skip else ", false AS _skip"
        provenance_sql = _PROVENANCE_SQL | (_POSITIONAL_SQL if positional else {})
        values = ", ".join(provenance_sql.get(c, f"r.{quote_identifier(c)}") for c in columns)
        relation = fmt.relation.replace("{source}", f"({_reader_sql(fmt)})")
        sql = (
            f"INSERT INTO {quote_identifier(table.name)} ({', '.join(columns)}) "
            f"SELECT {values} FROM (SELECT _ordinal, {mapped} FROM ({relation})) r"
        )
        params = {"read_path": str(read_path), "csv_skip": csv_skip, **asdict(provenance),
                  **_file_dates(read_path)}
        spans = frames() if fmt.reader == "text" else None
        if spans is not None:
            self.connection.register("_frames", spans)
        try:
            inserted = self._scalar(sql, _used(sql, params))
            if positional:
                self._number_by_position(table.name, provenance)
            if spans is None:
                spans = frames()
                self.connection.register("_frames", spans)
            self._write_spans(provenance)
            if self._misaligned(table.name, provenance, spans.num_rows):
                return Loaded(inserted, 0, 0, [], {}, misaligned=True)
            skipped_count = self._note_skipped(table.name, provenance)
            inserted -= self._drop_not_records(table, fmt, provenance)
            inserted -= self._fix_up(table.name, provenance)
            suspects = self._suspects(table.name, provenance)
            self.connection.execute("DROP TABLE _skipped")
        finally:
            if spans is not None:
                self.connection.unregister("_frames")
        duplicates = self._delete_duplicates(table.name, provenance)
        return Loaded(
            inserted, inserted - duplicates, duplicates, suspects,
            self._warnings(table.name, provenance), skipped_count,
        )

    def _number_by_position(self, table_name: str, provenance: Provenance) -> None:
        """Give the rows one INSERT just appended their ordinals: their positions.

        DuckDB appends an INSERT's rows under consecutive row ids in the order the query gives
        them, and keeps the reader's order (preserve_insertion_order, set in `open`), so the
        n-th row appended is the n-th record of the file. Rows inserted with ordinal -1 (the
        format skips them) keep the sign, for `_note_skipped`.
        """
        table = quote_identifier(table_name)
        keys = [provenance.run_id, provenance.file_sha256]
        fresh = "ingest_run_id = ? AND file_sha256 = ? AND record_ordinal <= 0"
        row = self.connection.execute(
            f"SELECT min(rowid) FROM {table} WHERE {fresh}", keys
        ).fetchone()
        if not row or row[0] is None:
            return
        position = f"(rowid - {int(row[0])} + 1)"
        self.connection.execute(
            f"UPDATE {table} SET record_ordinal = "
            f"CASE WHEN record_ordinal < 0 THEN -{position} ELSE {position} END, "
            f"source_ref = source_ref || ':' || {position} WHERE {fresh}",
            keys,
        )

    def _write_spans(self, provenance: Provenance) -> None:
        self.connection.execute(
            "INSERT INTO record_spans SELECT ?, ordinal, line, byte_offset, byte_length "
            "FROM _frames",
            [provenance.file_sha256],
        )

    def _misaligned(self, table_name: str, provenance: Provenance, frames: int) -> bool:
        """More parsed rows than framed records: the reader saw the file differently."""
        return self._scalar(
            f"SELECT count(*) FROM {quote_identifier(table_name)} WHERE ingest_run_id = ? "
            f"AND file_sha256 = ? AND record_ordinal > ?",
            [provenance.run_id, provenance.file_sha256, frames],
        ) > 0

    def _fix_up(self, table_name: str, provenance: Provenance) -> int:
        """Drop rows framing rejected (too large, too deep); point source_ref at the real line
        where blank lines made it differ from the ordinal. Returns the rows dropped."""
        table = quote_identifier(table_name)
        keys = [provenance.run_id, provenance.file_sha256]
        dropped = self._scalar(
            f"DELETE FROM {table} WHERE ingest_run_id = ? AND file_sha256 = ? AND record_ordinal "
            f"IN (SELECT ordinal FROM _frames WHERE framing_error IS NOT NULL)",
            keys,
        )
        if self._scalar("SELECT count(*) FROM _frames WHERE line <> ordinal"):
            self.connection.execute(
                f"UPDATE {table} SET source_ref = ? || ':' || f.line FROM _frames f "
                f"WHERE ingest_run_id = ? AND file_sha256 = ? AND f.ordinal = record_ordinal "
                f"AND f.line <> f.ordinal",
                [provenance.source_ref, *keys],
            )
        return dropped

    def _suspects(self, table_name: str, provenance: Provenance) -> list[tuple[Any, ...]]:
        """Frames that produced no stored row and were not skipped on purpose."""
        return self.connection.execute(
            f"SELECT f.line, f.byte_offset, f.byte_length, f.framing_error FROM _frames f "
            f"WHERE NOT EXISTS (SELECT 1 FROM {quote_identifier(table_name)} e "
            f"WHERE e.ingest_run_id = ? AND e.file_sha256 = ? AND e.record_ordinal = f.ordinal) "
            f"AND (f.framing_error IS NOT NULL OR f.ordinal NOT IN "
            f"(SELECT _ordinal FROM _skipped)) ORDER BY f.line",
            [provenance.run_id, provenance.file_sha256],
        ).fetchall()

    def _warnings(self, table_name: str, provenance: Provenance) -> dict[str, int]:
        rows = self.connection.execute(
            f"SELECT warning, count(*) FROM (SELECT unnest(warnings) AS warning "
            f"FROM {quote_identifier(table_name)} WHERE ingest_run_id = ? AND file_sha256 = ? "
            f"AND warnings IS NOT NULL) GROUP BY warning ORDER BY warning",
            [provenance.run_id, provenance.file_sha256],
        ).fetchall()
        return {str(name): int(count) for name, count in rows}

    def _note_skipped(self, table_name: str, provenance: Provenance) -> int:
        """Note the ordinals of rows the format marks as not records (negative ordinals) in
        the temp table _skipped; return how many there are."""
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE _skipped AS SELECT DISTINCT -record_ordinal AS "
            f"_ordinal FROM {quote_identifier(table_name)} WHERE ingest_run_id = ? "
            f"AND file_sha256 = ? AND record_ordinal < 0",
            [provenance.run_id, provenance.file_sha256],
        )
        return self._scalar("SELECT count(*) FROM _skipped")

    def _drop_not_records(self, table: Table, fmt: Format, provenance: Provenance) -> int:
        """Delete this file's rows the format skips or that lack a required value (the latter
        are quarantined as suspects); return how many were deleted."""
        required = " AND ".join(_present(table, c) for c in fmt.required)
        return self._scalar(
            f"DELETE FROM {quote_identifier(table.name)} WHERE ingest_run_id = ? "
            f"AND file_sha256 = ? AND (record_ordinal < 0 OR NOT ({required}))",
            [provenance.run_id, provenance.file_sha256],
        )

    def _delete_duplicates(self, table_name: str, provenance: Provenance) -> int:
        """Delete this file's rows whose record id is already stored, or repeats in the file.
        A cheap count first: most files hold no duplicate, and the delete's window is dear.
        The stored rows are probed against this file's ids (hashed), not the other way round:
        a small file into a large store must not hash the whole store."""
        table = quote_identifier(table_name)
        keys = [provenance.run_id, provenance.file_sha256]
        this_file = "ingest_run_id = ? AND file_sha256 = ?"
        stored_again = (
            f"SELECT record_id FROM {table} WHERE (ingest_run_id <> ? OR file_sha256 <> ?) "
            f"AND record_id IN (SELECT record_id FROM {table} WHERE {this_file})"
        )
        if not self._scalar(
            f"SELECT (SELECT count(record_id) - count(DISTINCT record_id) FROM {table} "
            f"WHERE {this_file}) + (SELECT count(*) FROM ({stored_again}))",
            keys * 3,
        ):
            return 0
        return self._scalar(
            f"DELETE FROM {table} WHERE rowid IN ("
            f"SELECT rowid FROM (SELECT rowid, record_id, row_number() OVER "
            f"(PARTITION BY record_id ORDER BY record_ordinal) AS repeat FROM {table} "
            f"WHERE {this_file}) n WHERE repeat > 1 OR record_id IN ({stored_again}))",
            keys * 3,
        )

    def sample_spans(self, table_name: str, provenance: Provenance, limit: int) -> list[Any]:
        """A spread of (record_id, byte_offset, byte_length) of a file's stored rows."""
        table = quote_identifier(TABLES_BY_NAME[table_name].name)
        return self.connection.execute(
            f"SELECT e.record_id, s.byte_offset, s.byte_length FROM {table} e "
            f"JOIN record_spans s "
            f"ON s.file_sha256 = e.file_sha256 AND s.ordinal = e.record_ordinal "
            f"WHERE e.ingest_run_id = ? AND e.file_sha256 = ? "
            f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (7)",
            [provenance.run_id, provenance.file_sha256],
        ).fetchall()

    def discard(self, table_name: str, provenance: Provenance) -> None:
        """Remove every row a file's load stored (used when its pairing cannot be trusted)."""
        table = quote_identifier(TABLES_BY_NAME[table_name].name)
        self.connection.execute(
            f"DELETE FROM {table} WHERE ingest_run_id = ? AND file_sha256 = ?",
            [provenance.run_id, provenance.file_sha256],
        )
        self.connection.execute(
            "DELETE FROM record_spans WHERE file_sha256 = ?", [provenance.file_sha256]
        )

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
