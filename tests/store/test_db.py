"""The DuckDB store: opening, the schema's tables, bound inserts, and failures as StoreError."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailhunt.errors import StoreError
from mailhunt.ingest import ingest
from mailhunt.model.schema import TABLES, TABLES_BY_NAME
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
        assert store.count("mail_items") == 4


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
