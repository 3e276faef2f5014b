"""Generated SQL can neither read nor write a file nor change a setting: values stay literals
(sqlglot sees one SELECT), and the store they run on is locked down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from mailhunt.sigma.compiler import CONVERTED, SqlCheckError, check_sql
from mailhunt.sigma.sandbox import is_locked, lock_down
from mailhunt.store.db import Store
from tests.sigma.world import compile_text, fill, rule_text


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.duckdb") as store:
        fill(store)
        lock_down(store)
        yield store


def _settings(store: Store) -> list[tuple[object, ...]]:
    return store.query("SELECT name, value FROM duckdb_settings() ORDER BY name")


def _payloads(target: Path) -> list[dict[str, object]]:
    sql = f"'); COPY events TO '{target}'; --"
    return [
        {"sel": {"UserAgent|re": f"x'; COPY events TO '{target}'; --"}},
        {"sel": {"UserAgent|contains": sql}},
        {"sel": {"UserAgent": f"*{sql}?"}},
        {"sel": {"Operation": "x'; SET enable_external_access = true; --"}},
        {"sel": {"Parameters.Name'; ATTACH 'x.db' AS y; --": "z"}},
    ]


def test_injected_values_stay_literals(locked: Store, tmp_path: Path) -> None:
    target = tmp_path / "stolen.csv"
    before = _settings(locked)
    for detection in _payloads(target):
        compiled = compile_text(tmp_path, rule_text(detection))
        assert compiled.status == CONVERTED, compiled.reason
        check_sql(compiled.query)  # one SELECT over events
        assert locked.query(f"SELECT record_id FROM ({compiled.query})") == []
    assert not target.exists()
    assert _settings(locked) == before
    assert is_locked(locked)


def test_locked_store_refuses_files_and_settings(locked: Store, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(duckdb.PermissionException):
        locked.run(f"COPY events TO '{target}'")
    with pytest.raises(duckdb.PermissionException):
        locked.query("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        locked.run("SET enable_external_access = true")
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        locked.run("RESET lock_configuration")
    assert not target.exists()
    # reading and writing the store itself goes on (alerts are written after the rules)
    assert locked.count("events") == 5
    locked.run("DELETE FROM alerts")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; COPY events TO 'x.csv'",
        "COPY events TO 'x.csv'",
        "SELECT * FROM read_csv('x.csv')",
        "SELECT * FROM quarantine",
        "SELECT * FROM events WHERE (",
        "ATTACH 'x.db'",
    ],
)
def test_check_sql_refuses(sql: str) -> None:
    with pytest.raises(SqlCheckError):
        check_sql(sql)


def test_check_sql_takes_one_select_over_the_store() -> None:
    check_sql("WITH hits AS (SELECT * FROM events) SELECT count(*) FROM hits")
    check_sql("SELECT * FROM \"signins\" WHERE lower(\"user_agent\") = 'it''s'")
