"""The DuckDB store: the one place that opens connections and runs the schema's SQL.

Records are loaded through :class:`mailhunt.store.staging.Staging` (``store.staging(...)``):
read, mapped and checked in temp tables of their own, then appended once. Everything else
(detection, alerts, evidence, quarantine) reads and writes through the methods here, with
bound values; nobody outside ``store/`` holds the connection.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import TABLES, TABLES_BY_NAME, ddl
from mailhunt.model.sql import quote_identifier
from mailhunt.readers.base import Reader
from mailhunt.store.staging import Provenance, StageInput, Staging

log = logging.getLogger(__name__)

__all__ = ["Provenance", "StageInput", "Store", "quote_identifier", "utc_now"]


# Every connection: no extension is installed or loaded behind the user's back (a SQLite file
# or an `md:` address would otherwise fetch one from the network).
_ConfigValue = str | bool | int | float | list[str]
_CONNECTION_CONFIG: dict[str, _ConfigValue] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
SQLITE_MAGIC = b"SQLite format 3\x00"
# The table that tells a mailhunt store from another DuckDB database (a store written by an
# older mailhunt, lacking a newer table, holds it too and gets the new tables on open).
STORE_MARKER = "ingest_runs"


def _objects(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """The names of the database's tables and views (of every schema)."""
    rows = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
    ).fetchall()
    return {row[0] for row in rows}


def _check_is_store(
    connection: duckdb.DuckDBPyConnection, path: Path | None, *, missing_tables_ok: bool = False
) -> None:
    """Refuse a DuckDB file that is not a mailhunt store (rather than reading it)."""
    found = _objects(connection)
    missing = sorted({t.name for t in TABLES if not t.view} - found)
    if not missing or (missing_tables_ok and STORE_MARKER in found):
        return
    if not found:
        raise StoreError(
            f"{path} is not a mailhunt database yet: it holds no table (an ingest stopped "
            "before creating them?); run 'mailhunt ingest' first"
        )
    if found <= {t.name for t in TABLES} and STORE_MARKER in found:
        raise StoreError(
            f"{path} is a mailhunt database without table {missing[0]} (written by an older "
            "mailhunt); run 'mailhunt ingest' to add it"
        )
    raise StoreError(f"{path} is not a mailhunt database (no table {missing[0]})")


def _create(connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """Create the schema's tables, in one transaction (all or none), in a new database or a
    mailhunt store; refuse a database holding anything else (mailhunt never writes into it)."""
    found = _objects(connection)
    ours = {t.name for t in TABLES}
    if found and STORE_MARKER not in found:
        raise StoreError(
            f"{path} is a DuckDB database but not a mailhunt store (no table {STORE_MARKER}); "
            "mailhunt does not write into it: give --db a new file"
        )
    if found - ours:
        raise StoreError(
            f"{path} is not a mailhunt store (it also holds {sorted(found - ours)[0]!r}); "
            "mailhunt does not write into it: give --db a new file"
        )
    connection.execute("BEGIN TRANSACTION")
    for table in TABLES:
        connection.execute(ddl(table))
    _add_new_columns(connection)
    connection.execute("COMMIT")


def _add_new_columns(connection: duckdb.DuckDBPyConnection) -> None:
    """A store written by an older mailhunt gains the columns added to its tables since (NULL
    in its rows); views are recreated after, so they see them."""
    rows = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall()
    present = {(str(table), str(column)) for table, column in rows}
    for table in TABLES:
        if table.view:
            continue
        for column in table.columns:
            if (table.name, column.name) not in present:
                connection.execute(
                    f"ALTER TABLE {quote_identifier(table.name)} "
                    f"ADD COLUMN {quote_identifier(column.name)} {column.type}"
                )
    for table in TABLES:
        if table.view:
            connection.execute(ddl(table))


def _check_utf8(path: Path) -> None:
    """DuckDB takes a path as UTF-8 text: a name in other bytes is refused, shown escaped."""
    shown = os.fsencode(path.absolute()).decode("utf-8", "backslashreplace")
    if shown != str(path.absolute()):
        raise StoreError(
            f"cannot open database {shown}: the path is not UTF-8 (DuckDB needs a UTF-8 path); "
            "give --db another name"
        )


def _check_separators(path: Path) -> None:
    """DuckDB reads a backslash as a folder separator on every system (and then resolves
    `..`): on POSIX, where it is a character of a name, the store would be another file."""
    if os.sep == "/" and "\\" in str(path):
        raise StoreError(
            f"cannot open database {path}: DuckDB reads '\\' in a path as a folder separator, "
            "so it would open another file; give --db a name without '\\'"
        )


def _check_file(path: Path, *, create: bool) -> None:
    """The path names a regular file that is not a SQLite database, or nothing yet (when the
    store may be created)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not create:
            raise StoreError(f"no database at {path} (run 'mailhunt ingest' first)") from None
        return
    except OSError as error:
        raise StoreError(f"cannot open database {path}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise StoreError(f"cannot open database {path}: not a regular file")
    try:
        with path.open("rb") as stream:
            magic = stream.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise StoreError(f"cannot open database {path}: {error.strerror}") from None
    if magic == SQLITE_MAGIC:
        raise StoreError(f"{path} is a SQLite database, not a mailhunt store")


FEW_ROWS = 16


class Store:
    """A mailhunt database: a DuckDB file holding the schema's tables."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    def open(
        cls,
        path: Path | None,
        *,
        create: bool = True,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> Store:
        """Open (and create, unless told not to) the store at `path`; None means in memory.

        `path` is a file: it is given to DuckDB as an absolute path, never read as an address
        (``md:``, ``:memory:``). A SQLite file or a DuckDB database that is not a mailhunt
        store is refused (StoreError). `threads` and `memory_limit` (DuckDB's syntax: ``4GB``,
        ``50%``) are DuckDB's settings for the connection."""
        if path is not None:
            _check_utf8(path)
            _check_separators(path)
            _check_file(path, create=create and not read_only)
        config: dict[str, _ConfigValue] = dict(_CONNECTION_CONFIG)
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        try:
            connection = duckdb.connect(
                str(path.absolute()) if path else ":memory:", read_only=read_only, config=config
            )
        except duckdb.Error as error:
            raise StoreError(f"cannot open database {path}: {_first_line(error)}") from None
        try:
            connection.execute("SET TimeZone = 'UTC'")
            # Loading numbers rows by the order DuckDB appends them (DuckDB's default, relied on).
            connection.execute("SET preserve_insertion_order = true")
            if create and not read_only:
                _create(connection, path)
            elif read_only:
                _check_is_store(connection, path)
            else:  # an older mailhunt's store gains the tables and columns added since
                _check_is_store(connection, path, missing_tables_ok=True)
                _create(connection, path)
        except BaseException as error:
            connection.close()
            if isinstance(error, duckdb.Error):
                raise StoreError(f"cannot open database {path}: {_first_line(error)}") from None
            raise
        return cls(connection, path)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- loading -------------------------------------------------------------------------------

    def staging(
        self, fmt: Format, reader: Reader, inputs: Sequence[StageInput], *, csv_skip: int = 0
    ) -> Staging:
        """Files' records staged for `fmt` (use as ``with store.staging(...) as staging``)."""
        return Staging(self._connection, fmt, reader, inputs, csv_skip=csv_skip)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        self._connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            # the error is what went wrong: a rollback DuckDB cannot do (the database was
            # invalidated, a full disk) must not replace it
            with suppress(duckdb.Error):
                self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def already_ingested(self, sha256: str) -> str | None:
        """Path of an earlier input with the same content that was ingested, if any."""
        # fetchall, not fetchone: a result left unfinished blocks `register` (insert_columns)
        rows = self._connection.execute(
            "SELECT source_path FROM ingest_runs WHERE file_sha256 = ? AND status = 'ingested' "
            "LIMIT 1",
            [sha256],
        ).fetchall()
        return str(rows[0][0]) if rows else None

    def ingested_size(self, size: int) -> bool:
        """Was a file of this size ingested before (so the same content may be stored)?"""
        return bool(
            self._scalar(
                "SELECT count(*) FROM ingest_runs WHERE file_size = ? AND status = 'ingested'",
                [size],
            )
        )

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        rows = self._connection.execute(sql, list(params)).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def insert_rows(self, table_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append plain rows (quarantine, ingest_runs), each a column -> value mapping, by
        column name: one Arrow table, one INSERT (not a statement per row); a few rows (an
        ingest_runs row per file) as one bound statement, which costs far less than
        registering a table (measured: 200 single rows, 2.0 s through Arrow)."""
        if not rows:
            return
        table = TABLES_BY_NAME[table_name]
        names = [c for c in table.column_names if c in rows[0]]
        if len(rows) > FEW_ROWS:
            self.insert_columns(table_name, {c: [row[c] for row in rows] for c in names})
            return
        quoted = ", ".join(quote_identifier(c) for c in names)
        marks = ", ".join("?" for _ in names)
        self._connection.executemany(
            f"INSERT INTO {quote_identifier(table.name)} ({quoted}) VALUES ({marks})",
            [[row[c] for c in names] for row in rows],
        )

    def insert_columns(self, table_name: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column (name -> values, all of one length): the columns
        are registered as an Arrow table and inserted by column name in one statement (DuckDB
        casts each to the table's type)."""
        table = TABLES_BY_NAME[table_name]
        names = [c for c in table.column_names if c in columns]
        if not names or not len(columns[names[0]]):
            return
        arrow = pa.table({c: pa.array(list(columns[c])) for c in names})
        view = f"_insert_{uuid.uuid4().hex[:12]}"
        quoted = ", ".join(quote_identifier(c) for c in names)
        self._connection.register(view, arrow)
        try:
            self._connection.execute(
                f"INSERT INTO {quote_identifier(table.name)} ({quoted}) "
                f"SELECT {quoted} FROM {quote_identifier(view)}"
            ).fetchall()  # run to its end: an unfinished result blocks the connection
        finally:
            self._connection.unregister(view)

    def columns_table(
        self, name: str, columns: Mapping[str, Sequence[Any]], types: Mapping[str, str]
    ) -> None:
        """A temp table ``name`` (created or replaced) holding these columns of these types
        (``VARCHAR`` or ``VARCHAR[]``), passed as Arrow: binding long or nested lists as
        parameters converts value by value, far slower."""
        arrow_types = {"VARCHAR": pa.string(), "VARCHAR[]": pa.list_(pa.string())}
        arrow = pa.table(
            {c: pa.array(list(values), type=arrow_types[types[c]]) for c, values in columns.items()}
        )
        view = f"_columns_{uuid.uuid4().hex[:12]}"
        self._connection.register(view, arrow)
        try:
            self.run(
                f"CREATE OR REPLACE TEMP TABLE {quote_identifier(name)} AS "
                f"SELECT * FROM {quote_identifier(view)}"
            )
        finally:
            self._connection.unregister(view)

    # -- reading -------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query with bound values."""
        return self._connection.execute(sql, list(params)).fetchall()

    def count(self, table_name: str) -> int:
        table = TABLES_BY_NAME[table_name]
        return self._scalar(f"SELECT count(*) FROM {quote_identifier(table.name)}")

    def run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> None:
        """Run a statement (an analytic's, the alert writer's) to its end, values bound."""
        self._connection.execute(sql, dict(params) if isinstance(params, Mapping) else list(params))
        self._connection.fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        """The integer a query returns (0 for none)."""
        return self._scalar(sql, params)

    @contextmanager
    def temp_table(
        self, name: str, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Iterator[str]:
        """A temp table holding a query's rows for the block; yields its quoted name."""
        quoted = quote_identifier(name)
        self.run(f"CREATE OR REPLACE TEMP TABLE {quoted} AS {sql}", params)
        try:
            yield quoted
        except BaseException:
            # In an aborted transaction the DROP fails too and would hide the error that
            # aborted it; the rollback drops the table then.
            with suppress(duckdb.Error):
                self.run(f"DROP TABLE IF EXISTS {quoted}")
            raise
        self.run(f"DROP TABLE IF EXISTS {quoted}")

    def set_threads(self, threads: int) -> None:
        """How many threads DuckDB uses."""
        self._connection.execute(f"SET threads = {int(threads)}")


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def utc_now() -> datetime:
    return datetime.now(UTC)
