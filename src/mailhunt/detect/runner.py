"""Run analytics over the store and turn their detections into alerts.

Each analytic runs and writes its alerts in a transaction of its own, those that read the
other analytics' alerts (``after_alerts``) after all the others. One that fails (its SQL,
or writing its alerts) is rolled back and reported in the summary; the others still run and
commit. A run asked to stop (``should_stop``, checked before each analytic) ends after the
analytic in progress has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import duckdb

from mailhunt.alerts.writer import Written, write_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import Analytic, ParameterValue
from mailhunt.errors import InputError
from mailhunt.model.sql import quote_identifier
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

DETECTIONS = "_detections"
# Errors that concern the run or the database, not one analytic: they end the run.
_NOT_THE_ANALYTIC = (duckdb.InterruptException, duckdb.FatalException)


@dataclass
class DetectSummary:
    """Per analytic: detections found, alerts new to the store (suppressed ones aside),
    detections a suppression holds; the analytics that failed (id -> the first line of the
    error; their alerts are as before the run) and those not run because the run was
    stopped."""

    detections: dict[str, int] = field(default_factory=dict)
    new_alerts: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)

    @property
    def total_new(self) -> int:
        return sum(self.new_alerts.values())


def parameters_for(
    analytic: Analytic,
    overrides: Mapping[str, object],
    configured: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, object]:
    """The analytic's declared parameters, by precedence: its defaults, then what the
    configuration file sets for it (``configured[analytic id]``), then the overrides (the
    command line's, which set a name for every analytic declaring it)."""
    mine = (configured or {}).get(analytic.id, {})
    return {p.name: overrides.get(p.name, mine.get(p.name, p.default)) for p in analytic.parameters}


def ordered(analytics: Iterable[Analytic]) -> list[Analytic]:
    """The order analytics run in: as given (the registry's is by module name), those that
    read the others' alerts (``after_alerts``) last."""
    return sorted(analytics, key=lambda analytic: analytic.after_alerts)


def run_detections(
    store: Store,
    analytics: Iterable[Analytic] | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    configured: Mapping[str, Mapping[str, object]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DetectSummary:
    """Run each analytic; alerts are upserted by deterministic id, so reruns add nothing. A bad
    parameter is an InputError before anything runs; a failing analytic is reported in the
    summary and never stops the others. `configured` holds per-analytic values from the
    configuration file (see :func:`parameters_for` for the precedence)."""
    summary = DetectSummary()
    chosen = ordered(ANALYTICS.values() if analytics is None else analytics)
    params = [_checked(a, parameters_for(a, overrides or {}, configured)) for a in chosen]
    shared = SharedTables(store)
    try:
        _run_all(
            store,
            chosen,
            params=params,
            shared=shared,
            summary=summary,
            should_stop=should_stop,
        )
    finally:
        shared.drop()
    return summary


def _run_all(
    store: Store,
    chosen: list[Analytic],
    *,
    params: list[dict[str, ParameterValue]],
    shared: SharedTables,
    summary: DetectSummary,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Run the analytics in order, each in its own transaction, recording into ``summary``."""
    for n, analytic in enumerate(chosen):
        if should_stop is not None and should_stop():
            summary.not_run = [a.id for a in chosen[n:]]
            break
        try:
            written = _run_one(store, analytic, params[n], shared)
        except _NOT_THE_ANALYTIC:
            raise
        except duckdb.Error as error:
            summary.failed[analytic.id] = _first_line(error)
            log.info("%s failed: %s", analytic.id, summary.failed[analytic.id])
            continue
        summary.detections[analytic.id] = written.detections
        summary.new_alerts[analytic.id] = written.new
        summary.suppressed[analytic.id] = written.suppressed
        log.info(
            "%s: %d detections, %d new alerts, %d suppressed",
            analytic.id,
            written.detections,
            written.new,
            written.suppressed,
        )


class SharedTables:
    """The shared relations (base.Shared) built so far in one run, and with which values."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._built: dict[str, tuple[ParameterValue, ...]] = {}
        self._tables: set[str] = set()

    def prepare(self, analytic: Analytic, params: Mapping[str, ParameterValue]) -> None:
        """Build the relations the analytic reads, unless built with its values already."""
        for shared in analytic.shared:
            values = tuple(params[name] for name in shared.parameters)
            if self._built.get(shared.id) == values:
                continue
            self._built.pop(shared.id, None)
            for table, sql, names in shared.statements():
                quoted = quote_identifier(table)
                self._tables.add(quoted)
                self._store.run(
                    f"CREATE OR REPLACE TEMP TABLE {quoted} AS {sql}",
                    {name: params[name] for name in names},
                )
            self._built[shared.id] = values

    def drop(self) -> None:
        """Drop every table built (a failed drop in a broken connection is no error)."""
        for quoted in self._tables:
            with suppress(duckdb.Error):
                self._store.run(f"DROP TABLE IF EXISTS {quoted}")
        self._tables.clear()
        self._built.clear()


@contextmanager
def detections(
    store: Store, analytic: Analytic, params: Mapping[str, ParameterValue] | None = None
) -> Iterator[str]:
    """The analytic's detection rows in a temp table for the block (its shared relations built
    first; its declared defaults where ``params`` is None); yields the table's quoted name."""
    values = dict(analytic.defaults if params is None else params)
    shared = SharedTables(store)
    try:
        shared.prepare(analytic, values)
        with store.temp_table("_detections_view", analytic.sql, values) as table:
            yield table
    finally:
        shared.drop()


def _run_one(
    store: Store, analytic: Analytic, params: dict[str, ParameterValue], shared: SharedTables
) -> Written:
    """One analytic in one transaction: what writing its detections did."""
    if analytic.after_alerts and not store.scalar("SELECT count(*) FROM (FROM alerts LIMIT 1)"):
        return Written(0, 0, 0)  # it reads the alerts, and there are none (nor its own)
    if analytic.requires and not store.scalar(
        f"SELECT count(*) FROM (SELECT 1 FROM events WHERE {analytic.requires} LIMIT 1)"
    ):
        return Written(0, 0, 0)  # none of the records its detections start from
    if analytic.setup is not None:
        analytic.setup(store)
    shared.prepare(analytic, params)
    with (
        store.transaction(),
        store.temp_table(DETECTIONS, analytic.sql, params) as detections,
    ):
        return write_alerts(store, analytic, detections)


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _checked(analytic: Analytic, params: Mapping[str, object]) -> dict[str, ParameterValue]:
    """The values checked against their declarations (and of the declared type)."""
    try:
        return {p.name: p.check(params[p.name]) for p in analytic.parameters}
    except ValueError as error:
        raise InputError(f"{analytic.id}: parameter {error}") from None
