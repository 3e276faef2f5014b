"""Converted Sigma rules as analytics: the same metadata, detections with
``DETECTION_COLUMNS``, written by the same alert writer.

One detection per tenant and UTC day of the rule's matching records: entity
``[tenant, "sigma:<rule id>"]`` (JSON), the matching record ids as evidence, the rule's
``level`` as severity (medium when it has none) and its ``attack.tNNNN`` tags as ATT&CK
techniques. Alert ids are the writer's (rule, entity, day), so a rerun adds nothing. A
correlation rule's detections are :func:`mailhunt.sigma.correlation.detection_sql`'s (per group
too); a rule a correlation references with ``generate: false`` raises none of its own.
Every text of the rule in the query (id, title, severity) is a literal written by
:func:`mailhunt.sigma.sqltext.sql_string`, and the query is checked by sqlglot again.

**Shared scans.** :func:`run_sigma` does not run one query per rule: the rules of one table
are evaluated together by one query (:func:`shared_detection_sql`), a ``UNION ALL`` of one
branch per rule over its log source's records (a CTE per log source, inlined: DuckDB reads
only the columns the rules name and skips the row groups whose ``source`` no rule's log
source holds), grouped per rule, tenant and day into exactly the detection rows
:func:`detection_sql` gives for each rule alone; each rule's rows are then written in a
transaction of its own, as the runner does. Measured on 1M records and 500 rules
(bench/sigma_cost.py): one query per rule 8.1 s, one query per table with a list of the matching
rules per row 1.4 s, the ``UNION ALL`` 0.9 s. Rules that cannot share a scan (another kind of
analytic, e.g. a correlation) run one by one through the runner. If the shared query fails,
the table's rules run one by one, so one rule's failure stays that rule's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence

import duckdb

from mailhunt.alerts.writer import Written, write_alerts
from mailhunt.detect.base import SEVERITIES, Analytic
from mailhunt.detect.runner import DETECTIONS, DetectSummary, run_detections
from mailhunt.detect.sql_pieces import distinct_list
from mailhunt.model.sql import quote_identifier
from mailhunt.sigma import correlation
from mailhunt.sigma.compiler import CONVERTED, Compiled, SqlCheckError, check_sql
from mailhunt.sigma.sandbox import lock_down
from mailhunt.sigma.sqltext import sql_string
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

PREFIX = "sigma:"
SHARED = "_sigma_detections"  # the temp table of one table's rules' detections
# Errors that concern the run or the database, not a rule: they end the run (as the runner's).
_NOT_A_RULE = (duckdb.InterruptException, duckdb.FatalException)
DEFAULT_SEVERITY = "medium"
_TECHNIQUE_TAG = re.compile(r"^t\d{4}(\.\d{3})?$", re.IGNORECASE)

# Per table: the columns a detection lists (mailboxes, users, apps, client IPs).
_PEOPLE = {
    "events": ("mailbox_upn", "actor_upn", "app_id", "client_ip"),
    "signins": (None, "user_upn", "app_id", "client_ip"),
}


def techniques(compiled: Compiled) -> tuple[str, ...]:
    """The rule's ATT&CK technique ids (``attack.t1098.002`` -> ``T1098.002``), in order."""
    found = []
    for tag in compiled.tags:
        namespace, _, name = tag.partition(".")
        if namespace == "attack" and _TECHNIQUE_TAG.match(name):
            found.append(name.upper())
    return tuple(dict.fromkeys(found))


def severity(compiled: Compiled) -> str:
    """The rule's level as a severity (medium when it gives none)."""
    name = compiled.level or DEFAULT_SEVERITY
    return name if name in SEVERITIES else DEFAULT_SEVERITY


def _grouped(hits: str, table: str, analytic_id: str, title: str, level: str) -> str:
    """SELECT list and FROM of the detections of ``hits`` (the rule's texts as SQL)."""
    mailbox, user, app, ip = _PEOPLE[table]
    mailboxes = distinct_list(mailbox) if mailbox else "CAST([] AS VARCHAR[])"
    return f"""
    CAST(to_json([tenant_id, {analytic_id}]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    {level} AS severity,
    'Sigma rule ' || {title} || ' matched ' || count(*) || ' record(s)' AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {mailboxes} AS mailboxes,
    {distinct_list(user)} AS users,
    {distinct_list(app)} AS app_ids,
    {distinct_list(ip)} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids
FROM {hits}"""


def detection_sql(compiled: Compiled, analytic_id: str, level: str, *, check: bool = True) -> str:
    """The rule's detections alone: its matching records per tenant and UTC day."""
    title = sql_string(compiled.title or analytic_id)
    body = _grouped("hits", compiled.table, sql_string(analytic_id), title, sql_string(level))
    sql = f"""
WITH hits AS ({compiled.query})
SELECT{body}
GROUP BY tenant_id, date_trunc('day', time)
"""
    if check:
        check_sql(sql)
    return sql


def shared_detection_sql(table: str, rules: Sequence[tuple[Compiled, Analytic]]) -> str:
    """The detections of every rule of ``table`` (all with a scope and a condition) in one
    query: :func:`detection_sql`'s rows for each, with the rule's index in ``rules`` first
    (column ``rule``). Not checked here (the caller checks it). A branch selects ``*``:
    DuckDB reads only the columns the conditions and the grouping name (and the text sqlglot
    parses is a fifth shorter than with the columns listed)."""
    scopes: dict[str, str] = {}
    branches = []
    for n, (compiled, _) in enumerate(rules):
        scope = scopes.setdefault(compiled.scope, f"_scope{len(scopes)}")
        branches.append(f"SELECT {n} AS rule, * FROM {scope} WHERE {compiled.condition}")
    ctes = [
        f"{name} AS NOT MATERIALIZED (SELECT * FROM {quote_identifier(table)} WHERE {scope})"
        for scope, name in scopes.items()
    ]
    meta = ", ".join(
        f"({n}, {sql_string(a.id)}, {sql_string(a.title)}, {sql_string(a.severity)})"
        for n, (_, a) in enumerate(rules)
    )
    union = "\n    UNION ALL ".join(branches)
    body = _grouped("hits JOIN _rules USING (rule)", table, "analytic_id", "title", "_level")
    return f"""
WITH {", ".join(ctes)},
hits AS (
    {union}
),
_rules(rule, analytic_id, title, _level) AS (VALUES {meta})
SELECT rule,{body}
GROUP BY rule, analytic_id, title, _level, tenant_id, date_trunc('day', time)
"""


def to_analytic(compiled: Compiled, *, check: bool = True) -> Analytic:
    """The analytic of a converted rule (id ``sigma:<rule id>``); its query alone is checked
    unless ``check`` is false (a rule run in a shared scan never runs it)."""
    if compiled.status != CONVERTED:
        raise ValueError(f"{compiled.path}: rule not converted ({compiled.reason})")
    analytic_id = PREFIX + (compiled.rule_id or compiled.title)
    level = severity(compiled)
    found = techniques(compiled)
    return Analytic(
        id=analytic_id,
        title=compiled.title or analytic_id,
        severity=level,
        technique=found[0] if found else "",
        techniques=found,
        doc=f"Sigma rule {compiled.path}. {compiled.description or ''}".strip(),
        sql=(
            correlation.detection_sql(compiled, analytic_id, level)
            if compiled.plan is not None
            else detection_sql(compiled, analytic_id, level, check=check)
        ),
        tables=compiled.plan.tables if compiled.plan is not None else (compiled.table,),
    )


def shares_scan(compiled: Compiled) -> bool:
    """Can the rule be evaluated in its table's shared scan (a plain converted rule)?"""
    return (
        compiled.status == CONVERTED
        and compiled.plan is None
        and bool(compiled.scope and compiled.condition)
    )


def run_sigma(
    store: Store,
    compiled: Iterable[Compiled],
    *,
    should_stop: Callable[[], bool] | None = None,
) -> DetectSummary:
    """Run the converted rules over the store, on its connection locked down first (for the
    rest of its life: run them after the built-in analytics): one shared scan per table, the
    others (correlations) one by one; a rule a correlation silences (``generate: false``) is
    not run on its own."""
    converted = [c for c in compiled if c.status == CONVERTED and c.generate]
    lock_down(store)
    summary = DetectSummary()
    stop = should_stop or (lambda: False)
    by_table: dict[str, list[tuple[Compiled, Analytic]]] = {}
    alone = []
    for c in converted:
        if shares_scan(c):
            by_table.setdefault(c.table, []).append((c, to_analytic(c, check=False)))
        else:
            alone.append(to_analytic(c))
    for table, rules in by_table.items():
        if stop():
            summary.not_run.extend(a.id for _, a in rules)
            continue
        _run_shared(store, table, rules, summary, stop)
    if alone:
        _merge(summary, run_detections(store, alone, should_stop=should_stop))
    return summary


def _run_shared(
    store: Store,
    table: str,
    rules: list[tuple[Compiled, Analytic]],
    summary: DetectSummary,
    stop: Callable[[], bool],
) -> None:
    """One table's rules by one shared query, each rule's alerts in its own transaction;
    one by one through the runner if the query is refused or fails."""
    sql = shared_detection_sql(table, rules)
    try:
        check_sql(sql)
        store.run(f"CREATE OR REPLACE TEMP TABLE {SHARED} AS {sql}")
    except _NOT_A_RULE:
        raise
    except (SqlCheckError, duckdb.Error) as error:
        log.warning("%s: shared scan failed (%s); rules run one by one", table, _first(error))
        analytics = [to_analytic(c) for c, _ in rules]
        _merge(summary, run_detections(store, analytics, should_stop=stop))
        return
    try:
        found = dict(store.query(f"SELECT rule, count(*) FROM {SHARED} GROUP BY rule"))
        for n, (_, analytic) in enumerate(rules):
            if stop():
                summary.not_run.extend(a.id for _, a in rules[n:])
                break
            _write(store, analytic, n if n in found else None, summary)
    finally:
        store.run(f"DROP TABLE IF EXISTS {SHARED}")


def _write(store: Store, analytic: Analytic, rule: int | None, summary: DetectSummary) -> None:
    """Write one rule's detections (rows ``rule`` of the shared table; None: it has none)."""
    written = Written(0, 0, 0)
    try:
        if rule is not None:
            rows = f"SELECT * EXCLUDE (rule) FROM {SHARED} WHERE rule = {int(rule)}"
            with store.transaction(), store.temp_table(DETECTIONS, rows) as table:
                written = write_alerts(store, analytic, table)
    except _NOT_A_RULE:
        raise
    except duckdb.Error as error:
        summary.failed[analytic.id] = _first(error)
        log.info("%s failed: %s", analytic.id, summary.failed[analytic.id])
        return
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


def _merge(summary: DetectSummary, more: DetectSummary) -> None:
    summary.detections.update(more.detections)
    summary.new_alerts.update(more.new_alerts)
    summary.suppressed.update(more.suppressed)
    summary.failed.update(more.failed)
    summary.not_run.extend(more.not_run)


def _first(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
