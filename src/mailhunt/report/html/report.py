"""``mailhunt report``: the investigation as one self-contained HTML file.

What it holds, top to bottom: a summary (what was read, where, when, and where the logs were
blind), mail access over time with the intrusion marked, then one section per case (an incident,
or the alerts' evidence taken together) with its alerts, the mailboxes, messages and folders its
records reached, the blind windows of those mailboxes, messages read per mailbox per day and each
mailbox's timeline; then the coverage findings and the files the store was built from.

The file is written atomically (a temporary file beside it, renamed over it): a reader never sees
half a report, and a failed write leaves the previous one. It is readable by its owner only (mode
0600, as the temporary file is made): it lists who was read and what.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mailhunt import __version__
from mailhunt.alerts.query import Alert, count_suppressed, list_alerts
from mailhunt.detect.base import SEVERITY_RANK
from mailhunt.detect.coverage import Finding, coverage_findings
from mailhunt.errors import InputError
from mailhunt.report.html import data
from mailhunt.report.html.charts import Chart, activity_chart, heatmap
from mailhunt.report.html.render import render_template
from mailhunt.store.db import Store, utc_now

TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class Case:
    """One intrusion as the report tells it: what links it, and what its records reached."""

    id: str | None
    title: str
    severity: str
    tenant_ids: list[str]
    mailboxes: list[str]
    users: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    alerts: list[Alert]
    scope: list[str]  # the record ids attributed to the intruder
    reach: data.Reach
    heat: Chart | None
    timelines: list[data.Timeline]


@dataclass(frozen=True)
class Report:
    """Everything the template shows."""

    generated_at: datetime
    version: str
    store_name: str
    totals: data.Totals
    alerts: list[Alert]
    suppressed: int
    cases: list[Case]
    activity: Chart | None
    coverage: list[Finding]
    sources: list[data.Source]
    severity_counts: dict[str, int] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        """The worst severity of the cases (informational when there is none)."""
        return max((c.severity for c in self.cases), key=_rank, default="informational")

    @property
    def mailboxes(self) -> int:
        return len({(m.tenant_id, m.mailbox) for c in self.cases for m in c.reach.mailboxes})

    @property
    def messages(self) -> int:
        return sum(c.reach.messages_total for c in self.cases)

    @property
    def sync_folders(self) -> int:
        return sum(len(c.reach.sync_folders) for c in self.cases)

    @property
    def blind_windows(self) -> int:
        return sum(len(c.reach.blind_windows) for c in self.cases)

    @property
    def tenants(self) -> list[str]:
        return sorted({t for c in self.cases for t in c.tenant_ids})


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


def _case(
    store: Store,
    alerts: list[Alert],
    scope: list[str],
    *,
    id_: str | None,
    title: str,
    severity: str | None = None,
) -> Case:
    """A case over a set of records: its reach, charts and mailbox timelines."""
    reach = data.reach(store, scope)
    first = min((a.first_seen for a in alerts), default=None)
    last = max((a.last_seen for a in alerts), default=None)
    mailboxes = [m.mailbox for m in reach.mailboxes][: data.MAX_MAILBOX_TIMELINES]
    return Case(
        id=id_,
        title=title,
        severity=severity or max((a.severity for a in alerts), key=_rank, default="low"),
        tenant_ids=_union(a.tenant_ids for a in alerts),
        mailboxes=_union([[m.mailbox for m in reach.mailboxes], *(a.mailboxes for a in alerts)]),
        users=_union(a.users for a in alerts),
        first_seen=first,
        last_seen=last,
        alerts=alerts,
        scope=scope,
        reach=reach,
        heat=heatmap(reach.per_day),
        timelines=[data.timeline(store, scope, mailbox) for mailbox in mailboxes],
    )


def _union(lists: Iterable[list[str]]) -> list[str]:
    return sorted({value for values in lists for value in values if value})


def _alert_cases(store: Store, alerts: list[Alert]) -> list[Case]:
    """Without incidents: one case, the evidence of every alert listed."""
    if not alerts:
        return []
    scope = sorted({record for alert in alerts for record in alert.event_ids})
    return [_case(store, alerts, scope, id_=None, title="Every alert's evidence")]


def _activity(store: Store, cases: list[Case]) -> Chart | None:
    """Mail access over the whole store, every case's records in front, their period marked."""
    scope = sorted({r for c in cases for r in c.scope})
    firsts = [c.first_seen for c in cases if c.first_seen]
    lasts = [c.last_seen for c in cases if c.last_seen]
    window = (min(firsts), max(lasts)) if firsts and lasts else None
    return activity_chart(data.activity(store, scope), window)


def build_report(store: Store, *, now: datetime | None = None) -> Report:
    """What the report shows, read from the store."""
    alerts = list_alerts(store)
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.severity] = counts.get(alert.severity, 0) + 1
    cases = _alert_cases(store, alerts)
    return Report(
        generated_at=now or utc_now(),
        version=__version__,
        store_name=store.path.name if store.path else "(in memory)",
        totals=data.totals(store),
        alerts=alerts,
        suppressed=count_suppressed(store),
        cases=cases,
        activity=_activity(store, cases),
        coverage=coverage_findings(store),
        sources=data.sources(store),
        severity_counts=dict(sorted(counts.items(), key=lambda kv: -_rank(kv[0]))),
    )


def render_report(report: Report) -> str:
    """The report as one HTML document."""
    return render_template(TEMPLATE, report=report)


def write_atomically(text: str, out: Path) -> None:
    """``text`` written to ``out`` through a temporary file in the same folder, renamed over it;
    a path that cannot be written is an InputError (one line)."""
    folder = out.parent if str(out.parent) else Path()
    if out.is_dir():
        raise InputError(f"cannot write the report to {out}: it is a folder")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError(f"cannot write the report to {out}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, out)  # noqa: PTH105
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)  # noqa: PTH108
        raise InputError(f"cannot write the report to {out}: {error.strerror}") from None


def write_report(store: Store, out: Path, *, now: datetime | None = None) -> Report:
    """Build the report from the store and write it to ``out``; returns what it holds."""
    report = build_report(store, now=now)
    write_atomically(render_report(report), out)
    return report
