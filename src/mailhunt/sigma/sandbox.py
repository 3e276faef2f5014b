"""The locked connection generated rule SQL runs on.

``lock_down`` turns off DuckDB's file system, network and extension access
(``enable_external_access = false``) and then freezes every setting
(``lock_configuration = true``), in that order: after it, no statement on any connection of
that database can read or write a file, attach a database, install or load an extension or
change a setting, and neither step can be undone. Both settings are global: the whole
database (the store) stays locked until it is closed, so Sigma rules run last in a detection
run. ``allowed_directories`` is not needed: DuckDB keeps the database's own file, its WAL and
its temp directory (spilling) reachable, which was checked with DuckDB 2.0.1.

Reference: https://duckdb.org/docs/stable/operations_manual/securing_duckdb/overview
"""

from __future__ import annotations

from mailhunt.store.db import Store

LOCK_STATEMENTS = (
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def lock_down(store: Store) -> None:
    """Disable external access, then lock the configuration, of the store's database."""
    if is_locked(store):
        return
    for statement in LOCK_STATEMENTS:
        store.run(statement)


def is_locked(store: Store) -> bool:
    """Is the store's configuration locked with external access off?"""
    rows = store.query(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    )
    external, locked = rows[0]
    return not external and bool(locked)
