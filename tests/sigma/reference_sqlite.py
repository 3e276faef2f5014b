"""The reference Sigma engine: pySigma's SQLite backend (``pysigma-backend-sqlite``, the
converter inside Zircolite) over a Zircolite-style sqlite3 database built from a mailhunt store.

Zircolite flattens each event into one row of a table whose columns are the event's field
names, every column ``TEXT COLLATE NOCASE``, and registers a ``regexp`` function (Python's
``re.search``; a NULL subject is no match) because SQLite has none. Here the events are the
store's rows: one table per log source of :data:`mailhunt.sigma.pipelines.LOG_SOURCES`
(``m365_audit``, ``azure_signinlogs``, ...), holding the rows of that log source's formats,
its columns the Sigma field names the pipeline declares (every spelling, so a rule finds its
field whatever name it uses), each filled through the same mapping the DuckDB backend reads
(:func:`field_value`): both engines see the same values. ``Parameters.<Name>`` /
``ModifiedProperties.<Name>`` columns are added for the names the rules ask for. The column
``mailhunt_record_id`` holds the record id (no Sigma field is named so).

Reused by ``bench/`` (load included, as Zircolite does): :meth:`ReferenceDB.build` loads,
:meth:`ReferenceDB.matches` converts one rule and runs it.

References: https://github.com/SigmaHQ/pySigma-backend-sqlite,
https://github.com/wagga40/Zircolite (zircolite/core.py: createDb, udf_regex)
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigma.backends.sqlite import sqliteBackend
from sigma.rule import SigmaRule
from sigma.types import SigmaFieldReference

from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.sigma.pipelines import (
    COLUMN,
    DERIVED,
    LOG_SOURCES,
    PARAM,
    LogSource,
    LogSourceNotCollected,
    log_source_for,
)
from mailhunt.store.db import Store

RECORD_ID = "mailhunt_record_id"
_PREFIXES = ("Parameters.", "ModifiedProperties.")


def table_name(source: LogSource) -> str:
    """The sqlite table of a log source (``m365_audit``)."""
    return re.sub(r"\W", "_", f"{source.product}_{source.service}")


def _signin_status(row: Mapping[str, Any]) -> str | None:
    code = row.get("error_code")
    if code is None:
        return None
    return "Success" if code == 0 else "Failure"


def _m365_outcome(row: Mapping[str, Any]) -> str | None:
    result = row.get("result")
    if result is None:
        return None
    if result.lower() in ("succeeded", "partiallysucceeded", "success", "true"):
        return "success"
    if result.lower() in ("failed", "failure", "false"):
        return "failure"
    return str(result)


def _resource_provider(row: Mapping[str, Any]) -> str | None:
    operation = row.get("operation")
    if operation is None or "/" not in operation:
        return None
    return str(operation).split("/", 1)[0]


def _gworkspace_service(row: Mapping[str, Any]) -> str | None:
    workload = row.get("workload")
    return None if workload is None else f"{workload}.googleapis.com"


# Python for each derived token of the pipelines (the backend has SQL for them).
_DERIVED_VALUES = {
    "@gworkspace_service": _gworkspace_service,
    "@signin_status": _signin_status,
    "@m365_outcome": _m365_outcome,
    "@resource_provider": _resource_provider,
}


def _parameter(parameters: Sequence[Mapping[str, Any]] | None, name: str) -> Any:
    """The value of the first entry named ``name`` (any case), as the backend reads it."""
    for entry in parameters or ():
        if (entry.get("name") or "").lower() == name.lower():
            return entry.get("value")
    return None


def field_getter(source: LogSource, sigma_field: str) -> Callable[[Mapping[str, Any]], Any]:
    """How to read a Sigma field of ``source`` from a store row (dict by column name): the
    pipeline's token for it, resolved once; None where the store does not keep the field."""
    token = source.token(sigma_field)
    if token in DERIVED:
        return _DERIVED_VALUES[token]
    if token.startswith(PARAM):
        name = token[len(PARAM) :]
        return lambda row: _parameter(row.get("parameters"), name)
    if token.startswith(COLUMN):
        column = token[len(COLUMN) :]
        return lambda row: row.get(column)
    return lambda row: None


def field_value(source: LogSource, sigma_field: str, row: Mapping[str, Any]) -> Any:
    """The value a Sigma field of ``source`` has in a store row."""
    return field_getter(source, sigma_field)(row)


def _sqlite_value(value: Any) -> Any:
    """What Zircolite stores for a flattened value (TEXT affinity does the rest); a boolean
    as the JSON source wrote it (``false``), not as sqlite's 0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def rule_fields(rule: SigmaRule) -> set[str]:
    """Every field name a rule's detection items name (fieldref targets included)."""
    names: set[str] = set()
    for detection in rule.detection.detections.values():
        for item in detection.detection_items:
            names.update(_item_fields(item))
    return names


def _item_fields(item: Any) -> Iterable[str]:
    if hasattr(item, "detection_items"):
        for inner in item.detection_items:
            yield from _item_fields(inner)
        return
    if item.field:
        yield item.field
    for value in item.value:
        if isinstance(value, SigmaFieldReference):
            yield value.field


@dataclass
class ReferenceDB:
    """A Zircolite-style sqlite3 database of a store's records and pySigma's SQLite backend."""

    connection: sqlite3.Connection
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> folded -> name

    @classmethod
    def build(cls, store: Store, rules: Iterable[SigmaRule] = ()) -> ReferenceDB:
        """Every log source's rows of ``store`` in its table; parameter columns for the
        ``Parameters.X`` / ``ModifiedProperties.X`` fields ``rules`` name."""
        wanted: dict[str, set[str]] = {}
        for rule in rules:
            try:
                source = log_source_for(rule.logsource)
            except LogSourceNotCollected:
                continue
            wanted.setdefault(table_name(source), set()).update(rule_fields(rule))
        db = cls(sqlite3.connect(":memory:"))
        db.connection.create_function("regexp", 2, _regexp, deterministic=True)
        for source in LOG_SOURCES:
            db._load(store, source, wanted.get(table_name(source), set()))
        return db

    def _load(self, store: Store, source: LogSource, extra: set[str]) -> None:
        names: dict[str, str] = {}
        for name in [*source.fields, *sorted(extra)]:
            names.setdefault(name.lower(), name)
        table = table_name(source)
        self.columns[table] = names
        declared = ", ".join(f"{_quote(n)} TEXT COLLATE NOCASE" for n in names.values())
        self.connection.execute(f"CREATE TABLE {table} ({_quote(RECORD_ID)} TEXT, {declared})")
        store_columns = TABLES_BY_NAME[source.table].column_names
        listed = ", ".join(f'"{c}"' for c in store_columns)
        rows = store.query(
            f'SELECT {listed} FROM "{source.table}" WHERE {source.scope} ORDER BY "record_id"'
        )
        getters = [field_getter(source, n) for n in names.values()]
        values = []
        for row in rows:
            record = dict(zip(store_columns, row, strict=True))
            values.append((record["record_id"], *(_sqlite_value(g(record)) for g in getters)))
        marks = ", ".join("?" * (len(names) + 1))
        self.connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)

    def convert(self, rule: SigmaRule) -> list[str]:
        """The rule's SQLite queries (pySigma's SQLite backend, no pipeline: the columns
        are the Sigma field names)."""
        table = table_name(log_source_for(rule.logsource))
        backend = sqliteBackend(table=table)
        self._ensure(table, rule)
        return [str(q) for q in backend.convert_rule(copy.deepcopy(rule))]

    def _ensure(self, table: str, rule: SigmaRule) -> None:
        """A NULL column for a field the table lacks (Zircolite's ensure_fields)."""
        known = self.columns[table]
        for name in sorted(rule_fields(rule)):
            if name.lower() not in known:
                self.connection.execute(
                    f"ALTER TABLE {table} ADD COLUMN {_quote(name)} TEXT COLLATE NOCASE"
                )
                known[name.lower()] = name

    def matches(self, rule: SigmaRule) -> set[str]:
        """The record ids the rule matches here."""
        found: set[str] = set()
        for query in self.convert(rule):
            cursor = self.connection.execute(query)
            at = [d[0] for d in cursor.description].index(RECORD_ID)
            found.update(row[at] for row in cursor)
        return found

    def close(self) -> None:
        self.connection.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _regexp(pattern: str, subject: Any) -> int:
    """Zircolite's ``regexp``: Python's ``re.search``; no subject, no match."""
    if subject is None:
        return 0
    return int(re.search(pattern, str(subject)) is not None)
