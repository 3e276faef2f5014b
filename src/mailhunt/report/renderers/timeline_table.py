"""A timeline for people: one line per record (what, who, where, with what, its session and
what was new to its mailbox or user), or one per session with --sessions; every value from a
log escaped for the terminal."""

from __future__ import annotations

from datetime import datetime

from rich.console import ConsoleRenderable
from rich.table import Table
from rich.text import Text

from mailhunt.investigate.timeline import Session, Timeline, TimelineRow, TimelineView
from mailhunt.report.alerts import iso_utc
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import TIMELINE, Renderer

CLIENT_WIDTH = 40  # characters of a user agent shown


def _when(moment: datetime) -> str:
    return iso_utc(moment).replace("T", " ").removesuffix("Z")


def _where(ip: str | None, country: str | None, asn: int | None) -> str:
    place = ", ".join(part for part in (country, f"AS{asn}" if asn is not None else None) if part)
    return f"{ip or '-'}" + (f" ({place})" if place else "")


def _what(row: TimelineRow) -> list[str]:
    parts = [row.operation or row.kind]
    if row.result and row.result.lower() not in ("success", "succeeded", "true"):
        parts.append(f"result: {row.result}")
    if row.kind == "mail_access":
        read = f"{row.access_type or '?'} {row.messages or 0} msg"
        parts.append(read + (" (throttled)" if row.throttled else ""))
        parts += [", ".join(row.folders)] if row.folders else []
    elif row.object_id:
        parts.append(f"on {row.object_id}")
    return parts


def _who(actor: str | None, mailbox: str | None) -> str:
    if mailbox and actor and actor != mailbox:
        return f"{actor} -> {mailbox}"
    return mailbox or actor or "-"


def _rows_table(timeline: Timeline) -> Table:
    table = Table("time (UTC)", "what", "who", "where", "app", "client", "session", "new")
    for row in timeline.rows:
        table.add_row(
            _when(row.time),
            lines(_what(row)),
            cell(_who(row.actor, row.mailbox)),
            cell(_where(row.client_ip, row.country, row.asn)),
            lines([v for v in (row.app_name, row.app_id) if v] or ["-"]),
            cell((row.client or "-")[:CLIENT_WIDTH]),
            f"{row.session} {row.session_kind}",
            cell(", ".join(row.new_entities)),
        )
    return table


def _session_line(session: Session) -> list[Text | str]:
    return [
        str(session.number),
        cell(session.kind + (f"\n{session.session_id}" if session.session_id else "")),
        f"{_when(session.first_time)}\n{_when(session.last_time)}",
        str(session.records),
        lines(list(session.principals)),
        lines([*session.client_ips, *session.countries]),
        lines([*session.app_names, *session.app_ids]),
        lines([c[:CLIENT_WIDTH] for c in session.clients]),
        str(session.messages),
        cell(", ".join(session.new_entities)),
    ]


def _sessions_table(timeline: Timeline) -> Table:
    table = Table(
        "#", "session", "first / last (UTC)", "records", "whose", "where", "app", "client",
        "messages", "new",
    )  # fmt: skip
    for session in timeline.sessions:
        table.add_row(*_session_line(session))
    return table


def _footer(timeline: Timeline) -> str:
    chosen = timeline.selector
    span = "".join(
        f" {word} {_when(moment)}"
        for word, moment in (("from", timeline.since), ("until", timeline.until))
        if moment is not None
    )
    return (
        f"timeline of {chosen.flag} {chosen.value}{span}: {len(timeline.rows)} record(s) in "
        f"{len(timeline.sessions)} session(s); new: first seen for that mailbox or user in "
        "the whole store"
    )


def timeline_table(view: TimelineView) -> ConsoleRenderable:
    timeline = view.timeline
    table = _sessions_table(timeline) if view.sessions else _rows_table(timeline)
    return with_footer(table, _footer(timeline))


RENDERER = Renderer(TIMELINE, "table", timeline_table, "for people")
