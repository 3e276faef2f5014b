"""The DuckDB store: the one place that opens connections and runs the schema's SQL.

Records are loaded through :class:`mailhunt.store.staging.Staging` (``store.staging(...)``):
read, mapped and checked in temp tables of their own, then appended once. Everything else
(detection, alerts, evidence, quarantine) reads and writes through the methods here, with
bound values; nobody outside ``store/`` holds the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import TABLES, TABLES_BY_NAME, ddl
from mailhunt.model.sql import quote_identifier
from mailhunt.readers.base import Reader
from mailhunt.store.staging import Provenance, StageInput, Staging

log = logging.getLogger(__name__)

__all__ = ["Provenance", "StageInput", "Store", "quote_identifier", "utc_now"]


def _check_is_store(connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """Refuse a DuckDB file that is not a mailhunt store (rather than writing into it)."""
    tables = connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    names = {row[0] for row in tables}
    missing = {t.name for t in TABLES if not t.view} - names
    if missing:
        connection.close()
        raise StoreError(f"{path} is not a mailhunt database (no table {sorted(missing)[0]})")


class Store:
    """A mailhunt database: a DuckDB file holding the schema's tables."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self._connection = connection
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
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def already_ingested(self, sha256: str) -> str | None:
        """Path of an earlier input with the same content that was ingested, if any."""
        row = self._connection.execute(
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

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> int:
        rows = self._connection.execute(sql, list(params)).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def insert_rows(self, table_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append plain rows (quarantine, ingest_runs), each a column -> value mapping, by
        column name with bound values."""
        if not rows:
            return
        table = TABLES_BY_NAME[table_name]
        names = [c for c in table.column_names if c in rows[0]]
        marks = ", ".join("?" for _ in names)
        columns = ", ".join(quote_identifier(c) for c in names)
        self._connection.executemany(
            f"INSERT INTO {quote_identifier(table.name)} ({columns}) VALUES ({marks})",
            [[row[c] for c in names] for row in rows],
        )

    # -- reading -------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query with bound values."""
        return self._connection.execute(sql, list(params)).fetchall()

    def count(self, table_name: str) -> int:
        table = TABLES_BY_NAME[table_name]
        row = self._connection.execute(f"SELECT count(*) FROM {quote_identifier(table.name)}")
        result = row.fetchone()
        return int(result[0]) if result else 0

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


def utc_now() -> datetime:
    return datetime.now(UTC)
