"""Incidents: alerts grouped by what links their evidence, with stable ids and a journal that
survives rebuilds."""

from __future__ import annotations

import pytest

from mailhunt.investigate.incidents import (
    UnknownIncident,
    build_incidents,
    get_incident,
    list_incidents,
    set_incident,
)
from mailhunt.store.db import Store
from tests.investigate.incident_world import (
    EVIL_APP,
    EVIL_IP,
    TENANT_A,
    TENANT_B,
    add_alert,
    add_events,
    admin,
    day,
    owner_history,
    read,
)


def _intrusion(store: Store) -> None:
    """An intruder's application reads two mailboxes of tenant A in one Entra session, and
    carol's mailbox a day later with another session from the same new address."""
    owner_history(store, "alice@a.example")
    add_events(
        store,
        [
            read(
                "x1",
                day(0),
                "alice@a.example",
                app=EVIL_APP,
                ip=EVIL_IP,
                aad="evil-1",
                messages=(("\\Inbox", "<m1@a>"),),
            ),
            read(
                "x2",
                day(0, 10),
                "bob@a.example",
                actor="alice@a.example",
                app=EVIL_APP,
                ip=EVIL_IP,
                aad="evil-1",
                messages=(("\\Inbox", "<m2@a>"),),
            ),
            read(
                "x3",
                day(1),
                "carol@a.example",
                app=EVIL_APP,
                ip=EVIL_IP,
                aad="evil-2",
                messages=(("\\Inbox", "<m3@a>"),),
            ),
        ],
    )
    add_alert(store, "alert-1", ["x1"], when=day(0))
    add_alert(store, "alert-2", ["x2"], rule="mailbox-first-seen-app", when=day(0, 10))
    add_alert(store, "alert-3", ["x3"], rule="new-network-for-mailbox", when=day(1))


def test_alerts_linked_by_session_app_and_address_make_one_incident(store: Store) -> None:
    _intrusion(store)
    summary = build_incidents(store)
    assert (summary.incidents, summary.new, summary.alerts) == (1, 1, 3)
    [incident] = list_incidents(store)
    assert incident.alert_ids == ["alert-1", "alert-2", "alert-3"]
    assert incident.event_ids == ["x1", "x2", "x3"]
    assert incident.messages == ["<m1@a>", "<m2@a>", "<m3@a>"]
    assert incident.mailboxes == ["alice@a.example", "bob@a.example", "carol@a.example"]
    assert incident.tenant_ids == [TENANT_A]
    assert incident.status == "new"
    assert incident.severity == "high"
    assert incident.id.startswith("INC-")


def test_alerts_far_apart_or_unlinked_are_separate_incidents(store: Store) -> None:
    add_events(
        store,
        [
            read("y1", day(0), "dan@a.example", app=EVIL_APP, ip="192.0.2.1", aad="s-1"),
            read("y2", day(30), "erin@a.example", app=EVIL_APP, ip="192.0.2.2", aad="s-2"),
            read("y3", day(0), "fay@a.example", app=None, ip="192.0.2.3", aad="s-3"),
        ],
    )
    add_alert(store, "a-1", ["y1"], when=day(0))
    add_alert(store, "a-2", ["y2"], when=day(30))
    add_alert(store, "a-3", ["y3"], when=day(0))
    assert build_incidents(store, window_days=7).incidents == 3


def test_suppressed_alerts_make_no_incident(store: Store) -> None:
    add_events(store, [read("z1", day(0), "dan@a.example", ip="192.0.2.9", aad="s-9")])
    add_alert(store, "a-9", ["z1"], suppressed_by=1)
    assert build_incidents(store).incidents == 0
    assert list_incidents(store) == []


def test_cross_tenant_intrusion_is_one_incident_per_tenant_linked_by_campaign(
    store: Store,
) -> None:
    add_events(
        store,
        [
            read("c1", day(0), "ann@a.example", app=EVIL_APP, ip=EVIL_IP, aad="ca"),
            read(
                "c2", day(0), "ben@b.example", tenant=TENANT_B, app=EVIL_APP, ip=EVIL_IP, aad="cb"
            ),
        ],
    )
    add_alert(store, "m-a", ["c1"])
    add_alert(store, "m-b", ["c2"], tenants=(TENANT_B,))
    add_alert(
        store,
        "camp",
        ["c1", "c2"],
        rule="cross-tenant-campaign",
        severity="critical",
        tenants=(TENANT_A, TENANT_B),
    )
    build_incidents(store)
    incidents = list_incidents(store)
    assert sorted(i.tenant_ids[0] for i in incidents) == [TENANT_A, TENANT_B]
    assert {i.campaign_id for i in incidents} == {"camp"}
    by_tenant = {i.tenant_ids[0]: i for i in incidents}
    assert by_tenant[TENANT_A].event_ids == ["c1"]
    assert by_tenant[TENANT_B].event_ids == ["c2"]
    assert by_tenant[TENANT_A].mailboxes == ["ann@a.example"]


def test_ids_are_stable_across_rebuilds_and_more_data(store: Store) -> None:
    _intrusion(store)
    build_incidents(store)
    [first] = list_incidents(store)
    build_incidents(store)
    add_events(
        store, [read("x4", day(2), "dave@a.example", app=EVIL_APP, ip=EVIL_IP, aad="evil-3")]
    )
    add_alert(store, "alert-4", ["x4"], when=day(2))
    summary = build_incidents(store)
    [after] = list_incidents(store)
    assert after.id == first.id
    assert summary.new == 0
    assert after.alert_ids[-1] == "alert-4"
    assert "x4" in after.event_ids


def test_two_incidents_linked_later_merge_into_the_older(store: Store) -> None:
    add_events(
        store,
        [
            read("p1", day(0), "dan@a.example", app=None, ip="192.0.2.10", aad="s-p1"),
            read("q1", day(1), "erin@a.example", app=None, ip="192.0.2.11", aad="s-q1"),
        ],
    )
    add_alert(store, "p", ["p1"], when=day(0))
    add_alert(store, "q", ["q1"], when=day(1))
    build_incidents(store)
    older, newer = list_incidents(store)
    set_incident(store, newer.id, note="looked at it", author="ana")
    # a record using both sessions links them
    add_events(
        store,
        [
            read(
                "pq",
                day(1, 12),
                "erin@a.example",
                app=None,
                ip="192.0.2.11",
                aad="s-p1",
                session="x",
            )
        ],
    )
    add_alert(store, "pq-alert", ["pq", "p1", "q1"], when=day(1, 12))
    summary = build_incidents(store)
    assert summary.merged == 1
    [merged] = list_incidents(store)
    assert merged.id == older.id
    assert merged.merged_ids == [newer.id]
    assert get_incident(store, newer.id).id == older.id
    assert [n.text for n in merged.notes if n.kind == "note"] == ["looked at it"]


def test_status_assignee_and_notes_survive_a_rebuild(store: Store) -> None:
    _intrusion(store)
    build_incidents(store)
    [incident] = list_incidents(store)
    set_incident(
        store,
        incident.id,
        status="contained",
        assignee="ana",
        note="sessions revoked",
        author="ana",
    )
    build_incidents(store)
    [again] = list_incidents(store)
    assert (again.status, again.assignee) == ("contained", "ana")
    assert [(n.kind, n.author) for n in again.notes] == [
        ("status", "ana"),
        ("assignee", "ana"),
        ("note", "ana"),
    ]
    assert list_incidents(store, status="new") == []


def test_unknown_id_and_bad_status_are_input_errors(store: Store) -> None:
    _intrusion(store)
    build_incidents(store)
    [incident] = list_incidents(store)
    with pytest.raises(UnknownIncident):
        get_incident(store, "INC-NOPE")
    with pytest.raises(Exception, match="unknown status"):
        set_incident(store, incident.id, status="closed")


def test_a_rebuild_is_skipped_when_the_alerts_did_not_change(store: Store) -> None:
    _intrusion(store)
    assert build_incidents(store, force=False).rebuilt
    assert not build_incidents(store, force=False).rebuilt
    add_alert(store, "late", ["x3"], when=day(1))
    assert build_incidents(store, force=False).rebuilt


def _two_intruders_one_mailbox(store: Store) -> None:
    """Two intruders read alice's mailbox the same day from their own new addresses and
    sessions, both with Outlook (Microsoft's: no key); one per-mailbox-and-day alert cites both
    reads. The first goes on to bob's mailbox, the second to carol's."""
    owner_history(store, "alice@a.example")
    add_events(
        store,
        [
            read("one-a", day(0), "alice@a.example", ip="203.0.113.10", aad="s-one"),
            read("two-a", day(0, 14), "alice@a.example", ip="203.0.113.20", aad="s-two"),
            read("one-b", day(1), "bob@a.example", ip="203.0.113.10", aad="s-one-2"),
            read("two-c", day(1, 14), "carol@a.example", ip="203.0.113.20", aad="s-two-2"),
        ],
    )
    add_alert(store, "day-alice", ["one-a", "two-a"], rule="sync-from-new-context", when=day(0))
    add_alert(store, "one-bob", ["one-b"], rule="new-network-for-mailbox", when=day(1))
    add_alert(store, "two-carol", ["two-c"], rule="new-network-for-mailbox", when=day(1, 14))


def test_one_alert_citing_two_intruders_is_in_two_incidents_that_it_does_not_link(
    store: Store,
) -> None:
    _two_intruders_one_mailbox(store)
    summary = build_incidents(store)
    assert (summary.incidents, summary.new, summary.merged) == (2, 2, 0)
    first, second = sorted(list_incidents(store), key=lambda i: i.event_ids)
    assert first.alert_ids == ["day-alice", "one-bob"]
    assert first.event_ids == ["one-a", "one-b"]
    assert first.mailboxes == ["alice@a.example", "bob@a.example"]
    assert second.alert_ids == ["day-alice", "two-carol"]
    assert second.event_ids == ["two-a", "two-c"]
    assert second.mailboxes == ["alice@a.example", "carol@a.example"]
    assert first.id != second.id
    rows = store.query(
        "SELECT incident_id FROM incident_alerts WHERE alert_id = 'day-alice' ORDER BY 1"
    )
    assert [r[0] for r in rows] == sorted([first.id, second.id])
    # a rebuild keeps both ids and merges nothing
    again = build_incidents(store)
    assert (again.incidents, again.new, again.merged) == (2, 0, 0)
    assert sorted(i.id for i in list_incidents(store)) == sorted([first.id, second.id])


def test_a_campaign_citing_two_intruders_of_a_tenant_does_not_merge_them(store: Store) -> None:
    """The campaign's indicator matched two intruders of tenant A (and one of tenant B): each
    keeps its incident, the campaign alert in each, and campaign_id links them."""
    add_events(
        store,
        [
            read("ca", day(0), "ann@a.example", app=EVIL_APP, ip=EVIL_IP, aad="ca"),
            read("cb", day(0), "ben@b.example", tenant=TENANT_B, app=EVIL_APP, ip=EVIL_IP),
            read("oa", day(0, 12), "otto@a.example", app=None, ip="192.0.2.77", aad="oa"),
        ],
    )
    add_alert(store, "m-a", ["ca"])
    add_alert(store, "m-b", ["cb"], tenants=(TENANT_B,))
    add_alert(store, "o-a", ["oa"], rule="new-network-for-mailbox", when=day(0, 12))
    add_alert(
        store,
        "camp",
        ["ca", "cb", "oa"],
        rule="cross-tenant-campaign",
        severity="critical",
        tenants=(TENANT_A, TENANT_B),
    )
    build_incidents(store)
    incidents = list_incidents(store)
    assert sorted((i.tenant_ids[0], i.event_ids) for i in incidents) == [
        (TENANT_A, ["ca"]),
        (TENANT_A, ["oa"]),
        (TENANT_B, ["cb"]),
    ]
    assert all("camp" in i.alert_ids for i in incidents)
    assert {i.campaign_id for i in incidents} == {"camp"}


def test_one_actor_in_two_sessions_from_a_known_address_stays_one_incident(store: Store) -> None:
    """An administrator grants herself alice's mailbox from the office address the tenant has
    used for a month and reads it in two sessions on two days: the alert citing all three is
    one actor's (the address, known or not, holds an alert's records together)."""
    office = "198.51.100.50"
    owner_history(store, "alice@a.example")
    add_events(
        store,
        [
            read(f"fat-{n}", day(n - 30), "fatima@a.example", ip=office, aad=f"fat-{n}")
            for n in range(30)
        ],
    )
    add_events(
        store,
        [
            admin(
                "grant",
                day(0),
                "Add-MailboxPermission",
                "fatima@a.example",
                ip=office,
                object_id="alice@a.example",
            ),
            read(
                "r1", day(0, 10), "alice@a.example", actor="fatima@a.example", ip=office, aad="s-a"
            ),
            read(
                "r2", day(1, 10), "alice@a.example", actor="fatima@a.example", ip=office, aad="s-b"
            ),
        ],
    )
    add_alert(store, "grant-read", ["grant", "r1", "r2"], rule="permission-grant-then-access")
    assert build_incidents(store).incidents == 1
    [incident] = list_incidents(store)
    assert incident.event_ids == ["grant", "r1", "r2"]
