"""Blast radius: every record of the intruder's sessions, tokens, application and new
addresses, and only those; Sync folders counted, blind windows listed, actions named."""

from __future__ import annotations

from mailhunt.investigate.incidents import blast_radius, build_incidents, list_incidents
from mailhunt.store.db import Store
from tests.investigate.incident_world import (
    EVIL_IP,
    HOME_IP,
    OUTLOOK,
    add_alert,
    add_events,
    admin,
    day,
    owner_history,
    read,
)

VICTIM = "alice@a.example"


def _world(store: Store) -> None:
    """The owner reads her mailbox from home every day with Outlook; an intruder with a
    forged token on Outlook reads it from a new address, syncs a folder, throttles the audit
    and adds an inbox rule. A delegate reads it as always. Only one intruder read is cited."""
    owner = owner_history(store, VICTIM)
    delegate = [
        read(
            f"del-{n}",
            day(n - 30, 11),
            VICTIM,
            actor="deputy@a.example",
            ip="198.51.100.8",
            aad=f"del-{n}",
            messages=(("\\Inbox", f"<del-{n}@x>"),),
        )
        for n in range(40)
    ]
    # what the Archive folder is known to hold: the owner's reads of three messages there
    archive = [
        read(
            f"arc-{n}",
            day(-10 + n, 8),
            VICTIM,
            aad=f"arc-{n}",
            messages=(("\\Archive", f"<arc-{n}@x>"),),
        )
        for n in range(3)
    ]
    intruder = [
        read(
            "i1",
            day(0),
            VICTIM,
            app=OUTLOOK,
            ip=EVIL_IP,
            aad="evil",
            token="t-evil",
            messages=(("\\Inbox", "<own-ali-30@x>"), ("\\Inbox", "<secret@x>")),
        ),
        read(
            "i2",
            day(0, 10),
            VICTIM,
            app=OUTLOOK,
            ip=EVIL_IP,
            aad="evil",
            token="t-evil",
            access="Sync",
            messages=(("\\Archive", None),),
        ),  # type: ignore[arg-type]
        read(
            "i3",
            day(0, 11),
            VICTIM,
            app=OUTLOOK,
            ip=EVIL_IP,
            aad="evil",
            token="t-evil",
            throttled=True,
            messages=(("\\Inbox", "<late@x>"),),
        ),
        admin(
            "i4",
            day(0, 12),
            "New-InboxRule",
            VICTIM,
            parameters=(("Name", "."), ("DeleteMessage", "True")),
            object_id="Alice@a.example\\.",
        ),
    ]
    add_events(store, delegate + archive + intruder)
    add_alert(store, "forged", ["i1"], when=day(0))
    del owner


def test_intruder_records_in_and_owner_and_delegate_out(store: Store) -> None:
    _world(store)
    build_incidents(store)
    [incident] = list_incidents(store)
    assert incident.event_ids == ["i1", "i2", "i3", "i4"]
    assert incident.messages == ["<late@x>", "<own-ali-30@x>", "<secret@x>"]
    radius = blast_radius(store, incident.id)
    links = {r.record_id: r.link for r in radius.records}
    assert links == {"i1": "evidence", "i2": "session", "i3": "session", "i4": "ip"}


def test_sync_folder_is_counted_and_blind_window_listed(store: Store) -> None:
    _world(store)
    build_incidents(store)
    [incident] = list_incidents(store)
    radius = blast_radius(store, incident.id)
    [sync] = radius.syncs
    assert (sync.mailbox_upn, sync.folder_path, sync.messages_known) == (VICTIM, "\\Archive", 3)
    [window] = radius.blind_windows
    assert (window.mailbox_upn, window.record_id) == (VICTIM, "i3")
    assert incident.blind_windows == radius.blind_windows
    [box] = radius.mailboxes
    assert (box.bind_records, box.sync_records, box.folders_synced, box.blind_windows) == (
        2,
        1,
        1,
        1,
    )
    assert box.messages_read == 3 and box.changes == 1


def test_actions_name_the_rule(store: Store) -> None:
    _world(store)
    build_incidents(store)
    [incident] = list_incidents(store)
    [action] = blast_radius(store, incident.id).actions
    assert (action.kind, action.operation, action.record_id) == (
        "inbox-rule",
        "New-InboxRule",
        "i4",
    )
    assert ("DeleteMessage", "True") in action.parameters


def test_a_shared_address_with_history_is_no_key(store: Store) -> None:
    """The intruder comes from a VPN egress the tenant's users have used for weeks: records of
    others from that address are not attributed, the intruder's session still is."""
    owner_history(store, VICTIM)
    vpn = "192.0.2.200"
    add_events(
        store,
        [
            read(f"vpn-{n}", day(n - 20, 15), "bob@a.example", ip=vpn, aad=f"b-{n}")
            for n in range(25)
        ]
        + [
            read("v1", day(0), VICTIM, ip=vpn, aad="evil", token="tv"),
            read("v2", day(0, 10), VICTIM, ip=vpn, aad="evil", token="tv"),
        ],
    )
    add_alert(store, "vpn-alert", ["v1"])
    build_incidents(store)
    [incident] = list_incidents(store)
    assert incident.event_ids == ["v1", "v2"]
    assert HOME_IP not in {r.client_ip for r in blast_radius(store, incident.id).records}
