"""Sigma correlation rules (specification v2) compiled to DuckDB SQL over the queries of the
rules they reference: ``event_count``, ``value_count``, ``temporal`` and ``temporal_ordered``,
with ``group-by``, ``timespan``, a condition (``gt``, ``gte``, ``lt``, ``lte``, ``eq``,
``neq``), ``aliases`` and ``generate``.

Semantics (those of pySigma's SQLite backend, the reference of the differential test):

- **References** name a rule by id or ``name``, in any file loaded with the correlation (the
  rule's own file first). A reference to a rule that does not convert makes the correlation
  ``unsupported`` (or ``error`` when that rule is broken), with the rule's reason. A correlation
  over another correlation, ``value_sum``/``value_avg``/``value_median``/``value_percentile``
  and extended conditions with ``not`` are unsupported.
- **Fields** of ``group-by``, of the condition's ``field`` and of ``aliases`` go through the
  log source pipeline of each referenced rule (the field mapping of ``pipelines.py``), so one
  alias may name ``UserId`` in an m365 rule and ``UserPrincipalName`` in a sign-in rule. Values
  are compared as lower-cased text (Sigma is case-insensitive). A record whose group-by value is
  NULL (field missing) joins no group: a missing user is not one user.
- **Groups** are always per tenant too (a store holds several tenants), then per group-by value.
- **Windows** end at each matching record: the records of the group at most ``timespan`` before
  it, both ends included (a record exactly one timespan earlier is inside, one second more is
  not). ``event_count`` counts the distinct records there, ``value_count`` the distinct
  (case-folded, non-NULL) values of the field, ``temporal`` the referenced rules that matched
  there (the default condition: all of them); a window whose measure meets the condition
  qualifies. ``temporal_ordered`` asks for the rules' records in the order of ``rules``, each
  strictly later than the one before, the first and last at most ``timespan`` apart (with
  ``gte``/``gt`` below the rule count: any that many of them, in that order; other operators are
  unsupported).
- **Evidence**: the records of the group inside a qualifying window (for ``temporal_ordered``,
  the records of the ordered sequence). Alerts are one per tenant, group and UTC day of the
  window's end (a record in several windows belongs to the earliest).
- ``generate: false`` (the default) keeps the referenced rules from raising alerts of their own;
  ``generate: true`` lets them.

Every text from the rule reaches SQL through :func:`mailhunt.sigma.sqltext.sql_string` or as a
column the pipeline named; numbers are Python ints and finite floats; the query is checked by
sqlglot and tried on the locked empty store like any rule's.

References: https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-correlation-rules-specification.md,
https://duckdb.org/docs/stable/sql/functions/window_functions,
https://duckdb.org/docs/stable/guides/sql_features/asof_join
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from mailhunt.detect.sql_pieces import distinct_list
from mailhunt.model.sql import quote_identifier
from mailhunt.sigma.backend import DuckDBBackend
from mailhunt.sigma.compiler import (
    CONVERTED,
    ERROR,
    UNSUPPORTED,
    Compiled,
    SqlCheckError,
    check_sql,
)
from mailhunt.sigma.loader import Loaded
from mailhunt.sigma.pipelines import log_source_for, pipeline_for
from mailhunt.sigma.sqltext import sql_string
from mailhunt.store.db import Store

_OPERATORS = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "=",
    SigmaCorrelationConditionOperator.NEQ: "<>",
}
SUPPORTED_TYPES = (
    SigmaCorrelationType.EVENT_COUNT,
    SigmaCorrelationType.VALUE_COUNT,
    SigmaCorrelationType.TEMPORAL,
    SigmaCorrelationType.TEMPORAL_ORDERED,
)
# Per table: the evidence's mailbox, user, application and client address columns.
_PEOPLE = {
    "events": ("mailbox_upn", "actor_upn", "app_id", "client_ip"),
    "signins": (None, "user_upn", "app_id", "client_ip"),
}
EVIDENCE = "evidence"  # the relation of the plan's last CTE
_COLUMNS = (
    'slot, tbl, "record_id", "time", "tenant_id", mailbox_upn, user_upn, app_id, client_ip, groups'
)


class NotCorrelated(Exception):
    """The correlation cannot be converted: ``status`` and ``reason`` say why."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Plan:
    """A converted correlation rule: CTEs ending in ``evidence``, one row per (record, rule)
    inside a qualifying window, with the columns ``slot`` (the referenced rule's position),
    ``tbl``, ``record_id``, ``time``, ``tenant_id``, ``mailbox_upn``, ``user_upn``,
    ``app_id``, ``client_ip``, ``groups`` (the group-by values, VARCHAR[]) and
    ``window_end`` (the end of the earliest qualifying window holding the record)."""

    kind: str
    tables: tuple[str, ...]
    group_by: tuple[str, ...]
    ctes: str  # to follow WITH

    @property
    def query(self) -> str:
        """The evidence rows."""
        return f"WITH {self.ctes}\nSELECT * FROM {EVIDENCE}"


# -- references -------------------------------------------------------------------------------


def correlate(
    items: Sequence[Loaded], compiled: Sequence[Compiled], store: Store
) -> list[Compiled]:
    """``compiled`` (one per loaded item, in order) with each correlation rule converted over
    the rules it references, and the rules a correlation with ``generate: false`` references
    marked ``generate=False``."""
    result = list(compiled)
    silenced: set[int] = set()
    for n, item in enumerate(items):
        rule = item.rule
        if not isinstance(rule, SigmaCorrelationRule):
            continue
        try:
            slots = resolve(item, rule, items, compiled)
            if not rule.generate:
                silenced.update(slots)
            result[n] = _compile(item, rule, [compiled[k] for k in slots], store)
        except NotCorrelated as problem:
            result[n] = Compiled(
                item.path, item.line, item.rule_id, item.title, problem.status, problem.reason
            )
    for k in silenced:
        result[k] = dataclasses.replace(result[k], generate=False)
    return result


def _references(rule: SigmaCorrelationRule) -> list[str]:
    if rule.rules is not None:
        return [ref.reference for ref in rule.rules]
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        return rule.condition.get_referenced_rules()
    return []


def resolve(
    item: Loaded, rule: SigmaCorrelationRule, items: Sequence[Loaded], compiled: Sequence[Compiled]
) -> list[int]:
    """The positions (in ``items``) of the rules the correlation references, in its order."""
    references = _references(rule)
    if not references:
        raise NotCorrelated(ERROR, "correlation rule references no rule")
    return [_find(reference, item, items, compiled) for reference in references]


def _find(
    reference: str, item: Loaded, items: Sequence[Loaded], compiled: Sequence[Compiled]
) -> int:
    """One reference: by id or name, the correlation's own file first; the rule must convert."""
    wanted = reference.strip().lower()
    found = [
        k
        for k, other in enumerate(items)
        if other.rule is not None
        and other is not item
        and wanted in (str(other.rule.id or "").lower(), (other.rule.name or "").lower())
    ]
    own = [k for k in found if items[k].path == item.path]
    candidates = own or found
    if not candidates:
        raise NotCorrelated(ERROR, f"referenced rule {reference} not found")
    if len(candidates) > 1:
        raise NotCorrelated(ERROR, f"referenced rule {reference} is ambiguous ({len(found)} rules)")
    k = candidates[0]
    target = compiled[k]
    if isinstance(items[k].rule, SigmaCorrelationRule):
        raise NotCorrelated(UNSUPPORTED, f"a correlation over a correlation rule ({reference})")
    if target.status != CONVERTED:
        raise NotCorrelated(
            target.status, f"referenced rule {reference} is {target.status}: {target.reason}"
        )
    return k


# -- conversion -------------------------------------------------------------------------------


def _compile(
    item: Loaded, rule: SigmaCorrelationRule, bases: list[Compiled], store: Store
) -> Compiled:
    plan = plan_for(rule, bases)
    query = plan.query
    try:
        check_sql(query)
    except SqlCheckError as error:
        raise NotCorrelated(ERROR, f"generated SQL refused: {error}") from None
    try:
        store.query(f"SELECT count(*) FROM ({query})")
    except duckdb.Error as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise NotCorrelated(UNSUPPORTED, f"DuckDB refuses it: {first}") from None
    return Compiled(
        item.path,
        item.line,
        item.rule_id,
        item.title,
        CONVERTED,
        "",
        rule,
        plan=plan,
        level=rule.level.name.lower() if rule.level is not None else None,
        tags=tuple(f"{tag.namespace}.{tag.name}" for tag in rule.tags),
        description=rule.description,
    )


def plan_for(rule: SigmaCorrelationRule, bases: list[Compiled]) -> Plan:
    """The correlation's SQL over its referenced rules' (converted) queries."""
    if rule.type not in SUPPORTED_TYPES:
        raise NotCorrelated(UNSUPPORTED, f"correlation type {rule.type.name.lower()}")
    span = rule.timespan.seconds
    group_by = tuple(rule.group_by or ())
    value = _value_field(rule)
    slots = [_slot(n, rule, base, group_by, value) for n, base in enumerate(bases)]
    ctes = [f"s{n} AS ({sql})" for n, sql in enumerate(slots)]
    ctes.append(
        "hits AS (" + " UNION ALL ".join(f"SELECT * FROM s{n}" for n in range(len(slots))) + ")"
    )
    if rule.type is SigmaCorrelationType.TEMPORAL_ORDERED:
        ctes.extend(_ordered(rule, len(bases), span))
    else:
        ctes.extend(_windowed(rule, len(bases), span))
    tables = tuple(dict.fromkeys(base.table for base in bases))
    return Plan(rule.type.name.lower(), tables, group_by, ",\n".join(ctes))


def _value_field(rule: SigmaCorrelationRule) -> str | None:
    """The field value_count counts (None for the other types)."""
    if rule.type is not SigmaCorrelationType.VALUE_COUNT:
        return None
    condition = rule.condition
    assert isinstance(condition, SigmaCorrelationCondition)  # noqa: S101 (pySigma's check)
    if not isinstance(condition.fieldref, str):
        raise NotCorrelated(UNSUPPORTED, "value_count over a list of fields")
    return condition.fieldref


def _alias_field(rule: SigmaCorrelationRule, name: str, base: Compiled) -> str:
    """The field ``name`` (a field or an alias) names in the referenced rule ``base``."""
    alias = rule.aliases.aliases.get(name)
    if alias is None:
        return name
    assert base.rule is not None  # noqa: S101 (a converted rule)
    keys = {str(base.rule.id or "").lower(), (base.rule.name or "").lower()}
    for reference, field in alias.mapping.items():
        if reference.reference.strip().lower() in keys:
            return field
    raise NotCorrelated(ERROR, f"alias {name} names no field of rule {base.rule_id or base.title}")


def _slot(
    n: int,
    rule: SigmaCorrelationRule,
    base: Compiled,
    group_by: tuple[str, ...],
    value: str | None,
) -> str:
    """The referenced rule's records with the columns the correlation reads."""
    assert isinstance(base.rule, SigmaRule)  # noqa: S101 (a converted base rule)
    source = log_source_for(base.rule.logsource)
    backend = DuckDBBackend(pipeline_for(source))

    def column(name: str) -> str:
        field = _alias_field(rule, name, base)
        try:
            return f"lower({backend.escape_and_quote_field(source.token(field))})"
        except SigmaError as error:
            raise NotCorrelated(UNSUPPORTED, f"{error.args[0] if error.args else error}") from None

    groups = [column(name) for name in group_by]
    mailbox, user, app, ip = (c and quote_identifier(c) for c in _PEOPLE[base.table])
    known = " AND ".join(f"{g} IS NOT NULL" for g in ['"time"', *groups])
    key = f'to_json(["tenant_id", {", ".join(groups)}])' if groups else 'to_json(["tenant_id"])'
    return (
        f'SELECT {n} AS slot, {sql_string(base.table)} AS tbl, "record_id", "time", '
        f'"tenant_id", {mailbox or "CAST(NULL AS VARCHAR)"} AS mailbox_upn, '
        f"{user} AS user_upn, {app} AS app_id, {ip} AS client_ip, "
        f"CAST([{', '.join(groups)}] AS VARCHAR[]) AS groups, "
        f"CAST({key} AS VARCHAR) AS gk, "
        f"{column(value) if value else 'CAST(NULL AS VARCHAR)'} AS v "
        f"FROM {quote_identifier(base.table)} WHERE ({base.predicate}) AND {known}"
    )


def _frame(span: int, *, following: bool = False) -> str:
    between = (
        f"CURRENT ROW AND INTERVAL {span} SECOND FOLLOWING"
        if following
        else f"INTERVAL {span} SECOND PRECEDING AND CURRENT ROW"
    )
    return f'(PARTITION BY gk ORDER BY "time" RANGE BETWEEN {between})'


def _number(count: float) -> str:
    if isinstance(count, float) and not math.isfinite(count):
        raise NotCorrelated(ERROR, f"condition count {count} is not a number")
    return repr(count)


def _windowed(rule: SigmaCorrelationRule, rules: int, span: int) -> list[str]:
    """event_count, value_count, temporal: the measure of the window ending at each record;
    a record is evidence when a qualifying window ends at most ``timespan`` after it."""
    aggregates, condition = _measure(rule, rules)
    measures = ", ".join(f"{a} OVER {_frame(span)} AS m{n}" for n, a in enumerate(aggregates))
    return [
        f"measured AS (SELECT *, {measures} FROM hits)",
        f'marked AS (SELECT *, min(CASE WHEN {condition} THEN "time" END) OVER '
        f"{_frame(span, following=True)} AS window_end FROM measured)",
        f"{EVIDENCE} AS (SELECT {_COLUMNS}, window_end FROM marked WHERE window_end IS NOT NULL)",
    ]


def _measure(rule: SigmaCorrelationRule, rules: int) -> tuple[list[str], str]:
    """The window aggregates (SQL, each to be framed) and the condition over them."""
    condition = rule.condition
    if isinstance(condition, SigmaExtendedCorrelationCondition):
        if rule.type is not SigmaCorrelationType.TEMPORAL:
            raise NotCorrelated(UNSUPPORTED, "extended condition on temporal_ordered")
        names = {ref: n for n, ref in enumerate(_lower(_references(rule)))}
        aggregates = [f"bool_or(slot = {n})" for n in range(rules)]
        return aggregates, _extended(condition.parsed, names)
    assert isinstance(condition, SigmaCorrelationCondition)  # noqa: S101 (pySigma's types)
    aggregate = {
        SigmaCorrelationType.EVENT_COUNT: "count(DISTINCT tbl || ':' || \"record_id\")",
        SigmaCorrelationType.VALUE_COUNT: "count(DISTINCT v)",
        SigmaCorrelationType.TEMPORAL: "count(DISTINCT slot)",
    }[rule.type]
    return [aggregate], f"m0 {_OPERATORS[condition.op]} {_number(condition.count)}"


def _lower(names: list[str]) -> list[str]:
    return [name.strip().lower() for name in names]


def _extended(node: CorrelationConditionItem | SigmaRuleReference, names: dict[str, int]) -> str:
    """An extended temporal condition over the ``m<slot>`` presence flags (and, or)."""
    if isinstance(node, SigmaRuleReference):
        return f"m{names[node.reference.strip().lower()]}"
    if isinstance(node, CorrelationConditionNOT):
        raise NotCorrelated(UNSUPPORTED, "extended correlation condition with not")
    joiner = {CorrelationConditionAND: " AND ", CorrelationConditionOR: " OR "}.get(type(node))
    if joiner is None:
        raise NotCorrelated(UNSUPPORTED, f"extended condition {type(node).__name__}")
    return "(" + joiner.join(_extended(arg, names) for arg in node.args) + ")"


def _ordered_clauses(rule: SigmaCorrelationRule, rules: int) -> list[tuple[int, ...]]:
    """The ordered subsequences of the rules that satisfy a temporal_ordered condition."""
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise NotCorrelated(UNSUPPORTED, "extended condition on temporal_ordered")
    if condition.op is SigmaCorrelationConditionOperator.GTE:
        required = math.ceil(condition.count)
    elif condition.op is SigmaCorrelationConditionOperator.GT:
        required = math.floor(condition.count) + 1
    else:
        raise NotCorrelated(
            UNSUPPORTED, f"temporal_ordered with condition {condition.op.name.lower()}"
        )
    if required < 1:
        raise NotCorrelated(UNSUPPORTED, "temporal_ordered condition met by no record at all")
    return list(itertools.combinations(range(rules), required)) if required <= rules else []


def _ordered(rule: SigmaCorrelationRule, rules: int, span: int) -> list[str]:
    """temporal_ordered: from each record of a clause's first rule, the earliest record of the
    next rule strictly later (ASOF join), and so on; a sequence within the timespan qualifies."""
    clauses = _ordered_clauses(rule, rules)
    ctes: list[str] = []
    steps: list[str] = []
    for c, clause in enumerate(clauses):
        first = clause[0]
        ctes.append(f'c{c}_0 AS (SELECT DISTINCT gk, "time" AS t0 FROM hits WHERE slot = {first})')
        for i, slot in enumerate(clause[1:], start=1):
            ctes.append(
                f'c{c}_{i} AS (SELECT c.*, m."time" AS t{i} FROM c{c}_{i - 1} c ASOF JOIN '
                f'(SELECT DISTINCT gk, "time" FROM hits WHERE slot = {slot}) m '
                f'ON c.gk = m.gk AND m."time" > c.t{i - 1})'
            )
        last = len(clause) - 1
        ctes.append(
            f"q{c} AS (SELECT *, t{last} AS window_end FROM c{c}_{last} "
            f"WHERE t{last} <= t0 + INTERVAL {span} SECOND)"
        )
        steps.extend(
            f"SELECT gk, {slot} AS slot, t{i} AS t, window_end FROM q{c}"
            for i, slot in enumerate(clause)
        )
    if not steps:  # a condition asking for more rules than there are: nothing qualifies
        steps.append(
            "SELECT NULL AS gk, NULL AS slot, CAST(NULL AS TIMESTAMPTZ) AS t, "
            "CAST(NULL AS TIMESTAMPTZ) AS window_end WHERE false"
        )
    ctes.append(
        "chosen AS (SELECT gk, slot, t, min(window_end) AS window_end FROM ("
        + " UNION ALL ".join(steps)
        + ") GROUP BY gk, slot, t)"
    )
    ctes.append(
        f"{EVIDENCE} AS (SELECT {_qualified('h')}, c.window_end FROM hits h JOIN chosen c "
        'ON h.gk = c.gk AND h.slot = c.slot AND h."time" = c.t)'
    )
    return ctes


def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


# -- detections -------------------------------------------------------------------------------


def detection_sql(compiled: Compiled, analytic_id: str, level: str) -> str:
    """The correlation's detections (``DETECTION_COLUMNS``): its evidence per tenant, group
    and UTC day of the window end."""
    plan = compiled.plan
    if plan is None:
        raise ValueError(f"{compiled.path}: not a correlation rule")
    title = sql_string(compiled.title or analytic_id)
    fields = sql_string(", ".join(plan.group_by))
    about = (
        f"' for ' || {fields} || ' = ' || array_to_string(groups, ', ')" if plan.group_by else "''"
    )
    sql = f"""
WITH {plan.ctes}
SELECT
    CAST(to_json(list_concat([tenant_id, {sql_string(analytic_id)}], groups)) AS VARCHAR)
        AS entity,
    date_trunc('day', window_end) AS bucket,
    {sql_string(level)} AS severity,
    'Sigma correlation rule ' || {title} || ' ({plan.kind}) matched '
        || count(DISTINCT tbl || ':' || record_id) || ' record(s)' || {about} AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("user_upn")} AS users,
    {distinct_list("app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min("time") AS first_seen,
    max("time") AS last_seen,
    {distinct_list("record_id")} AS event_ids
FROM {EVIDENCE}
GROUP BY tenant_id, groups, date_trunc('day', window_end)
"""
    check_sql(sql)
    return sql
