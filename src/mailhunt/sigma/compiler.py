"""Loaded Sigma rules converted to checked SQL: each rule's status (``converted``,
``unsupported`` or ``error``) and reason, and for a converted one its predicate over its table.

A rule is converted with a copy of it (pySigma's pipeline changes the rule it is applied to)
by :class:`mailhunt.sigma.backend.DuckDBBackend` under its log source's pipeline. The query
selecting its records is then checked twice before anything runs it:

- parsed by sqlglot (dialect duckdb): exactly one SELECT, reading only ``events`` or
  ``signins``, else ``error`` (a bug of the backend, or a value that broke out of its quotes);
- run on an empty store in memory, locked like the real one (``sandbox.lock_down``): DuckDB's
  own refusal (a regular expression RE2 cannot take: lookarounds, backreferences) makes the
  rule ``unsupported`` with DuckDB's words.

``unsupported`` means the store or the backend cannot say what the rule asks (log source or
field not collected, a modifier or value not expressible); ``error`` means the rule itself is
broken (YAML, Sigma) or the conversion failed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaTransformationError,
)
from sigma.rule import SigmaRule
from sqlglot import exp

from mailhunt.model.sql import quote_identifier
from mailhunt.sigma.backend import DuckDBBackend
from mailhunt.sigma.loader import Loaded
from mailhunt.sigma.pipelines import LogSource, LogSourceNotCollected, log_source_for, pipeline_for
from mailhunt.sigma.sandbox import lock_down
from mailhunt.store.db import Store

if TYPE_CHECKING:
    from mailhunt.sigma.correlation import Plan

CONVERTED = "converted"
UNSUPPORTED = "unsupported"
ERROR = "error"
STATUSES = (CONVERTED, UNSUPPORTED, ERROR)
READABLE_TABLES = frozenset({"events", "signins"})


@dataclass(frozen=True)
class Compiled:
    """One rule's conversion: status, reason, and for a converted rule its SQL."""

    path: str
    line: int | None
    rule_id: str
    title: str
    status: str
    reason: str
    rule: SigmaRule | SigmaCorrelationRule | None = None
    table: str = ""
    predicate: str = ""  # over the table, the log source's scope included
    plan: Plan | None = None  # a correlation rule's (mailhunt.sigma.correlation)
    # False for a rule a correlation with ``generate: false`` references: no alerts of its own
    generate: bool = True
    # the two parts of ``predicate``: the log source's (fixed text) and the rule's own
    scope: str = ""
    condition: str = ""
    # what an alert takes from the rule, kept apart so a cached rule needs no SigmaRule
    level: str | None = None
    tags: tuple[str, ...] = ()  # namespace.name
    description: str | None = None

    @property
    def query(self) -> str:
        """The rule's matching records (every column of its table); for a correlation rule,
        its evidence records (see :class:`mailhunt.sigma.correlation.Plan`)."""
        if self.plan is not None:
            return self.plan.query
        return f"SELECT * FROM {quote_identifier(self.table)} WHERE {self.predicate}"


class SqlCheckError(ValueError):
    """Generated SQL that sqlglot refuses or finds doing more than reading the store."""


def check_sql(sql: str) -> None:
    """Exactly one SELECT, reading only the store's events or signins (its own CTEs aside);
    SqlCheckError otherwise."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as error:
        raise SqlCheckError(f"sqlglot cannot parse it: {str(error).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise SqlCheckError(f"not one SELECT ({len(statements)} statement(s))")
    ctes = {cte.alias_or_name.lower() for cte in statements[0].find_all(exp.CTE)}
    tables = {table.name.lower() for table in statements[0].find_all(exp.Table)} - ctes
    if not tables <= READABLE_TABLES:
        raise SqlCheckError(f"reads {sorted(tables - READABLE_TABLES)}")
    if any(statements[0].find_all(exp.Command)):
        raise SqlCheckError("holds a command")


@contextmanager
def checking_store() -> Iterator[Store]:
    """An empty store in memory, locked down: where converted SQL is tried before use."""
    store = Store.open(None)
    try:
        lock_down(store)
        yield store
    finally:
        store.close()


def compile_rules(loaded: Iterable[Loaded]) -> list[Compiled]:
    """Each loaded rule's conversion, in order; one rule's failure never stops the others.
    Correlation rules are converted last, over the rules they reference (of any file)."""
    from mailhunt.sigma.correlation import correlate  # (it imports this module)

    items = list(loaded)
    with checking_store() as store:
        return correlate(items, [compile_rule(item, store) for item in items], store)


def compile_rule(item: Loaded, store: Store) -> Compiled:
    """One rule: converted and checked on the empty locked ``store``, or why not."""
    if item.rule is None:
        return _status(item, UNSUPPORTED if item.unsupported else ERROR, item.error or "not loaded")
    if isinstance(item.rule, SigmaCorrelationRule):
        return _status(item, UNSUPPORTED, "a correlation rule converts with its rules")
    converted = _converted(item, item.rule)
    return _checked(converted, store) if converted.status == CONVERTED else converted


def _converted(item: Loaded, rule: SigmaRule) -> Compiled:
    """The rule converted (not yet checked), or why it cannot be."""
    try:
        source = log_source_for(rule.logsource)
        predicate = _convert(rule, source)
    except LogSourceNotCollected as error:
        return _status(item, UNSUPPORTED, str(error))
    except (SigmaFeatureNotSupportedByBackendError, SigmaTransformationError) as error:
        return _status(item, UNSUPPORTED, _first(error))
    except NotImplementedError as error:
        return _status(item, UNSUPPORTED, _first(error).split(" (while ", 1)[0])
    except SigmaError as error:
        return _status(item, ERROR, _first(error))
    return Compiled(
        item.path,
        item.line,
        item.rule_id,
        item.title,
        CONVERTED,
        "",
        rule,
        source.table,
        f"{source.scope} AND ({predicate})",
        scope=source.scope,
        condition=predicate,
        level=rule.level.name.lower() if rule.level is not None else None,
        tags=tuple(f"{tag.namespace}.{tag.name}" for tag in rule.tags),
        description=rule.description,
    )


def _convert(rule: SigmaRule, source: LogSource) -> str:
    """The rule's condition(s) as one predicate (several conditions OR-linked)."""
    backend = DuckDBBackend(pipeline_for(source))
    queries = backend.convert_rule(copy.deepcopy(rule))
    if not queries:
        raise SigmaFeatureNotSupportedByBackendError("the rule converts to no query")
    texts = [q for q in queries if isinstance(q, str)]
    if len(texts) != len(queries):
        raise SigmaFeatureNotSupportedByBackendError("deferred query parts")
    return texts[0] if len(texts) == 1 else " OR ".join(f"({q})" for q in texts)


def _checked(compiled: Compiled, store: Store) -> Compiled:
    """The compiled rule if its SQL passes sqlglot and runs on the empty store."""
    try:
        check_sql(compiled.query)
    except SqlCheckError as error:
        return _replace(compiled, ERROR, f"generated SQL refused: {error}")
    try:
        store.query(f"SELECT count(*) FROM ({compiled.query})")
    except duckdb.Error as error:
        return _replace(compiled, UNSUPPORTED, f"DuckDB refuses it: {_first(error)}")
    return compiled


def _status(item: Loaded, status: str, reason: str) -> Compiled:
    return Compiled(item.path, item.line, item.rule_id, item.title, status, reason)


def _replace(compiled: Compiled, status: str, reason: str) -> Compiled:
    return Compiled(compiled.path, compiled.line, compiled.rule_id, compiled.title, status, reason)


def _first(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return (text.splitlines() or [type(error).__name__])[0]
