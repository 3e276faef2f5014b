"""A blast radius for people: per mailbox, the folders synced whole, the blind windows, what
was done beside reading, and the messages read (the first 50 per mailbox; all in jsonl/csv)."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.investigate.model import BlastRadius
from mailhunt.report.renderers._table import cell, lines, with_footer
from mailhunt.report.renderers.base import BLAST_RADIUS, Renderer

MESSAGES_SHOWN = 50


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if hasattr(moment, "strftime") else ""


def blast_radius_table(radius: BlastRadius) -> ConsoleRenderable:
    incident = radius.incident
    boxes = Table(
        "mailbox",
        "first / last access",
        "records",
        "messages",
        "bind / sync",
        "sent",
        "changes",
        title=f"{incident.id}: {incident.title}",
    )
    for m in radius.mailboxes:
        boxes.add_row(
            cell(m.mailbox_upn),
            lines([_when(m.first_access), _when(m.last_access)]),
            cell(m.records),
            cell(m.messages_read),
            cell(f"{m.bind_records} / {m.sync_records}"),
            cell(m.messages_sent),
            cell(m.changes),
        )
    parts: list[ConsoleRenderable] = [boxes]
    if radius.syncs:
        syncs = Table("mailbox", "folder synced whole", "when", "messages known", title="syncs")
        for s in radius.syncs:
            syncs.add_row(
                cell(s.mailbox_upn),
                cell(s.folder_path or ""),
                cell(_when(s.first_sync)),
                cell(s.messages_known or "unknown"),
            )
        parts.append(syncs)
    if radius.blind_windows:
        blind = Table("mailbox", "from", "to", "meaning", title="blind windows")
        for w in radius.blind_windows:
            blind.add_row(
                cell(w.mailbox_upn),
                cell(_when(w.window_start)),
                cell(_when(w.window_end)),
                cell("unaudited: assume everything in this mailbox in this window was read"),
            )
        parts.append(blind)
    if radius.actions:
        actions = Table("when", "kind", "operation", "actor", "object", title="actions")
        for a in radius.actions:
            actions.add_row(
                cell(_when(a.time)),
                cell(a.kind),
                cell(a.operation or ""),
                cell(a.actor_upn or ""),
                cell(a.object_id or ""),
            )
        parts.append(actions)
    messages = Table(
        "mailbox", "folder", "Internet Message-ID", "size", "first read", title="messages read"
    )
    shown: dict[str, int] = {}
    for r in radius.messages:
        shown[r.mailbox_upn] = shown.get(r.mailbox_upn, 0) + 1
        if shown[r.mailbox_upn] <= MESSAGES_SHOWN:
            messages.add_row(
                cell(r.mailbox_upn),
                cell(r.folder_path or ""),
                cell(r.internet_message_id),
                cell(r.size_bytes if r.size_bytes is not None else ""),
                cell(_when(r.first_read)),
            )
    parts.append(messages)
    return with_footer(
        _stack(parts),
        f"{len(radius.mailboxes)} mailbox(es), {len(radius.messages)} message(s), "
        f"{len(radius.syncs)} folder(s) synced, {len(radius.blind_windows)} blind window(s), "
        f"{len(radius.records)} record(s)",
    )


def _stack(parts: list[ConsoleRenderable]) -> Table:
    grid = Table.grid()
    for part in parts:
        grid.add_row(part)
    return grid


RENDERER = Renderer(BLAST_RADIUS, "table", blast_radius_table, "for people")
