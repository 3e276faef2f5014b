"""Suppressions: what a user gives is checked and normalised; the SQL join in the alert writer
matches detections on every field given (client networks by integer arithmetic, checked against
Python's ipaddress); matched detections are stored, counted and hidden, never new alerts."""

from __future__ import annotations

import ipaddress
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailhunt.alerts.query import count_suppressed, list_alerts
from mailhunt.alerts.suppressions import (
    add_suppression,
    ip_keys_sql,
    list_suppressions,
    matches_sql,
    network,
    remove_suppression,
    request,
)
from mailhunt.detect.base import Analytic
from mailhunt.detect.runner import run_detections
from mailhunt.errors import InputError
from mailhunt.store.db import Store

NOW = datetime(2024, 4, 12, 9, 0, tzinfo=UTC)
TENANT = "7F1C9E2A-4B7D-4E8A-9C31-2D5E6F708192"
APP = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
ALICE = "alice@contoso.com"


def sql_text(value: object) -> str:
    """A SQL literal for the fixed test values below (test data, not user input)."""
    if isinstance(value, list):
        return "[" + ", ".join(sql_text(v) for v in value) + "]::VARCHAR[]"
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def detection(entity: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "entity": json.dumps([entity]),
        "tenant_ids": [TENANT],
        "mailboxes": [ALICE, "bob@contoso.com"],
        "users": ["svc@contoso.com"],
        "app_ids": [APP.upper()],
        "client_ips": ["45.77.191.159", None, "2001:db8::7"],
        "event_ids": [f"{entity}-1"],
    }
    row.update(changes)
    return row


def fake(rows: list[dict[str, Any]], rule: str = "fake-rule") -> Analytic:
    """An analytic whose SQL returns the given detection rows."""
    selects = [
        "SELECT "
        + ", ".join(
            [
                f"{sql_text(r['entity'])} AS entity",
                "TIMESTAMPTZ '2024-04-11 00:00:00+00' AS bucket",
                "'high' AS severity",
                "'summary' AS summary",
                *(
                    f"{sql_text(r[name])} AS {name}"
                    for name in ("tenant_ids", "mailboxes", "users", "app_ids", "client_ips")
                ),
                "TIMESTAMPTZ '2024-04-11 02:00:00+00' AS first_seen",
                "TIMESTAMPTZ '2024-04-11 03:00:00+00' AS last_seen",
                f"{sql_text(r['event_ids'])} AS event_ids",
            ]
        )
        for r in rows
    ]
    return Analytic(
        id=rule,
        title="A fake rule",
        severity="high",
        technique="T1114.002",
        doc="",
        sql=" UNION ALL ".join(selects),
        tables=(),
    )


def suppress(store: Store, **given: Any) -> int:
    return add_suppression(store, request(reason="test", now=NOW, **given), created_by="t")[0]


def shown(store: Store) -> list[str]:
    return sorted(json.loads(a.entity)[0] for a in list_alerts(store))


# -- what a user gives -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("45.77.191.159", "45.77.191.159/32"),
        (" 2001:DB8::1/32 ", "2001:db8::/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("::ffff:1.2.3.4", "1.2.3.4/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_network_is_canonical(given: str, expected: str) -> None:
    assert network(given) == expected


@pytest.mark.parametrize("given", ["10.0.0.0/33", "10.0.0", "example.com", "", "1.2.3.4/-1"])
def test_network_refuses_what_is_no_network(given: str) -> None:
    with pytest.raises(InputError, match="is not an IP address or CIDR network"):
        network(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("2W", NOW + timedelta(weeks=2)),
        ("2024-06-30", datetime(2024, 6, 30, tzinfo=UTC)),
        ("2024-06-30T12:00:00", datetime(2024, 6, 30, 12, tzinfo=UTC)),
        ("2024-06-30T12:00:00+02:00", datetime(2024, 6, 30, 10, tzinfo=UTC)),
    ],
)
def test_expiry_forms(given: str, expected: datetime) -> None:
    got = request(reason="r", rule_id="x", expires=given, now=NOW).expires_at
    assert got == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("2024-01-01", "is not in the future"),
        ("0d", "is not in the future"),
        ("soon", "is not a duration"),
        ("30 days", "is not a duration"),
    ],
)
def test_expiry_refused(given: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        request(reason="r", rule_id="x", expires=given, now=NOW)


def test_request_normalises_and_checks() -> None:
    given = request(
        reason="  known scanner ",
        tenant_id=TENANT,
        app_id=APP.upper(),
        mailbox="Alice@Contoso.com",
        user_upn="SVC@contoso.com",
        ip="45.77.191.1/24",
        now=NOW,
    )
    assert given.reason == "known scanner"
    assert (given.tenant_id, given.app_id) == (TENANT.lower(), APP)
    assert (given.mailbox, given.user_upn, given.cidr) == (
        ALICE,
        "svc@contoso.com",
        "45.77.191.0/24",
    )
    assert given.expires_at is None
    with pytest.raises(InputError, match="--reason must say why"):
        request(reason=" ", rule_id="x")
    with pytest.raises(InputError, match="give at least one of --rule"):
        request(reason="everything", mailbox=" ")
    with pytest.raises(InputError, match=r"--rule 'nope' is no rule \(known: a, b\)"):
        request(reason="r", rule_id="nope", known_rules=("a", "b"))


# -- addresses as integers, networks by prefix -----------------------------------------------------

ADDRESS_TEXTS = [
    "1.2.3.4",
    "255.255.255.255",
    "0.0.0.0",  # noqa: S104 - an address as data
    " 10.0.0.1 ",
    "::",
    "::1",
    "1::",
    "2001:db8::8a2e:370:7334",
    "2001:0DB8:0000:0000:0000:ff00:0042:8329",
    "::ffff:1.2.3.4",
    "::ffff:102:304",
    "fe80::1%eth0",
    "[2001:db8::1]",
    "1:2:3:4:5:6:7:8",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::1.2.3.4",
    "64:ff9b::10.0.0.1",
    "1:2:3:4:5:6:1.2.3.4",
]
NOT_ADDRESSES = [
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":::",
    "12345::",
    "g::1",
    "",
    "abc",
    "1:2:3:4::5:6:7:8",
    "1:2:3:4:5:6:7",
    ":1::",
    "1::2:",
    "1:2:3:4:5:6:7:1.2.3.4",
    "'; DROP TABLE alerts; --",
]


def python_key(text: str) -> int:
    address = ipaddress.ip_address(text.strip().strip("[]").split("%")[0])
    return 0xFFFF_0000_0000 + int(address) if address.version == 4 else int(address)


def keys(store: Store, texts: list[str | None]) -> dict[int, int | None]:
    store.run(
        "CREATE OR REPLACE TEMP TABLE ip_texts AS "
        "SELECT generate_subscripts($t, 1) AS k, unnest($t) AS ip",
        {"t": texts},
    )
    sql = ip_keys_sql("SELECT k, ip FROM ip_texts")
    rows = store.query(f"SELECT k, CAST(ip_key AS VARCHAR) FROM ({sql})")
    return {int(k): None if key is None else int(key) for k, key in rows}


def test_addresses_become_the_integers_python_gives(store: Store) -> None:
    rng = random.Random(9)  # noqa: S311 - test data
    texts = [
        *ADDRESS_TEXTS,
        *(str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(300)),
        *(
            str(ipaddress.IPv6Address(rng.getrandbits(rng.choice([128, 112, 64]))))
            for _ in range(300)
        ),
    ]
    found = keys(store, [*texts, *NOT_ADDRESSES, None])
    assert [found[n + 1] for n in range(len(texts))] == [python_key(t) for t in texts]
    assert [found[len(texts) + n + 1] for n in range(len(NOT_ADDRESSES) + 1)] == [None] * (
        len(NOT_ADDRESSES) + 1
    )


def test_networks_hold_what_python_says_they_hold(store: Store) -> None:
    """Each candidate pairs one address with one network (through a rule id only that
    network's suppression names): the SQL's matches are exactly Python's memberships."""
    rng = random.Random(7)  # noqa: S311 - test data
    addresses = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(40)]
    addresses += [ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(40)]
    networks = [
        ipaddress.ip_network(f"{a}/{rng.randrange(0, a.max_prefixlen + 1)}", strict=False)
        for a in rng.sample(addresses, 30)
    ]
    networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    texts = [str(a) for a in addresses]
    # the same IPv4 addresses written as IPv4-mapped IPv6 are inside the same networks
    texts += [f"::ffff:{a}" for a in addresses[:10]]
    parsed = [ipaddress.ip_address(t) for t in texts]
    parsed = [p.ipv4_mapped if p.version == 6 and p.ipv4_mapped else p for p in parsed]
    store.run(
        "CREATE TEMP TABLE nets AS SELECT generate_subscripts($n, 1) AS id, "
        "'n' || generate_subscripts($n, 1) AS rule_id, NULL AS tenant_id, NULL AS app_id, "
        "NULL AS mailbox, NULL AS user_upn, unnest($n) AS cidr",
        {"n": [network(str(n)) for n in networks]},
    )
    store.run(
        "CREATE TEMP TABLE cands AS SELECT a || '-' || n AS id, 'n' || n AS rule_id, "
        "[]::VARCHAR[] AS tenant_ids, []::VARCHAR[] AS app_ids, []::VARCHAR[] AS mailboxes, "
        "[]::VARCHAR[] AS users, [$t[a]] AS client_ips "
        "FROM range(1, len($t) + 1) r(a), range(1, $count + 1) s(n)",
        {"t": texts, "count": len(networks)},
    )
    rows = store.query(matches_sql("SELECT * FROM cands", "SELECT * FROM nets"))
    expected = {
        f"{a + 1}-{n + 1}"
        for a, address in enumerate(parsed)
        for n, net in enumerate(networks)
        if address.version == net.version and address in net
    }
    assert {row[0] for row in rows} == expected
    assert len(expected) > len(networks)  # every network holds its own address at least


# -- the join in the alert writer ----------------------------------------------------------------

MATCHING: list[tuple[str, str]] = [
    ("rule_id", "fake-rule"),
    ("tenant_id", TENANT),
    ("app_id", APP),
    ("mailbox", "BOB@contoso.com"),
    ("user_upn", "svc@contoso.com"),
    ("ip", "45.77.191.0/24"),
    ("ip", "2001:db8::/64"),
]
NOT_MATCHING: list[tuple[str, str]] = [
    ("rule_id", "token-without-signin"),
    ("tenant_id", "0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f"),
    ("app_id", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
    ("mailbox", "carol@contoso.com"),
    ("user_upn", ALICE),
    ("ip", "45.77.192.0/24"),
    ("ip", "2001:db9::/32"),
]


@pytest.mark.parametrize(("field", "value"), MATCHING, ids=str)
def test_a_matching_field_suppresses(store: Store, field: str, value: str) -> None:
    number = suppress(store, **{field: value})
    summary = run_detections(store, analytics=[fake([detection("a")])])
    assert (summary.detections, summary.new_alerts, summary.suppressed) == (
        {"fake-rule": 1},
        {"fake-rule": 0},
        {"fake-rule": 1},
    )
    assert shown(store) == []
    assert count_suppressed(store) == 1
    [alert] = list_alerts(store, include_suppressed=True)
    assert alert.suppressed_by == number


@pytest.mark.parametrize(("field", "value"), NOT_MATCHING, ids=str)
def test_every_given_field_must_match(store: Store, field: str, value: str) -> None:
    # the other fields match; this one does not
    suppress(store, **{**dict(m for m in MATCHING if m[0] != field), field: value})
    summary = run_detections(store, analytics=[fake([detection("a")])])
    assert (summary.new_alerts, summary.suppressed) == ({"fake-rule": 1}, {"fake-rule": 0})
    assert shown(store) == ["a"]


def test_only_matching_detections_are_suppressed_and_the_oldest_suppression_holds(
    store: Store,
) -> None:
    first = suppress(store, mailbox="carol@contoso.com")
    second = suppress(store, ip="10.0.0.0/8")
    third = suppress(store, rule_id="fake-rule", ip="10.9.9.9")
    rows = [
        detection("carol", mailboxes=["carol@contoso.com"], client_ips=["10.9.9.9"]),
        detection("ten", client_ips=["10.9.9.9"]),
        detection("free"),
        detection("no-ip", client_ips=[]),
    ]
    run_detections(store, analytics=[fake(rows)])
    held = {
        json.loads(a.entity)[0]: a.suppressed_by
        for a in list_alerts(store, include_suppressed=True)
    }
    assert held == {"carol": first, "ten": second, "free": None, "no-ip": None}
    assert third not in held.values()
    assert shown(store) == ["free", "no-ip"]


def test_values_are_data_never_sql(store: Store) -> None:
    hostile = "o'brien'); DROP TABLE alerts; --@contoso.com"
    suppress(store, mailbox=hostile, user_upn="x' OR '1'='1")
    suppress(store, mailbox=hostile)
    run_detections(store, analytics=[fake([detection("a", mailboxes=[hostile]), detection("b")])])
    assert shown(store) == ["b"]
    assert [s.mailbox for s in list_suppressions(store)] == [hostile.lower()] * 2


def test_expired_suppression_spares_new_detections_but_keeps_what_it_held(store: Store) -> None:
    number = suppress(store, app_id=APP)
    run_detections(store, analytics=[fake([detection("old")])])
    store.run("UPDATE suppressions SET expires_at = now() - INTERVAL 1 DAY")
    summary = run_detections(store, analytics=[fake([detection("old"), detection("new")])])
    assert summary.new_alerts == {"fake-rule": 1}
    assert summary.suppressed == {"fake-rule": 1}
    assert shown(store) == ["new"]
    [listed] = list_suppressions(store)
    assert (listed.id, listed.active, listed.alerts) == (number, False, 1)


def test_adding_applies_to_stored_alerts(store: Store) -> None:
    run_detections(store, analytics=[fake([detection("a"), detection("b", app_ids=["other"])])])
    assert shown(store) == ["a", "b"]
    number, held = add_suppression(store, request(reason="r", app_id=APP), created_by="me")
    assert held == 1
    assert shown(store) == ["b"]
    [listed] = list_suppressions(store)
    assert (listed.created_by, listed.alerts, listed.active) == ("me", 1, True)
    # a second suppression matching the same alert holds nothing new
    assert add_suppression(store, request(reason="r", rule_id="fake-rule"), created_by="me")[1] == 1
    assert listed.id == number


def test_removing_matches_its_alerts_against_the_others(store: Store) -> None:
    first = suppress(store, app_id=APP)
    second = suppress(store, ip="45.77.191.159")
    run_detections(store, analytics=[fake([detection("a"), detection("b", client_ips=[])])])
    assert shown(store) == []
    assert remove_suppression(store, first) == (2, 1)  # b is listed again, a held by the second
    assert {a.suppressed_by for a in list_alerts(store, include_suppressed=True)} == {second, None}
    assert shown(store) == ["b"]
    with pytest.raises(InputError, match=f"no suppression {first}"):
        remove_suppression(store, first)
    assert remove_suppression(store, second) == (1, 1)
    assert shown(store) == ["a", "b"]
    assert list_suppressions(store) == []


def test_rerun_keeps_counts_and_ids(store: Store) -> None:
    suppress(store, mailbox=ALICE)
    analytic = fake([detection("a"), detection("b", mailboxes=["bob@contoso.com"])])
    first = run_detections(store, analytics=[analytic])
    again = run_detections(store, analytics=[analytic])
    assert (first.new_alerts, first.suppressed) == ({"fake-rule": 1}, {"fake-rule": 1})
    assert (again.new_alerts, again.suppressed) == ({"fake-rule": 0}, {"fake-rule": 1})
    assert store.count("alerts") == 2
