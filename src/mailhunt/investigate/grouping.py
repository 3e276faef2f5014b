"""Building incidents: alerts grouped by what links their evidence, each with its blast radius.

A node is an (unsuppressed) alert in one tenant of its evidence: incidents are per tenant, and
a cross-tenant intrusion is one incident per tenant, the incidents linked by the campaign id
(its cross-tenant-campaign alert, in each of them). Per tenant because each organisation
contains, resolves and is notified of its own incident, and the blast radius of one tenant must
never name another's mailboxes; the campaign id is the link a responder follows across them.

Two nodes of a tenant are linked when their evidence (the records that are not the principal's
habitual access, see ``radius.EVIDENCE``) shares an Entra session, an Exchange session, a
token, an application that is not Microsoft's own, an address new to the tenant, or a campaign,
within ``window_days`` of each other. Linking is union-find in Python over the nodes (alerts
are few); everything over records is SQL (``radius``).

Stable ids: an incident's id is derived from its earliest alert the first time it is built and
kept. A rebuild (after more detection or more data) gives each group the id of the incident its
alerts belonged to before; a group holding alerts of several incidents keeps the oldest id and
the others are recorded as merged into it (``merged_into``, and a journal note). Status,
assignee and notes are never touched by a rebuild.
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
from mailhunt.store.db import Store, utc_now

log = logging.getLogger(__name__)

# Days allowed between two pieces of linked evidence for their alerts to be one incident, and
# around an incident's evidence for its blast radius.
WINDOW_DAYS = 7
# Users an address must fail sign-ins of within an hour to be a password spray's.
SPRAY_MIN_USERS = 3

Node = tuple[str, str]  # (tenant id, alert id)

_DIGEST = """
SELECT count(*) || ':' || coalesce(CAST(bit_xor(hash(a.id, a.suppressed_by, a.event_count,
       a.last_seen)) AS VARCHAR), '0') FROM alerts a
"""


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
        nodes: list[Node] = [(str(t), str(a)) for t, a in store.query(radius.NODES)]
        store.run(f"CREATE OR REPLACE TEMP TABLE _inc_keys AS {radius.KEYS}", params)
        keys = store.query("SELECT * FROM _inc_keys")
        groups = _group(nodes, keys, timedelta(days=window_days))
        summary = _assign(store, groups, at)
        store.run("DELETE FROM incident_alerts")
        store.insert_columns(
            "incident_alerts",
            {
                "tenant_id": [t for t, _, _ in summary.members],
                "alert_id": [a for _, a, _ in summary.members],
                "incident_id": [i for _, _, i in summary.members],
            },
        )
        _radius(store, {**params, "spray_min_users": SPRAY_MIN_USERS})
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
                    "alerts": len({a for _, a in nodes}),
                }
            ],
        )
        store.run("DROP TABLE IF EXISTS _inc_evidence")
        store.run("DROP TABLE IF EXISTS _inc_keys")
        store.run("DROP VIEW IF EXISTS _inc_records")
    log.info(
        "incidents: %d live (%d new, %d merged) over %d alerts",
        len(summary.live),
        summary.new,
        summary.merged,
        len(nodes),
    )
    return BuildSummary(
        len(summary.live),
        summary.new,
        len(summary.live) - summary.new,
        summary.merged,
        len({a for _, a in nodes}),
        True,
    )


def _radius(store: Store, params: dict[str, Any]) -> None:
    """Every incident's blast radius, replaced."""
    for table in (
        "incident_records",
        "incident_messages",
        "incident_syncs",
        "incident_blind_windows",
        "incident_actions",
        "incident_mailboxes",
    ):
        store.run(f"DELETE FROM {table}")  # fixed names of this module
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


def _group(nodes: list[Node], keys: list[tuple[Any, ...]], window: timedelta) -> list[list[Node]]:
    """Nodes linked by a shared key whose uses are within ``window`` of each other (a chain of
    uses each within the window links them all), as groups sorted by their nodes."""
    found = _UnionFind(nodes)
    by_key: dict[tuple[str, str, str], list[tuple[datetime, datetime, Node]]] = {}
    for tenant, alert, kind, value, first, last in keys:
        node = (str(tenant), str(alert))
        if node in found.parent:
            by_key.setdefault((str(tenant), str(kind), str(value)), []).append((first, last, node))
    for uses in by_key.values():
        uses.sort()
        reach: datetime | None = None
        previous: Node | None = None
        for first, last, node in uses:
            if previous is not None and reach is not None and first - reach <= window:
                found.union(previous, node)
            reach = last if reach is None or last > reach else reach
            previous = node
    groups: dict[Node, list[Node]] = {}
    for node in nodes:
        groups.setdefault(found.find(node), []).append(node)
    return sorted(sorted(group) for group in groups.values())


@dataclass
class _Assigned:
    members: list[tuple[str, str, str]]  # (tenant, alert, incident id)
    live: set[str]
    new: int
    merged: int
    merges: list[tuple[str, str]]  # (merged id, into id)


def _assign(store: Store, groups: list[list[Node]], at: datetime) -> _Assigned:
    """Each group's incident id: the one its alerts had (the oldest when several, the others
    merged into it), else one derived from its earliest alert."""
    previous = {
        (str(t), str(a)): str(i)
        for t, a, i in store.query(
            "SELECT n.tenant_id, n.alert_id, coalesce(i.merged_into, n.incident_id) "
            "FROM incident_alerts n LEFT JOIN incidents i ON i.id = n.incident_id"
        )
    }
    known = {
        str(i): (created, merged)
        for i, created, merged in store.query("SELECT id, created_at, merged_into FROM incidents")
    }
    first_seen = {str(a): f for a, f in store.query("SELECT id, first_seen FROM alerts")}
    result = _Assigned([], set(), 0, 0, [])
    ordered = sorted(groups, key=lambda g: min((first_seen.get(a), a, t) for t, a in g))
    for group in ordered:
        before = sorted(
            {previous[n] for n in group if n in previous} - result.live,
            key=lambda i: (known[i][0] if i in known else at, i),
        )
        if before:
            incident_id = before[0]
            for other in before[1:]:
                result.merges.append((other, incident_id))
        else:
            incident_id = _new_id(group, first_seen, known, result.live)
            result.new += incident_id not in known
        result.live.add(incident_id)
        result.members += [(t, a, incident_id) for t, a in group]
    result.merged = len(result.merges)
    return result


def _new_id(
    group: list[Node],
    first_seen: dict[str, Any],
    known: dict[str, Any],
    taken: set[str],
) -> str:
    """'INC-' and 12 hex digits of the SHA-256 of the earliest alert's tenant and id (another
    suffix only if that id is taken by another live group of this build)."""
    _, alert, tenant = min((first_seen.get(a), a, t) for t, a in group)
    seed = f"{tenant}\x00{alert}"
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
