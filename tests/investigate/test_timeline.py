"""The timeline: records of a mailbox, user, network or application in time order, sessions
reconstructed, entities new to their mailbox or user marked against the whole store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.errors import InputError
from mailhunt.investigate.timeline import Timeline, selector, timeline
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, ROGUE_APP, at
from tests.investigate.timeline_records import (
    ADMIN,
    ALICE,
    BOB,
    ENTRA_SESSION,
    HOSTILE_AGENT,
    INTRUDER,
    INTRUDER_V6,
    OFFICE,
    access,
    build,
)


@pytest.fixture
def built(store: Store, tmp_path: Path) -> Store:
    build(store, tmp_path)
    return store


def ids(found: Timeline) -> list[str]:
    return [row.record_id for row in found.rows]


def test_a_mailbox_in_time_order_sign_in_before_the_access(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 0))
    assert ids(found) == ["sx", "x1", "x2", "r1", "m1"]
    assert [row.kind for row in found.rows] == [
        "signin",
        "mail_access",
        "mail_access",
        "inbox_rule",
        "send",
    ]
    times = [row.time for row in found.rows]
    assert times == sorted(times)


def test_a_mail_access_row_says_what_who_where(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 0), until=at(6, 2, 30))
    signed, read = found.rows
    assert (signed.operation, signed.result, signed.actor, signed.client_ip) == (
        "Sign-in (interactive)",
        "Success",
        ALICE,
        INTRUDER,
    )
    assert (signed.app_id, signed.app_name, signed.country) == (OUTLOOK, "Microsoft Office", "US")
    assert (read.operation, read.actor, read.mailbox, read.client_ip) == (
        "MailItemsAccessed",
        ALICE,
        ALICE,
        INTRUDER,
    )
    assert (read.app_id, read.app_name, read.access_type, read.messages, read.folders) == (
        ROGUE_APP,
        None,  # no sign-in names it, and it is not Microsoft's
        "Bind",
        1,
        ("\\Inbox",),
    )
    assert (read.client, read.record_id, read.source) == ("Client=REST;", "x1", "m365-ual-json")


def test_the_range_keeps_since_and_drops_until(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 2, 1), until=at(6, 4))
    assert ids(found) == ["x1", "x2"]


def test_since_after_until_is_refused(built: Store) -> None:
    with pytest.raises(InputError, match="before"):
        timeline(built, selector(mailbox=ALICE), since=at(6), until=at(5))


# -- sessions -------------------------------------------------------------------------------------


def test_an_entra_session_holds_the_sign_in_and_the_access_it_made(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 0))
    sx, x1, x2, r1, m1 = found.rows
    assert sx.session == x1.session == x2.session
    assert (sx.session_kind, sx.session_id) == ("entra", ENTRA_SESSION)
    assert len({sx.session, r1.session, m1.session}) == 3
    [entra] = [s for s in found.sessions if s.number == sx.session]
    assert (entra.kind, entra.session_id, entra.records, entra.first_time, entra.last_time) == (
        "entra",
        ENTRA_SESSION,
        3,
        at(6, 2),
        at(6, 2, 50),
    )
    assert (entra.client_ips, entra.app_ids, entra.kinds, entra.messages) == (
        (INTRUDER,),
        (OUTLOOK, ROGUE_APP),
        ("mail_access", "signin"),
        2,
    )
    assert [s.number for s in found.sessions] == list(range(1, len(found.sessions) + 1))


def test_without_session_ids_a_pause_longer_than_the_gap_ends_a_session(
    store: Store, tmp_path: Path
) -> None:
    bursts = [
        access("g1", at(8, 10), BOB, ip=OFFICE),
        access("g2", at(8, 10, 20), BOB, ip=OFFICE),
        access("g3", at(8, 10, 45), BOB, ip=OFFICE),  # 25 minutes: same session
        access("g4", at(8, 11, 30), BOB, ip=OFFICE),  # 45 minutes: a new one
        access("g5", at(8, 11, 31), BOB, ip=INTRUDER),  # another address: another session
        access("g6", at(8, 11, 32), BOB, ip=OFFICE, exchange="ex-1"),  # an Exchange session
        access("g7", at(8, 11, 33), BOB, ip=OFFICE, exchange="ex-1"),
    ]
    build(store, tmp_path, bursts)
    found = timeline(store, selector(mailbox=BOB), since=at(8))
    sessions = {row.record_id: row.session for row in found.rows}
    assert sessions["g1"] == sessions["g2"] == sessions["g3"]
    assert len({sessions["g3"], sessions["g4"], sessions["g5"], sessions["g6"]}) == 4
    assert sessions["g6"] == sessions["g7"]
    assert [row.session_kind for row in found.rows] == ["inferred"] * 5 + ["exchange"] * 2
    assert [(s.kind, s.records) for s in found.sessions] == [
        ("inferred", 3),
        ("inferred", 1),
        ("inferred", 1),
        ("exchange", 2),
    ]
    wider = timeline(store, selector(mailbox=BOB), since=at(8), gap_minutes=60)
    assert len({row.session for row in wider.rows if row.record_id in ("g1", "g4")}) == 1


# -- first seen -----------------------------------------------------------------------------------


def test_entities_are_new_against_the_history_before_the_range(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 0))
    new = {row.record_id: row.new_entities for row in found.rows}
    assert new["sx"] == ("ip",)  # her usual app and country, a new address
    assert new["x1"] == ("app",)  # the address was first seen a minute before, in the sign-in
    assert new["x2"] == ()
    assert new["m1"] == ("client",)  # Outlook on the web: her first time, from home
    first_day = timeline(built, selector(mailbox=ALICE), until=at(0, 23))
    assert [row.new_entities for row in first_day.rows] == [("ip", "app", "country"), ("client",)]
    later = timeline(built, selector(mailbox=ALICE), since=at(3), until=at(4))
    assert all(row.new_entities == () for row in later.rows)


def test_country_and_asn_come_from_ip_info(built: Store) -> None:
    built.insert_rows(
        "ip_info",
        [
            {"ip": "203.0.113.10", "country": "GB", "asn": 2856, "as_org": "BT"},
            {"ip": INTRUDER, "country": "NL", "asn": 20473, "as_org": "AS-CHOOPA"},
        ],
    )
    found = timeline(built, selector(mailbox=ALICE), since=at(6, 0), until=at(6, 2, 30))
    sx, x1 = found.rows
    assert (x1.country, x1.asn, x1.as_org) == ("NL", 20473, "AS-CHOOPA")
    assert sx.new_entities == ("ip", "country", "asn")
    assert x1.new_entities == ("app",)


def test_for_an_address_each_row_is_judged_for_its_own_mailbox(built: Store) -> None:
    found = timeline(built, selector(ip=INTRUDER))
    assert ids(found) == ["sx", "x1", "x2", "r1"]
    assert [row.principal for row in found.rows] == [ALICE, ALICE, ALICE, ADMIN]
    assert found.rows[3].new_entities == ("ip",)


# -- selectors ------------------------------------------------------------------------------------


def test_a_mailbox_holds_what_acted_on_it_and_cmdlets_naming_it(built: Store) -> None:
    found = timeline(built, selector(mailbox=ALICE.upper()), since=at(6, 0))
    assert "r1" in ids(found)  # the administrator's New-InboxRule naming her in a parameter
    assert "x3" not in ids(found)  # bob's mailbox
    assert all(row.principal == ALICE for row in found.rows)


def test_a_user_is_what_the_user_did(built: Store) -> None:
    assert ids(timeline(built, selector(user=ADMIN))) == ["r1"]
    found = timeline(built, selector(user=BOB), since=at(4))
    assert ids(found) == ["b-4", "x3"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (INTRUDER, ["sx", "x1", "x2", "r1"]),
        ("45.77.0.0/16", ["sx", "x1", "x2", "r1"]),
        ("2001:db8::7", ["x3"]),  # stored as 2001:db8:0:0::7
        ("2001:db8::/32", ["x3"]),
        ("::ffff:45.77.12.34", ["sx", "x1", "x2", "r1"]),
        ("::/0", ["x3"]),  # no IPv4 address is in an IPv6 network
        ("10.0.0.0/8", []),
    ],
)
def test_an_address_or_a_network(built: Store, given: str, expected: list[str]) -> None:
    assert ids(timeline(built, selector(ip=given))) == expected


def test_an_application_as_client_or_resource(built: Store) -> None:
    assert ids(timeline(built, selector(app=ROGUE_APP.upper()))) == ["x1", "x2", "x3"]
    found = timeline(built, selector(app=OUTLOOK), since=at(4, 0), until=at(5, 0))
    assert ids(found) == ["sa-4", "a-4", "b-4"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "exactly one"),
        ({"mailbox": ALICE, "ip": INTRUDER}, "exactly one"),
        ({"user": "  "}, "--user is empty"),
        ({"ip": "45.77.12.345"}, "not an IP address or CIDR"),
        ({"ip": "10.0.0.0/33"}, "not an IP address or CIDR"),
    ],
)
def test_a_bad_selector_is_one_line(given: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message) as raised:
        selector(**given)
    assert "\n" not in str(raised.value)


# -- hostile text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "alice@contoso.onmicrosoft.com' OR '1'='1",
        "x'; DROP TABLE events; --",
        "%",
        "$value",
        "{rows}",
    ],
)
def test_a_hostile_selector_is_a_value_never_sql(built: Store, hostile: str) -> None:
    stored = built.count("events")
    for kind in ("mailbox", "user", "app"):
        assert timeline(built, selector(**{kind: hostile})).rows == ()
    assert built.count("events") == stored == 15


def test_a_hostile_user_agent_stays_data(built: Store) -> None:
    found = timeline(built, selector(user=BOB), since=at(6, 0))
    [row] = found.rows
    assert row.client == HOSTILE_AGENT
    assert row.client_ip == INTRUDER_V6
    assert row.new_entities == ("ip", "app", "client")
