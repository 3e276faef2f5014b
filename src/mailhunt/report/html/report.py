"""``mailhunt report``: the investigation as one self-contained HTML file.

What it holds, top to bottom: a summary (what was read, where, when, and where the logs were
blind), mail access over time with the intrusion marked, the alerts, then one section per
incident (its facts and journal, its alerts, and its blast radius: mailboxes, blind windows,
folders synced whole, messages read per mailbox per day, the messages, mail sent and rules
changed, and each mailbox's timeline with the intruder's records marked); then the coverage
findings and the files the store was built from. ``--incident ID`` narrows it to one incident.

Incidents and their blast radius are read as the last build stored them
(:mod:`mailhunt.investigate.incidents`); with none stored, the report says so and charts the
alerts' evidence. Long tables are capped, each saying how many rows it left out and which
command lists them all.

The file is written atomically (a temporary file beside it, renamed over it): a reader never sees
half a report, and a failed write leaves the previous one. It is readable by its owner only (mode
0600, as the temporary file is made): it lists who was read and what.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from mailhunt import __version__
from mailhunt.alerts.query import Alert, count_suppressed, list_alerts
from mailhunt.detect.base import SEVERITY_RANK
from mailhunt.detect.coverage import Finding, coverage_findings
from mailhunt.errors import InputError
from mailhunt.investigate.incidents import blast_radius, get_incident, list_incidents
from mailhunt.investigate.model import BlastRadius, Incident, MessageRead
from mailhunt.investigate.timeline import Selector, TimelineRow, timeline
from mailhunt.report.html import data
from mailhunt.report.html.charts import Chart, activity_chart, heatmap
from mailhunt.report.html.render import render_template
from mailhunt.store.db import Store, utc_now

TEMPLATE = "report.html.j2"
MAX_MESSAGES = 2000  # messages listed per incident; the rest are counted
MAX_TIMELINE = 200  # rows per mailbox timeline
MAX_TIMELINES = 12  # mailboxes per incident given a timeline
TIMELINE_MARGIN = timedelta(hours=6)  # shown before a mailbox's first access and after its last


@dataclass(frozen=True)
class MailboxTimeline:
    """A mailbox's records around the intruder's, the intruder's marked (capped)."""

    mailbox: str
    rows: list[TimelineRow]
    intruder: frozenset[str]  # record ids attributed to the intruder
    total: int

    @property
    def hits(self) -> int:
        """The intruder's records among the rows shown."""
        return sum(row.record_id in self.intruder for row in self.rows)


@dataclass(frozen=True)
class Case:
    """One incident as the report tells it."""

    incident: Incident
    radius: BlastRadius
    alerts: list[Alert]
    messages: list[MessageRead]  # the first MAX_MESSAGES of radius.messages
    activity: Chart | None  # drawn when the report holds several incidents
    heat: Chart | None
    timelines: list[MailboxTimeline]

    @property
    def messages_sent(self) -> int:
        return sum(m.messages_sent for m in self.radius.mailboxes)


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
    only: str | None = None  # the incident asked for (--incident), if one was
    severity_counts: dict[str, int] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        """The worst severity of the incidents (of the alerts when none is stored)."""
        found = [c.incident.severity for c in self.cases] or [a.severity for a in self.alerts]
        return max(found, key=_rank, default="informational")

    @property
    def mailboxes(self) -> int:
        return len({(m.tenant_id, m.mailbox_upn) for c in self.cases for m in c.radius.mailboxes})

    @property
    def messages(self) -> int:
        return sum(len(c.radius.messages) for c in self.cases)

    @property
    def sync_folders(self) -> int:
        return sum(len(c.radius.syncs) for c in self.cases)

    @property
    def blind_windows(self) -> int:
        return sum(len(c.radius.blind_windows) for c in self.cases)

    @property
    def actions(self) -> int:
        return sum(len(c.radius.actions) for c in self.cases)

    @property
    def tenants(self) -> list[str]:
        return sorted({t for c in self.cases for t in c.incident.tenant_ids})


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


def _mailbox_timeline(
    store: Store, mailbox: str, first: datetime, last: datetime, intruder: frozenset[str]
) -> MailboxTimeline:
    """The mailbox's timeline from a margin before the intruder's first access to a margin
    after the last; when longer than MAX_TIMELINE rows, the intruder's rows and those nearest
    them are kept."""
    found = timeline(
        store, Selector("mailbox", mailbox), first - TIMELINE_MARGIN, last + TIMELINE_MARGIN
    )
    rows = list(found.rows)
    if len(rows) > MAX_TIMELINE:
        hits = [i for i, row in enumerate(rows) if row.record_id in intruder] or [0]

        def distance(index: int) -> int:
            return min(abs(index - hit) for hit in hits)

        keep = sorted(sorted(range(len(rows)), key=distance)[:MAX_TIMELINE])
        rows = [rows[i] for i in keep]
    return MailboxTimeline(mailbox, rows, intruder, len(found.rows))


def _case(store: Store, incident: Incident, alerts: list[Alert], *, several: bool) -> Case:
    """An incident's blast radius, charts and mailbox timelines."""
    radius = blast_radius(store, incident.id)
    scope = incident.event_ids
    intruder = frozenset(scope)
    busiest = sorted(radius.mailboxes, key=lambda m: (-m.records, m.mailbox_upn))
    window = [("incident", incident.first_seen, incident.last_seen)]
    return Case(
        incident=incident,
        radius=radius,
        alerts=[a for a in alerts if a.id in set(incident.alert_ids)],
        messages=radius.messages[:MAX_MESSAGES],
        activity=activity_chart(data.activity(store, scope), window) if several else None,
        heat=heatmap(data.per_day(store, scope)),
        timelines=[
            _mailbox_timeline(store, m.mailbox_upn, m.first_access, m.last_access, intruder)
            for m in busiest[:MAX_TIMELINES]
        ],
    )


def _activity(store: Store, cases: list[Case], alerts: list[Alert]) -> Chart | None:
    """Mail access over the whole store, the intruder's records in front (the incidents', or
    the alerts' evidence when no incident is stored), their period marked."""
    if cases:
        scope = sorted({r for c in cases for r in c.incident.event_ids})
        windows = [
            (
                f"incident {n}" if len(cases) > 1 else "intrusion",
                c.incident.first_seen,
                c.incident.last_seen,
            )
            for n, c in enumerate(cases, start=1)
        ]
    else:
        scope = sorted({r for a in alerts for r in a.event_ids})
        firsts, lasts = [a.first_seen for a in alerts], [a.last_seen for a in alerts]
        windows = [("alerts", min(firsts), max(lasts))] if alerts else []
    return activity_chart(data.activity(store, scope), windows)


def build_report(
    store: Store, *, incident_id: str | None = None, now: datetime | None = None
) -> Report:
    """What the report shows, read from the store; only one incident (and its alerts) when
    ``incident_id`` names one (UnknownIncident, an InputError, when it names none)."""
    alerts = list_alerts(store)
    if incident_id is not None:
        incidents = [get_incident(store, incident_id)]
        alerts = [a for a in alerts if a.id in set(incidents[0].alert_ids)]
    else:
        incidents = list_incidents(store)
    cases = [_case(store, i, alerts, several=len(incidents) > 1) for i in incidents]
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.severity] = counts.get(alert.severity, 0) + 1
    return Report(
        generated_at=now or utc_now(),
        version=__version__,
        store_name=store.path.name if store.path else "(in memory)",
        totals=data.totals(store),
        alerts=alerts,
        suppressed=0 if incident_id else count_suppressed(store),
        cases=cases,
        activity=_activity(store, cases, alerts),
        coverage=coverage_findings(store),
        sources=data.sources(store),
        only=incidents[0].id if incident_id is not None else None,
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


def write_report(
    store: Store, out: Path, *, incident_id: str | None = None, now: datetime | None = None
) -> Report:
    """Build the report from the store and write it to ``out``; returns what it holds."""
    report = build_report(store, incident_id=incident_id, now=now)
    write_atomically(render_report(report), out)
    return report
