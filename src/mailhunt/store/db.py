"""The DuckDB store: the one place that opens connections and runs the schema's SQL.

Records are loaded file by file: DuckDB parses the file in parallel (``read_json`` with the
format's typed columns), the rows are paired positionally with framing's spans (line, offset,
length), mapped onto the schema by the format's SQL, deduplicated by record id against what is
already stored, and written in one transaction with the file's ``ingest_runs`` row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mailhunt.errors import StoreError
from mailhunt.formats.base import Format
from mailhunt.model.schema import MAIL_ITEMS, TABLES, TABLES_BY_NAME, ddl

log = logging.getLogger(__name__)

STAGE = "_stage"


@dataclass(frozen=True)
class LoadResult:
    """What loading one framed file did."""

    records_read: int
    records_new: int
    suspects: list[tuple[Any, ...]]  # rows needing a quarantine reason (see quarantine.py)


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB (the one helper that does)."""
    return '"' + name.replace('"', '""') + '"'


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
            if not read_only:
                for table in TABLES:
                    connection.execute(ddl(table))
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

    def stage(self, frames: pa.Table, read_path: Path, fmt: Format) -> int:
        """Parse `read_path` with `fmt` into the stage table, paired with `frames`.

        Returns the number of rows DuckDB produced; it must equal the number of frames, or the
        positional pairing would be wrong (the caller then refuses the file).
        """
        selects = [f"{expr} AS {quote_identifier(col)}" for col, expr in fmt.select.items()]
        if fmt.mail_items:
            selects.append(f"{fmt.mail_items} AS _items")
        reader = (
            "read_json(?, format = 'newline_delimited', ignore_errors = true, "
            f"maximum_object_size = 2147483647, columns = {_columns_literal(fmt.columns)})"
        )
        self.connection.register("_frames", frames)
        try:
            self.connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGE} AS "
                f"SELECT f.line, f.byte_offset, f.byte_length, f.framing_error, "
                f"{', '.join(selects)} FROM _frames f POSITIONAL JOIN {reader} r",
                [str(read_path)],
            )
        finally:
            self.connection.unregister("_frames")
        row = self.connection.execute(
            f"SELECT count(*), count(line) FROM {STAGE}"  # noqa: S608 - fixed names
        ).fetchone()
        assert row is not None  # noqa: S101 - count(*) always returns a row
        produced, framed = row
        return int(produced) if produced == framed else -1

    def suspects(self, fmt: Format) -> list[tuple[Any, ...]]:
        """Staged rows that cannot be stored: framing error, or a required column missing."""
        missing = " OR ".join(f"{quote_identifier(c)} IS NULL" for c in fmt.required)
        return self.connection.execute(
            f"SELECT line, byte_offset, byte_length, framing_error, "
            f"{', '.join(quote_identifier(c) for c in fmt.required)} FROM {STAGE} "
            f"WHERE framing_error IS NOT NULL OR {missing} ORDER BY line"
        ).fetchall()

    def commit_stage(
        self, fmt: Format, *, run_id: str, source_ref: str, sha256: str
    ) -> int:
        """Move the good staged rows into the schema tables; return how many were new."""
        table = TABLES_BY_NAME[fmt.table]
        missing = " OR ".join(f"{quote_identifier(c)} IS NULL" for c in fmt.required)
        provenance = {
            "source": "?",
            "source_ref": "? || ':' || line",
            "file_sha256": "?",
            "byte_offset": "byte_offset",
            "byte_length": "byte_length",
            "ingest_run_id": "?",
        }
        params = [fmt.name, source_ref, sha256, run_id]
        values = [
            provenance.get(col) or (quote_identifier(col) if col in fmt.select else "NULL")
            for col in table.column_names
        ]
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE _new AS SELECT * FROM {STAGE} s "
            f"WHERE framing_error IS NULL AND NOT ({missing}) "
            f"AND NOT EXISTS (SELECT 1 FROM {quote_identifier(table.name)} t "
            f"WHERE t.record_id = s.record_id) "
            f"QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY line) = 1"
        )
        self.connection.execute(
            f"INSERT INTO {quote_identifier(table.name)} "
            f"SELECT {', '.join(values)} FROM _new",
            params,
        )
        if fmt.mail_items:
            self._insert_mail_items()
        row = self.connection.execute("SELECT count(*) FROM _new").fetchone()
        self.connection.execute("DROP TABLE IF EXISTS _new")
        return int(row[0]) if row else 0

    def _insert_mail_items(self) -> None:
        names = MAIL_ITEMS.column_names
        item_fields = {"folder_path", "internet_message_id", "size_bytes"}
        values = [f"item.{c}" if c in item_fields else c for c in names]
        self.connection.execute(
            f"INSERT INTO mail_items ({', '.join(names)}) "
            f"SELECT {', '.join(values)} FROM (SELECT *, unnest(_items) AS item FROM _new "
            f"WHERE len(_items) > 0)"
        )

    def drop_stage(self) -> None:
        self.connection.execute(f"DROP TABLE IF EXISTS {STAGE}")

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
