"""Building incidents: alerts grouped by what links their evidence, each with its blast radius.

Incidents are per tenant, and a cross-tenant intrusion is one incident per tenant, the
incidents linked by the campaign id (its cross-tenant-campaign alert, in each of them). Per
tenant because each organisation contains, resolves and is notified of its own incident, and
the blast radius of one tenant must never name another's mailboxes; the campaign id is the
link a responder follows across them.

A node is one key of one alert: an Entra session, an Exchange session, a token, an application
that is not Microsoft's own or an address new to the tenant that its evidence (the records
that are not the principal's habitual access, see ``radius.EVIDENCE``) carries; an alert with
no key is one node. Two keys of an alert are one actor's when one record carries both; two
alerts' uses of one key within ``window_days`` of each other are one actor's. An incident is
what these link (union-find in Python over the keys: alerts and their keys are few;
everything over records is SQL, ``radius``). So an alert whose evidence holds the records of
two intruders that share nothing (a per-mailbox-and-day alert on a mailbox two intruders read
the same day) is in two incidents, each with its own records, and never links them; and a
campaign alert (``radius.CAMPAIGN_RULE``) links nothing: in each tenant it joins the
incidents of the intruders whose records it cites.

Stable ids: an incident's id is derived from its earliest alert the first time it is built and
kept. A rebuild (after more detection or more data) gives each group the id of the incident its
alerts belonged to before; a group holding alerts of several incidents keeps the oldest id and
the others are recorded as merged into it (``merged_into``, and a journal note). An alert in
several incidents gives each part the incident its records were the evidence of; one incident
cut in two (built before alerts were cut by actor) is kept by the part with the earliest
alert, the other getting a new id. Status, assignee and notes are never touched by a rebuild.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mailhunt.detect.base import SEVERITIES
from mailhunt.investigate import radius
from mailhunt.model.schema import TABLES_BY_NAME, ddl
from mailhunt.store.db import Store, utc_now

log = logging.getLogger(__name__)

# Days allowed between two pieces of linked evidence for their alerts to be one incident, and
# around an incident's evidence for its blast radius.
WINDOW_DAYS = 7
# Users an address must fail sign-ins of within an hour to be a password spray's.
SPRAY_MIN_USERS = 3

Node = tuple[str, str, str, str]  # (tenant id, alert id, key kind, key value); '' '': no key

_DIGEST = """
SELECT count(*) || ':' || coalesce(CAST(bit_xor(hash(a.id, a.suppressed_by, a.event_count,
       a.last_seen)) AS VARCHAR), '0') FROM alerts a
"""


RADIUS_TABLES = (
    "incident_records",
    "incident_messages",
    "incident_syncs",
    "incident_blind_windows",
    "incident_actions",
    "incident_mailboxes",
)


@dataclass(frozen=True)
class BuildSummary:
    """What a build did: live incidents after it, new ones, merges, alerts grouped; ``rebuilt``
    is False when the alerts had not changed since the last build (nothing was done)."""

    incidents: int
    new: int
    extended: int
    merged: int
    alerts: int
    rebuilt: bool


def alerts_changed(store: Store, *, window_days: int = WINDOW_DAYS) -> bool:
    """True when the alerts (or the window) differ from those of the last build."""
    rows = store.query(
        "SELECT alerts_digest, window_days FROM incident_builds ORDER BY built_at DESC LIMIT 1"
    )
    return not rows or rows[0] != (_digest(store), window_days)


def _digest(store: Store) -> str:
    return str(store.query(_DIGEST)[0][0])


def build_incidents(
    store: Store,
    *,
    window_days: int = WINDOW_DAYS,
    force: bool = True,
    now: datetime | None = None,
) -> BuildSummary:
    """Group the unsuppressed alerts into incidents and store each one's blast radius, in one
    transaction. With ``force`` False nothing is done when the alerts did not change."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    if not store.scalar(
        "SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM incidents)"
    ):  # nothing to group and nothing built before (a quiet store): no build to record
        return BuildSummary(0, 0, 0, 0, 0, False)
    if not force and not alerts_changed(store, window_days=window_days):
        live = store.scalar(
            "SELECT count(*) FROM incidents WHERE merged_into IS NULL AND len(alert_ids) > 0"
        )
        return BuildSummary(live, 0, 0, 0, 0, False)
    at = now or utc_now()
    params = {"window_days": window_days}
    with store.transaction():
        store.run(radius.RECORDS_VIEW)
        store.run(f"CREATE OR REPLACE TEMP TABLE _inc_evidence AS {radius.EVIDENCE}", params)
        store.run(f"CREATE OR REPLACE TEMP TABLE _inc_record_keys AS {radius.RECORD_KEYS}", params)
        alerts = [(str(t), str(a), bool(g)) for t, a, g in store.query(radius.NODES)]
        groups = _group(
            alerts,
            store.query(radius.KEYS),
            store.query(radius.LINKS),
            store.query(radius.SHARES),
            timedelta(days=window_days),
        )
        summary = _assign(store, groups, {(t, a) for t, a, g in alerts if g}, at)
        _store_parts(store, summary)
        _radius(store, {**params, "spray_min_users": SPRAY_MIN_USERS})
        _people(store)
        store.run(
            radius.INCIDENTS_UPSERT,
            {"now": at, "severities": list(SEVERITIES)},
        )
        _retire(store, summary, at)
        store.insert_rows(
            "incident_builds",
            [
                {
                    "built_at": at,
                    "alerts_digest": _digest(store),
                    "window_days": window_days,
                    "incidents": len(summary.live),
                    "alerts": len({a for _, a, _ in alerts}),
                }
            ],
        )
        for table in (
            "_inc_evidence",
            "_inc_record_keys",
            "_inc_parts",
            "_inc_members",
            "_inc_people",
            "_inc_records",
        ):
            store.run(f"DROP TABLE IF EXISTS {table}")  # fixed names of this module
    log.info(
        "incidents: %d live (%d new, %d merged) over %d alerts",
        len(summary.live),
        summary.new,
        summary.merged,
        len(alerts),
    )
    return BuildSummary(
        len(summary.live),
        summary.new,
        len(summary.live) - summary.new,
        summary.merged,
        len({a for _, a, _ in alerts}),
        True,
    )


def _store_parts(store: Store, assigned: _Assigned) -> None:
    """The grouping's answer in the store: incident_alerts (an alert in each incident holding
    some of its keys), the incident of every key (``_inc_parts``) and of every evidence record
    (``_inc_members``)."""
    _widen_key(store)
    store.run("DELETE FROM incident_alerts")
    rows = sorted({(t, a, i) for (t, a, _, _), i in assigned.parts})
    store.insert_columns(
        "incident_alerts",
        {
            "tenant_id": [t for t, _, _ in rows],
            "alert_id": [a for _, a, _ in rows],
            "incident_id": [i for _, _, i in rows],
        },
    )
    store.columns_table(  # the grouping's answer: the incident of every key of every alert
        "_inc_parts",
        {
            "tenant_id": [t for (t, _, _, _), _ in assigned.parts],
            "alert_id": [a for (_, a, _, _), _ in assigned.parts],
            "kind": [k for (_, _, k, _), _ in assigned.parts],
            "value": [v for (_, _, _, v), _ in assigned.parts],
            "incident_id": [i for _, i in assigned.parts],
        },
        dict.fromkeys(("tenant_id", "alert_id", "kind", "value", "incident_id"), "VARCHAR"),
    )
    store.run(f"CREATE OR REPLACE TEMP TABLE _inc_members AS {radius.MEMBERS}")


def _widen_key(store: Store) -> None:
    """A store built before an alert could be in two incidents of a tenant keys incident_alerts
    by (tenant, alert): the table, rewritten by every build, is recreated with today's key."""
    table = TABLES_BY_NAME["incident_alerts"]
    rows = store.query(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'incident_alerts' AND constraint_type = 'PRIMARY KEY' "
        "AND schema_name = 'main'"
    )
    if rows and tuple(rows[0][0]) != table.primary_key:
        store.run("DROP TABLE incident_alerts")
        store.run(ddl(table))


def _people(store: Store) -> None:
    """``_inc_people``: each incident's users, applications and client IPs, the sorted union
    of its alerts' (a few thousand short lists: Python does this faster than list functions)."""
    of_alert = {str(a): (users, apps, ips) for a, users, apps, ips in store.query(radius.PEOPLE)}
    people: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for incident, alert in store.query("SELECT incident_id, alert_id FROM incident_alerts"):
        found = people.setdefault(str(incident), (set(), set(), set()))
        for into, values in zip(found, of_alert[str(alert)], strict=True):
            into.update(str(v) for v in values or () if v is not None)
    ids = sorted(people)
    store.columns_table(
        "_inc_people",
        {
            "incident_id": ids,
            "users": [sorted(people[i][0]) for i in ids],
            "app_ids": [sorted(people[i][1]) for i in ids],
            "client_ips": [sorted(people[i][2]) for i in ids],
        },
        {
            "incident_id": "VARCHAR",
            "users": "VARCHAR[]",
            "app_ids": "VARCHAR[]",
            "client_ips": "VARCHAR[]",
        },
    )


def _radius(store: Store, params: dict[str, Any]) -> None:
    """Every incident's blast radius, replaced: its tables dropped and created again (a
    DELETE of a million attributed rows cost more, at commit, than writing them)."""
    for name in RADIUS_TABLES:
        store.run(f"DROP TABLE IF EXISTS {name}")  # fixed names of this module
        store.run(ddl(TABLES_BY_NAME[name]))
    store.run(f"CREATE OR REPLACE TEMP TABLE _inc_attr AS {radius.ATTRIBUTE}", params)
    store.run(radius.RECORDS_INSERT)
    store.run(radius.MESSAGES_INSERT)
    store.run(radius.SYNCS_INSERT)
    store.run(radius.BLIND_INSERT)
    store.run(radius.ACTIONS_INSERT)
    store.run(radius.MAILBOXES_INSERT)
    store.run("DROP TABLE IF EXISTS _inc_attr")


# -- grouping ---------------------------------------------------------------------------------


class _UnionFind:
    def __init__(self, items: Iterable[Node]) -> None:
        self.parent: dict[Node, Node] = {item: item for item in items}

    def find(self, item: Node) -> Node:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: Node, b: Node) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


Uses = dict[tuple[str, str, str], list[tuple[datetime, datetime, Node]]]


def _group(
    alerts: list[tuple[str, str, bool]],
    keys: list[tuple[Any, ...]],
    links: list[tuple[Any, ...]],
    shares: list[tuple[Any, ...]],
    window: timedelta,
) -> list[list[Node]]:
    """The keys of the alerts grouped, as sorted groups: keys of one alert carried by one
    record, and uses of one key by several alerts within ``window`` of each other (a chain of
    uses each within the window links them all). A campaign's keys (``aggregate``) link
    nothing: see ``_place_campaigns``."""
    aggregate = {(t, a) for t, a, g in alerts if g}
    spans: dict[Node, tuple[datetime, datetime]] = {
        (str(t), str(a), str(k), str(v)): (first, last) for t, a, k, v, first, last, _ in keys
    }
    keyed = {(t, a) for t, a, _, _ in spans}
    nodes = list(spans) + [(t, a, "", "") for t, a, _ in alerts if (t, a) not in keyed]
    found = _UnionFind(nodes)
    for tenant, alert, pairs in links:  # keys one record carries
        carried = [(str(tenant), str(alert), str(k), str(v)) for k, v in pairs]
        for other in carried[1:]:
            found.union(carried[0], other)
    by_key: Uses = {}
    for node, (first, last) in spans.items():
        if node[:2] not in aggregate and node[2] not in radius.LOCAL_KINDS:
            by_key.setdefault((node[0], node[2], node[3]), []).append((first, last, node))
    for uses in by_key.values():
        _chain(found, uses, window)
    groups: dict[Node, list[Node]] = {}
    for node in nodes:
        if node[:2] not in aggregate:
            groups.setdefault(found.find(node), []).append(node)
    _place_campaigns(found, [n for n in nodes if n[:2] in aggregate], by_key, shares, groups)
    return sorted(sorted(group) for group in groups.values())


def _chain(
    found: _UnionFind, uses: list[tuple[datetime, datetime, Node]], window: timedelta
) -> None:
    """Union the uses of one key each within ``window`` of the uses before it."""
    uses.sort()
    reach: datetime | None = None
    previous: Node | None = None
    for first, last, node in uses:
        if previous is not None and reach is not None and first - reach <= window:
            found.union(previous, node)
        reach = last if reach is None or last > reach else reach
        previous = node


def _place_campaigns(
    found: _UnionFind,
    nodes: list[Node],
    by_key: Uses,
    shares: list[tuple[Any, ...]],
    groups: dict[Node, list[Node]],
) -> None:
    """A campaign alert's keys (``nodes``, cut by the records carrying them together) join
    every group holding one of them, linking none; keys no other alert uses (and a campaign
    alert with no key in a tenant) join the groups of the alerts citing the same records; a
    group of their own when there is none."""
    by_alert: dict[tuple[str, str], set[Node]] = {}
    for root, members in groups.items():
        for node in members:
            by_alert.setdefault(node[:2], set()).add(root)
    others: dict[Node, set[str]] = {}
    for tenant, alert, kind, value, other in shares:
        others.setdefault((str(tenant), str(alert), str(kind), str(value)), set()).add(str(other))
    parts: dict[Node, list[Node]] = {}
    for node in nodes:
        parts.setdefault(found.find(node), []).append(node)
    for root, part in parts.items():
        roots = {
            found.find(use) for n in part for _, _, use in by_key.get((n[0], n[2], n[3]), [])
        } or {
            r for n in part for other in others.get(n, ()) for r in by_alert.get((n[0], other), ())
        }
        for target in roots or {root}:
            groups.setdefault(target, []).extend(part)


@dataclass
class _Assigned:
    parts: list[tuple[Node, str]]  # (node, incident id)
    live: set[str]
    new: int
    merged: int
    merges: list[tuple[str, str]]  # (merged id, into id)


def _previous(store: Store) -> tuple[dict[tuple[str, str], set[str]], dict[Node, set[str]]]:
    """The incidents of the last build, live ids: per alert, and per key of an alert."""
    by_alert: dict[tuple[str, str], set[str]] = {}
    for t, a, i in store.query(
        "SELECT n.tenant_id, n.alert_id, coalesce(i.merged_into, n.incident_id) "
        "FROM incident_alerts n LEFT JOIN incidents i ON i.id = n.incident_id"
    ):
        by_alert.setdefault((str(t), str(a)), set()).add(str(i))
    by_key: dict[Node, set[str]] = {}
    for t, a, k, v, i in store.query(radius.PREVIOUS_KEYS):
        by_key.setdefault((str(t), str(a), str(k), str(v)), set()).add(str(i))
    return by_alert, by_key


def _before(
    group: list[Node],
    aggregate: set[tuple[str, str]],
    by_alert: dict[tuple[str, str], set[str]],
    by_key: dict[Node, set[str]],
) -> set[str]:
    """The incidents a group's alerts were in: an alert that was in one, that one; an alert
    that was in several (cut by actor), those its keys here were in. A campaign alert's only
    for a group of nothing else (it is in every incident it cites: no link between them)."""
    own = [n for n in group if n[:2] not in aggregate] or group
    found: set[str] = set()
    for node in own:
        was = by_alert.get(node[:2], set())
        found |= was if len(was) <= 1 else was & by_key.get(node, set())
    return found


def _assign(
    store: Store, groups: list[list[Node]], aggregate: set[tuple[str, str]], at: datetime
) -> _Assigned:
    """Each group's incident id: the one its alerts had (the oldest when several, the others
    merged into it), else one derived from its earliest alert."""
    by_alert, by_key = _previous(store)
    known = {
        str(i): (created, merged)
        for i, created, merged in store.query("SELECT id, created_at, merged_into FROM incidents")
    }
    first_seen = {str(a): f for a, f in store.query("SELECT id, first_seen FROM alerts")}
    split = _split_alerts(groups)
    result = _Assigned([], set(), 0, 0, [])
    ordered = sorted(groups, key=lambda g: min((first_seen.get(n[1]), n) for n in g))
    for group in ordered:
        before = sorted(
            _before(group, aggregate, by_alert, by_key) - result.live,
            key=lambda i: (known[i][0] if i in known else at, i),
        )
        if before:
            incident_id = before[0]
            for other in before[1:]:
                result.merges.append((other, incident_id))
        else:
            incident_id = _new_id(group, split, first_seen, known, result.live)
            result.new += incident_id not in known
        result.live.add(incident_id)
        result.parts += [(node, incident_id) for node in group]
    result.merged = len(result.merges)
    return result


def _split_alerts(groups: list[list[Node]]) -> set[tuple[str, str]]:
    """The alerts in more than one group."""
    seen: dict[tuple[str, str], int] = {}
    for group in groups:
        for alert in {n[:2] for n in group}:
            seen[alert] = seen.get(alert, 0) + 1
    return {alert for alert, count in seen.items() if count > 1}


def _new_id(
    group: list[Node],
    split: set[tuple[str, str]],
    first_seen: dict[str, Any],
    known: dict[str, Any],
    taken: set[str],
) -> str:
    """'INC-' and 12 hex digits of the SHA-256 of the earliest alert's tenant and id, and of
    its first key in this group when the alert is in several groups (another suffix only if
    that id is taken by another live group of this build)."""
    _, (tenant, alert, kind, value) = min((first_seen.get(n[1]), n) for n in group)
    seed = f"{tenant}\x00{alert}"
    if (tenant, alert) in split:
        seed += f"\x00{kind}\x00{value}"
    for attempt in range(1000):
        text = seed if attempt == 0 else f"{seed}\x00{attempt}"
        candidate = "INC-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()
        if candidate not in taken:
            return candidate
    raise RuntimeError("no free incident id")  # pragma: no cover


def _retire(store: Store, assigned: _Assigned, at: datetime) -> None:
    """Merged incidents point at the incident they joined (journalled); incidents no group kept
    (their alerts suppressed or gone) are left with no alerts, out of the listing."""
    for merged, into in assigned.merges:
        store.run(
            "UPDATE incidents SET merged_into = ?, updated_at = ? WHERE id = ?", [into, at, merged]
        )
        store.run("UPDATE incidents SET merged_into = ? WHERE merged_into = ?", [into, merged])
        store.insert_rows(
            "incident_notes",
            [
                {
                    "incident_id": into,
                    "noted_at": at,
                    "author": "mailhunt",
                    "kind": "merge",
                    "text": f"merged {merged} into {into}: their alerts are linked",
                }
            ],
        )
    store.run(
        "UPDATE incidents SET alert_ids = [], event_count = 0, message_count = 0 "
        "WHERE merged_into IS NULL AND NOT list_contains(?, id)",
        [sorted(assigned.live)],
    )
