"""A small hand-built store for the notice tests: three tenants hit by one actor (a campaign
across Alpha and Bravo, Charlie's incident marked false-positive) and a fourth, Delta, with
only its own users' mail; every value fixed, so notices are golden. Built from the incident
tests' helpers (rows written straight into the tables), then ``build_incidents``.

Alpha: the intruder's application reads ann's mail (Bind, one throttled record: a blind
window), syncs bob's Inbox whole, and from the same session creates an inbox rule, sets
forwarding, grants a permission and is consented; a password spray from its address signs ann
in first. Bravo: the same application and address read ben's mail, also from an address only
Bravo saw. ``hostile`` puts a string in the attacker-chosen fields (rule name, forwarding
address, user agent, folder, mailbox names of Alpha).
"""

from __future__ import annotations

from typing import Any

from mailhunt.investigate.grouping import build_incidents
from mailhunt.investigate.incidents import list_incidents, set_incident
from mailhunt.store.db import Store
from tests.investigate.incident_world import (
    EVIL_APP,
    EVIL_IP,
    add_alert,
    add_events,
    admin,
    day,
    owner_history,
    read,
)

ALPHA = "alpha-tenant-0001.onmicrosoft.com"
BRAVO = "bbbbbbbb-0000-4000-8000-00000000b0b0"
CHARLIE = "Charlie/../../etc"  # a tenant id no folder may be named after as it is
DELTA = "delta-tenant-0004"
BRAVO_ONLY_IP = "192.0.2.201"
CHARLIE_IP = "192.0.2.77"
ANN = "ann@alpha.example"
BOB = "bob@alpha.example"
BEN = "ben@bravo.example"
CAROL = "carol@charlie.example"
DORA = "dora@delta.example"
RULE = "Move 'invoices' to RSS"


def _signin(record_id: str, hour: int, user: str, ip: str, error: int) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "time": day(0, hour),
        "tenant_id": ALPHA,
        "user_upn": user,
        "app_id": EVIL_APP,
        "client_ip": ip,
        "session_id": "alpha-session-1" if error == 0 else None,
        "unique_token_id": None,
        "interactive": True,
        "error_code": error,
        "source": "test",
    }


def _alpha(store: Store, hostile: str | None) -> None:
    h = hostile
    ann = ANN
    owner_history(store, ann, tenant=ALPHA)
    owner_history(store, BOB, tenant=ALPHA)
    evil = {"tenant": ALPHA, "app": EVIL_APP, "ip": EVIL_IP, "aad": "alpha-session-1"}
    inbox = h or "\\Inbox"
    add_events(
        store,
        [
            read(
                "rec-alpha-1",
                day(0, 10),
                ann,
                actor=ann,
                **evil,
                messages=(
                    (inbox, "<alpha-msg-1@alpha.example>"),
                    ("\\Inbox", "<alpha-msg-2@alpha.example>"),
                ),
            ),
            read(
                "rec-alpha-2",
                day(0, 11),
                ann,
                actor=ann,
                throttled=True,
                **evil,
                messages=(("\\Sent Items", "<alpha-msg-3@alpha.example>"),),
            ),
            read(
                "rec-alpha-3",
                day(0, 12),
                BOB,
                actor=ann,
                access="Sync",
                **evil,
                messages=(("\\Inbox", None),),
            ),  # type: ignore[arg-type]
        ],
    )
    store.run(
        "UPDATE events SET user_agent = ? WHERE record_id LIKE 'rec-alpha-%'",
        [h or "python-requests/2.31"],
    )
    rule = h or RULE
    forward = h or "drop@evil.example"
    add_events(
        store,
        [
            admin(
                "rec-alpha-4",
                day(0, 13),
                "New-InboxRule",
                ann,
                tenant=ALPHA,
                parameters=(("Name", rule), ("MoveToFolder", "RSS Feeds")),
                object_id=f"{ann}\\{rule}",
            ),
            admin(
                "rec-alpha-5",
                day(0, 13),
                "Set-Mailbox",
                ann,
                tenant=ALPHA,
                parameters=(
                    ("Identity", ann),
                    ("ForwardingSmtpAddress", f"smtp:{forward}"),
                    ("DeliverToMailboxAndForward", "True"),
                ),
            ),
            admin(
                "rec-alpha-6",
                day(0, 14),
                "Add-MailboxPermission",
                ann,
                tenant=ALPHA,
                parameters=(("Identity", BOB), ("User", ann), ("AccessRights", "FullAccess")),
            ),
            admin(
                "rec-alpha-7",
                day(0, 9),
                "Consent to application.",
                ann,
                tenant=ALPHA,
                parameters=(
                    ("ConsentContext.IsAdminConsent", "False"),
                    ("TargetId.ServicePrincipalNames", EVIL_APP),
                ),
            ),
        ],
    )
    store.run(
        "UPDATE events SET aad_session_id = 'alpha-session-1' "
        "WHERE record_id IN ('rec-alpha-4', 'rec-alpha-5', 'rec-alpha-6', 'rec-alpha-7')"
    )
    store.insert_rows(
        "signins",
        [
            _signin(f"sig-alpha-fail-{n}", 8, u, EVIL_IP, 50126)
            for n, u in enumerate((ANN, BOB, "cid@alpha.example"))
        ]
        + [_signin("sig-alpha-ok", 8, ANN, EVIL_IP, 0)],
    )
    add_alert(
        store,
        "alert-alpha-read",
        ["rec-alpha-1", "rec-alpha-2", "rec-alpha-3"],
        tenants=(ALPHA,),
        when=day(0, 10),
    )
    add_alert(
        store,
        "alert-alpha-rule",
        ["rec-alpha-4"],
        rule="inbox-rule-abuse",
        tenants=(ALPHA,),
        when=day(0, 13),
    )


def _bravo(store: Store) -> None:
    owner_history(store, BEN, tenant=BRAVO)
    add_events(
        store,
        [
            read(
                "rec-bravo-1",
                day(1, 10),
                BEN,
                tenant=BRAVO,
                app=EVIL_APP,
                ip=EVIL_IP,
                aad="bravo-session-9",
                messages=(("\\Inbox", "<bravo-msg-1@bravo.example>"),),
            ),
            read(
                "rec-bravo-2",
                day(1, 11),
                BEN,
                tenant=BRAVO,
                app=EVIL_APP,
                ip=BRAVO_ONLY_IP,
                aad="bravo-session-9",
                messages=(("\\Inbox", "<bravo-msg-2@bravo.example>"),),
            ),
        ],
    )
    add_alert(
        store, "alert-bravo-read", ["rec-bravo-1", "rec-bravo-2"], tenants=(BRAVO,), when=day(1, 10)
    )


def _charlie_and_delta(store: Store) -> None:
    add_events(
        store,
        [
            read(
                "rec-charlie-1",
                day(2),
                CAROL,
                tenant=CHARLIE,
                app=EVIL_APP,
                ip=CHARLIE_IP,
                aad="charlie-session",
                messages=(("\\Inbox", "<charlie-msg@charlie.example>"),),
            ),
            read(
                "rec-delta-1",
                day(2),
                DORA,
                tenant=DELTA,
                messages=(("\\Inbox", "<delta-msg@delta.example>"),),
            ),
        ],
    )
    add_alert(store, "alert-charlie", ["rec-charlie-1"], tenants=(CHARLIE,), when=day(2))


def build(store: Store, hostile: str | None = None) -> None:
    """The world; with ``hostile``, that string in Alpha's attacker-chosen fields."""
    _alpha(store, hostile)
    _bravo(store)
    _charlie_and_delta(store)
    add_alert(
        store,
        "alert-campaign",
        ["rec-alpha-1", "rec-alpha-2", "rec-alpha-3", "rec-bravo-1", "rec-bravo-2"],
        rule="cross-tenant-campaign",
        severity="critical",
        tenants=(ALPHA, BRAVO),
        when=day(0, 10),
    )
    build_incidents(store)
    for incident in list_incidents(store):
        if incident.tenant_ids == [CHARLIE]:
            set_incident(store, incident.id, status="false-positive", author="analyst", now=day(3))
