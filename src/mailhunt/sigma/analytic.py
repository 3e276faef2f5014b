"""A converted Sigma rule as an analytic: the same metadata, one SQL query returning
``DETECTION_COLUMNS``, run by the same runner and written by the same alert writer.

One detection per tenant and UTC day of the rule's matching records: entity
``[tenant, "sigma:<rule id>"]`` (JSON), the matching record ids as evidence, the rule's
``level`` as severity (medium when it has none) and its ``attack.tNNNN`` tags as ATT&CK
techniques. Alert ids are the writer's (rule, entity, day), so a rerun adds nothing. A
correlation rule's detections are :func:`mailhunt.sigma.correlation.detection_sql`'s (per group
too); a rule a correlation references with ``generate: false`` raises none of its own.
Every text of the rule in the query (id, title, severity) is a literal written by
:func:`mailhunt.sigma.sqltext.sql_string`, and the query is checked by sqlglot again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mailhunt.detect.base import SEVERITIES, Analytic
from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.detect.sql_pieces import distinct_list
from mailhunt.sigma import correlation
from mailhunt.sigma.compiler import CONVERTED, Compiled, check_sql
from mailhunt.sigma.sandbox import lock_down
from mailhunt.sigma.sqltext import sql_string
from mailhunt.store.db import Store

PREFIX = "sigma:"
DEFAULT_SEVERITY = "medium"
_TECHNIQUE_TAG = re.compile(r"^t\d{4}(\.\d{3})?$", re.IGNORECASE)

# Per table: the columns a detection lists (mailboxes, users, apps, client IPs).
_PEOPLE = {
    "events": ("mailbox_upn", "actor_upn", "app_id", "client_ip"),
    "signins": (None, "user_upn", "app_id", "client_ip"),
}


def techniques(compiled: Compiled) -> tuple[str, ...]:
    """The rule's ATT&CK technique ids (``attack.t1098.002`` -> ``T1098.002``), in order."""
    if compiled.rule is None:
        return ()
    found = [
        tag.name.upper()
        for tag in compiled.rule.tags
        if tag.namespace == "attack" and _TECHNIQUE_TAG.match(tag.name)
    ]
    return tuple(dict.fromkeys(found))


def severity(compiled: Compiled) -> str:
    """The rule's level as a severity (medium when it gives none)."""
    level = compiled.rule.level if compiled.rule is not None else None
    name = level.name.lower() if level is not None else DEFAULT_SEVERITY
    return name if name in SEVERITIES else DEFAULT_SEVERITY


def detection_sql(compiled: Compiled, analytic_id: str, level: str) -> str:
    """The rule's detections: its matching records per tenant and UTC day."""
    mailbox, user, app, ip = _PEOPLE[compiled.table]
    mailboxes = distinct_list(mailbox) if mailbox else "CAST([] AS VARCHAR[])"
    title = sql_string(compiled.title or analytic_id)
    sql = f"""
WITH hits AS ({compiled.query})
SELECT
    CAST(to_json([tenant_id, {sql_string(analytic_id)}]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    {sql_string(level)} AS severity,
    'Sigma rule ' || {title} || ' matched ' || count(*) || ' record(s)' AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {mailboxes} AS mailboxes,
    {distinct_list(user)} AS users,
    {distinct_list(app)} AS app_ids,
    {distinct_list(ip)} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids
FROM hits
GROUP BY tenant_id, date_trunc('day', time)
"""
    check_sql(sql)
    return sql


def to_analytic(compiled: Compiled) -> Analytic:
    """The analytic of a converted rule (id ``sigma:<rule id>``)."""
    if compiled.status != CONVERTED:
        raise ValueError(f"{compiled.path}: rule not converted ({compiled.reason})")
    analytic_id = PREFIX + (compiled.rule_id or compiled.title)
    level = severity(compiled)
    found = techniques(compiled)
    description = compiled.rule.description if compiled.rule is not None else None
    return Analytic(
        id=analytic_id,
        title=compiled.title or analytic_id,
        severity=level,
        technique=found[0] if found else "",
        techniques=found,
        doc=f"Sigma rule {compiled.path}. {description or ''}".strip(),
        sql=(
            correlation.detection_sql(compiled, analytic_id, level)
            if compiled.plan is not None
            else detection_sql(compiled, analytic_id, level)
        ),
        tables=compiled.plan.tables if compiled.plan is not None else (compiled.table,),
    )


def run_sigma(
    store: Store,
    compiled: Iterable[Compiled],
    *,
    should_stop: Callable[[], bool] | None = None,
) -> DetectSummary:
    """Run the converted rules over the store, on its connection locked down first (for the
    rest of its life: run them after the built-in analytics)."""
    analytics = [to_analytic(c) for c in compiled if c.status == CONVERTED and c.generate]
    lock_down(store)
    return run_detections(store, analytics, should_stop=should_stop)
