"""The DuckDB store: opening, the schema's tables, bound inserts, and failures as StoreError."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from mailhunt.errors import StoreError
from mailhunt.ingest import ingest
from mailhunt.model.schema import TABLES, TABLES_BY_NAME, Table
from mailhunt.store import db
from mailhunt.store.db import Store, quote_identifier, utc_now
from mailhunt.store.rows import IngestRunRow, QuarantineRow
from tests.helpers import FIXTURES


def table_names(store: Store) -> set[str]:
    return {r[0] for r in store.query("SELECT table_name FROM information_schema.tables")}


def test_open_creates_every_table(store: Store) -> None:
    assert {t.name for t in TABLES} <= table_names(store)
    assert all(store.count(t.name) == 0 for t in TABLES)


def test_session_time_zone_is_utc(store: Store) -> None:
    assert store.query("SELECT current_setting('TimeZone')") == [("UTC",)]


def test_file_store_keeps_rows_across_opens(db_path: Path) -> None:
    with Store.open(db_path) as store:
        ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    with Store.open(db_path, create=False, read_only=True) as store:
        assert store.count("events") == 5
        assert store.count("mail_items") == 5  # 4 messages read and 1 folder synced whole


def test_missing_database_without_create_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database at"):
        Store.open(tmp_path / "missing.duckdb", create=False)
    assert not (tmp_path / "missing.duckdb").exists()


def test_corrupt_database_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.duckdb"
    path.write_bytes(b"\x00garbage, not a database\xff" * 300)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert message.startswith(f"cannot open database {path}")
    assert "\n" not in message


def test_insert_rows_binds_values(store: Store) -> None:
    hostile = "x'); DROP TABLE events; --"
    store.insert_rows(
        "quarantine",
        [
            {
                "ingest_run_id": "run",
                "source_path": hostile,
                "line": 3,
                "byte_offset": 10,
                "format": "m365-ual-json",
                "reason": "invalid_json",
                "detail": "detail",
                "raw": b"\x00\xff",
            },
        ],
    )
    rows = store.query("SELECT source_path, line, raw FROM quarantine")
    assert rows == [(hostile, 3, b"\x00\xff")]
    assert store.count("events") == 0
    store.insert_rows("quarantine", [])
    assert store.count("quarantine") == 1


def test_a_transaction_that_raises_is_rolled_back(store: Store) -> None:
    evidence = {"alert_id": "a", "record_id": "r"}

    def failing() -> None:
        with store.transaction():
            store.insert_rows("alert_evidence", [evidence])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert store.count("alert_evidence") == 0
    with store.transaction():
        store.insert_rows("alert_evidence", [evidence])
    assert store.count("alert_evidence") == 1


def test_rows_are_inserted_by_column_name(store: Store) -> None:
    store.insert_rows("alert_evidence", [{"record_id": "r", "alert_id": "a"}])
    assert store.query("SELECT alert_id, record_id FROM alert_evidence") == [("a", "r")]


def test_quote_identifier_doubles_quotes() -> None:
    assert quote_identifier("events") == '"events"'
    assert quote_identifier('we"ird') == '"we""ird"'


def test_utc_now_is_aware_utc() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_typed_rows_have_the_schema_columns() -> None:
    for row_type, table in ((QuarantineRow, "quarantine"), (IngestRunRow, "ingest_runs")):
        assert tuple(row_type.__annotations__) == TABLES_BY_NAME[table].column_names


# -- --db is a file path, and only a mailhunt store ------------------------------------------------


def sqlite_file(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as lite:
        lite.execute("CREATE TABLE notes (x)")
        lite.commit()
    return path


def foreign_duckdb(path: Path, table: str = "inventory") -> Path:
    with closing(duckdb.connect(str(path))) as other:
        other.execute(f"CREATE TABLE {table} (x INTEGER)")
    return path


def objects(path: Path) -> list[str]:
    with closing(duckdb.connect(str(path), read_only=True)) as other:
        return sorted(
            r[0] for r in other.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        )


@pytest.mark.parametrize("read_only", [False, True])
def test_sqlite_file_is_refused(tmp_path: Path, read_only: bool) -> None:
    path = sqlite_file(tmp_path / "app.db")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"app\.db is a SQLite database, not a mailhunt store"):
        Store.open(path, create=not read_only, read_only=read_only)
    assert path.read_bytes() == before


def test_other_duckdb_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = foreign_duckdb(tmp_path / "analytics.duckdb")
    with pytest.raises(StoreError, match="is a DuckDB database but not a mailhunt store"):
        Store.open(path)
    with pytest.raises(StoreError, match="is not a mailhunt database"):
        Store.open(path, create=False, read_only=True)
    assert objects(path) == ["inventory"]


def test_store_holding_another_table_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    foreign_duckdb(db_path, "inventory")
    with pytest.raises(StoreError, match="it also holds 'inventory'"):
        Store.open(db_path)


def test_empty_duckdb_database_becomes_a_store(db_path: Path) -> None:
    duckdb.connect(str(db_path)).close()
    with Store.open(db_path) as store:
        assert {t.name for t in TABLES} <= table_names(store)


@pytest.mark.parametrize("create", [True, False])
def test_store_missing_a_newer_table_gets_it(db_path: Path, *, create: bool) -> None:
    """A store of an older mailhunt: every command that writes (ingest, detect, suppress)
    adds the tables it lacks; read-only commands say to run ingest."""
    with Store.open(db_path) as store:
        store.run("DROP TABLE alert_evidence")
    with Store.open(db_path, create=create) as store:
        assert "alert_evidence" in table_names(store)


@pytest.mark.parametrize("create", [True, False])
def test_store_missing_a_newer_column_gets_it_and_keeps_its_rows(
    db_path: Path, *, create: bool
) -> None:
    with Store.open(db_path) as store:
        store.run("INSERT INTO events (record_id) VALUES ('old')")
        store.run("ALTER TABLE events DROP COLUMN parameters")
    with Store.open(db_path, create=create) as store:
        assert store.query("SELECT record_id, parameters FROM events") == [("old", None)]
        assert store.query("SELECT count(*) FROM mail_items") == [(0,)]


@pytest.mark.parametrize("name", ["md:x", ":memory:", "sqlite:notes.db"])
def test_path_is_a_file_never_an_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open(Path(name)) as store:
        ingest(store, [FIXTURES / "formats" / "ual_lines.jsonl"])
    with Store.open(tmp_path / name, create=False, read_only=True) as store:
        assert store.count("events") == 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    for create in (True, False):
        with pytest.raises(StoreError, match="not a regular file"):
            Store.open(fifo, create=create)


def test_connection_settings(db_path: Path) -> None:
    with Store.open(db_path, threads=1, memory_limit="512MB") as store:
        settings = store.query(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions'), current_setting('threads'), "
            "current_setting('memory_limit')"
        )
    assert settings == [(False, False, 1, "488.2 MiB")]
    with Store.open(None) as store:
        assert store.query("SELECT current_setting('autoload_known_extensions')") == [(False,)]


def test_database_without_tables_is_reported_as_not_yet_a_store(db_path: Path) -> None:
    duckdb.connect(str(db_path)).close()  # what a run killed before creating its tables leaves
    with pytest.raises(StoreError, match=r"holds no table .* run 'mailhunt ingest' first"):
        Store.open(db_path, create=False, read_only=True)


def test_store_missing_some_tables_is_reported_as_such(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.run("DROP TABLE alert_evidence")
    with pytest.raises(StoreError, match="a mailhunt database without table alert_evidence"):
        Store.open(db_path, create=False, read_only=True)


def test_tables_are_created_all_or_none(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = db.ddl

    def failing(table: Table) -> str:
        if table.name == TABLES[-1].name:
            raise duckdb.IOException("IO Error: killed")
        return real(table)

    monkeypatch.setattr(db, "ddl", failing)
    with pytest.raises(StoreError):
        Store.open(db_path)
    monkeypatch.undo()
    with pytest.raises(StoreError, match="holds no table"):
        Store.open(db_path, create=False, read_only=True)


def test_path_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    path = Path(str(tmp_path) + "/store\udcff.duckdb")
    with pytest.raises(StoreError, match=r"store\\xff\.duckdb: the path is not UTF-8"):
        Store.open(path)
    assert not path.exists()
