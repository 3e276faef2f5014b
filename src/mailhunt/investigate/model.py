"""What an investigation answers with: incidents and their blast radius, as typed rows.

The contract other parts build on (timeline, exports, HTML report, notices): these frozen
dataclasses, read from the store by :mod:`mailhunt.investigate.incidents`
(``list_incidents``, ``get_incident``, ``blast_radius``). Fields are added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The states an incident moves through (mailhunt incident set --status), first the default.
STATUSES = ("new", "investigating", "contained", "resolved", "false-positive")


@dataclass(frozen=True)
class Note:
    """One entry of an incident's journal: a note, or a change of status or assignee."""

    noted_at: datetime
    author: str
    kind: str  # note, status, assignee or merge
    text: str


@dataclass(frozen=True)
class BlindWindow:
    """A throttled window of one of the incident's mailboxes: unaudited, so everything in the
    mailbox in the window is presumed read."""

    tenant_id: str
    mailbox_upn: str
    window_start: datetime
    window_end: datetime
    reason: str
    record_id: str


@dataclass(frozen=True)
class Incident:
    """One incident: linked alerts, and the records and messages attributed to the intruder."""

    id: str
    title: str
    severity: str
    status: str
    assignee: str | None
    tenant_ids: list[str]
    mailboxes: list[str]
    users: list[str]
    app_ids: list[str]
    client_ips: list[str]
    alert_ids: list[str]
    campaign_id: str | None
    first_seen: datetime
    last_seen: datetime
    event_count: int
    message_count: int
    created_at: datetime
    updated_at: datetime
    event_ids: list[str] = field(default_factory=list)  # every record attributed, sorted
    messages: list[str] = field(default_factory=list)  # Internet Message-IDs read, sorted
    blind_windows: list[BlindWindow] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # oldest first
    merged_ids: list[str] = field(default_factory=list)  # incidents merged into this one


@dataclass(frozen=True)
class MailboxAccess:
    """What the intruder did in one mailbox."""

    tenant_id: str
    mailbox_upn: str
    first_access: datetime
    last_access: datetime
    records: int
    messages_read: int
    bind_records: int
    sync_records: int
    folders_synced: int
    messages_sent: int
    changes: int
    blind_windows: int


@dataclass(frozen=True)
class MessageRead:
    """One message the intruder read (Bind)."""

    tenant_id: str
    mailbox_upn: str
    folder_path: str | None
    internet_message_id: str
    size_bytes: int | None
    subject: str | None
    first_read: datetime
    last_read: datetime
    reads: int
    record_ids: list[str]


@dataclass(frozen=True)
class FolderSync:
    """One folder the intruder synced whole: every message in it is presumed read."""

    tenant_id: str
    mailbox_upn: str
    folder_path: str | None
    first_sync: datetime
    last_sync: datetime
    syncs: int
    messages_known: int  # distinct message ids ever seen in that folder (a lower bound; 0: unknown)
    record_ids: list[str]


@dataclass(frozen=True)
class RelatedAction:
    """Something the intruder did beside reading: mail sent, a rule, forwarding, a permission."""

    record_id: str
    tenant_id: str
    time: datetime
    kind: str  # send, inbox-rule, forwarding, permission, consent, audit or other
    operation: str | None
    actor_upn: str | None
    mailbox_upn: str | None
    object_id: str | None
    parameters: list[tuple[str, str | None]]


@dataclass(frozen=True)
class AttributedRecord:
    """One record attributed to the intruder, and why."""

    record_id: str
    table_name: str  # events or signins
    tenant_id: str | None
    time: datetime
    mailbox_upn: str | None
    actor_upn: str | None
    operation: str | None
    client_ip: str | None
    link: str  # evidence, session, token, app or ip


@dataclass(frozen=True)
class BlastRadius:
    """Everything an incident's intruder touched, per mailbox, message, folder and action."""

    incident: Incident
    mailboxes: list[MailboxAccess]
    messages: list[MessageRead]
    syncs: list[FolderSync]
    blind_windows: list[BlindWindow]
    actions: list[RelatedAction]
    records: list[AttributedRecord]
