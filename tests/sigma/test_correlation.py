"""Sigma correlation rules: each type's exact evidence on a small store, at the edge of the
timespan (inside at exactly one timespan, outside one second later), with group-by over a
missing (NULL) field, letter case and tenants, aliases across log sources, ``generate``, and
what is unsupported; the SQL checked by sqlglot and run on a locked store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mailhunt.sigma.analytic import run_sigma
from mailhunt.sigma.compiler import (
    CONVERTED,
    ERROR,
    UNSUPPORTED,
    Compiled,
    check_sql,
    compile_rules,
)
from mailhunt.sigma.loader import load_rules
from mailhunt.sigma.sandbox import is_locked, lock_down
from mailhunt.store.db import Store
from tests.sigma.world import SIGNINS, T0, TENANT, UAL

OTHER_TENANT = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
FAILED = "aaaaaaaa-0000-4000-8000-000000000001"
INBOX = "aaaaaaaa-0000-4000-8000-000000000002"
ACCESS = "aaaaaaaa-0000-4000-8000-000000000003"
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def _signin(
    record_id: str, user: str | None, at: timedelta, *, tenant: str = TENANT, error: int = 50126
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "time": T0 + at,
        "tenant_id": tenant,
        "source": SIGNINS,
        "user_upn": user,
        "client_ip": "203.0.113.7",
        "error_code": error,
    }


def _event(record_id: str, operation: str, at: timedelta, **values: Any) -> dict[str, Any]:
    row = {
        "record_id": record_id,
        "time": T0 + at,
        "tenant_id": TENANT,
        "source": UAL,
        "workload": "Exchange",
        "operation": operation,
        "app_id": None,
        "mailbox_upn": None,
        "actor_upn": None,
    }
    row.update(values)
    return row


SIGNIN_ROWS = [
    # alice: three failures, the third exactly ten minutes after the first (inside)
    _signin("f-alice-1", "alice@contoso.com", 0 * MINUTE),
    _signin("f-alice-2", "alice@contoso.com", 5 * MINUTE),
    _signin("f-alice-3", "alice@contoso.com", 10 * MINUTE),
    _signin("ok-alice", "alice@contoso.com", 11 * MINUTE, error=0),
    # bob: the third one second too late
    _signin("f-bob-1", "bob@contoso.com", 0 * MINUTE),
    _signin("f-bob-2", "bob@contoso.com", 5 * MINUTE),
    _signin("f-bob-3", "bob@contoso.com", 10 * MINUTE + SECOND),
    # no user: three failures that belong to no group
    _signin("f-none-1", None, 0 * MINUTE),
    _signin("f-none-2", None, 1 * MINUTE),
    _signin("f-none-3", None, 2 * MINUTE),
    # carol: one user whatever the letter case
    _signin("f-carol-1", "CAROL@contoso.com", 1 * MINUTE),
    _signin("f-carol-2", "carol@contoso.com", 2 * MINUTE),
    _signin("f-carol-3", "Carol@Contoso.com", 3 * MINUTE),
    # dave: three failures, but in two tenants
    _signin("f-dave-1", "dave@contoso.com", 0 * MINUTE),
    _signin("f-dave-2", "dave@contoso.com", 1 * MINUTE),
    _signin("f-dave-3", "dave@contoso.com", 2 * MINUTE, tenant=OTHER_TENANT),
]

APP1 = "11111111-aaaa-4bbb-8ccc-000000000001"
APP2 = "11111111-aaaa-4bbb-8ccc-000000000002"
EVENT_ROWS = [
    # an application reading three mailboxes (m2 and M2 are one) within the hour, the first
    # exactly an hour before the last; m5 (no mailbox) too late for any window
    _event("m1", "MailItemsAccessed", 0 * MINUTE, app_id=APP1, mailbox_upn="m0@contoso.com"),
    _event("m2", "MailItemsAccessed", 20 * MINUTE, app_id=APP1, mailbox_upn="m2@contoso.com"),
    _event("m3", "MailItemsAccessed", 30 * MINUTE, app_id=APP1, mailbox_upn="M2@contoso.com"),
    _event("m4", "MailItemsAccessed", 60 * MINUTE, app_id=APP1, mailbox_upn="m3@contoso.com"),
    _event("m5", "MailItemsAccessed", 81 * MINUTE, app_id=APP1, mailbox_upn=None),
    # another reading two mailboxes, and a record without a mailbox
    _event("n1", "MailItemsAccessed", 0 * MINUTE, app_id=APP2, mailbox_upn="m1@contoso.com"),
    _event("n2", "MailItemsAccessed", 1 * MINUTE, app_id=APP2, mailbox_upn="m2@contoso.com"),
    _event("n3", "MailItemsAccessed", 2 * MINUTE, app_id=APP2, mailbox_upn=None),
    # inbox rules after (alice, bob: one second late) and before (carol) the failures
    _event("r-alice", "New-InboxRule", 40 * MINUTE, actor_upn="alice@contoso.com"),
    _event("r-bob", "New-InboxRule", 40 * MINUTE + 2 * SECOND, actor_upn="bob@contoso.com"),
    _event("r-carol", "New-InboxRule", 0 * MINUTE, actor_upn="carol@contoso.com"),
]


def _base_rules() -> list[dict[str, Any]]:
    return [
        {
            "title": "Failed sign-in",
            "id": FAILED,
            "name": "failed_signin",
            "logsource": {"product": "azure", "service": "signinlogs"},
            "detection": {"sel": {"ResultType": 50126}, "condition": "sel"},
            "level": "low",
        },
        {
            "title": "Inbox rule created",
            "id": INBOX,
            "name": "inbox_rule",
            "logsource": {"product": "m365", "service": "audit"},
            "detection": {"sel": {"Operation": "New-InboxRule"}, "condition": "sel"},
            "level": "low",
        },
        {
            "title": "Mail read",
            "id": ACCESS,
            "name": "mail_read",
            "logsource": {"product": "m365", "service": "audit"},
            "detection": {"sel": {"Operation": "MailItemsAccessed"}, "condition": "sel"},
            "level": "low",
        },
    ]


def _correlation(
    correlation: dict[str, Any], rule_id: str = "cccccccc-0000-4000-8000-00000000000c", **extra: Any
) -> dict[str, Any]:
    return {
        "title": "Correlation",
        "id": rule_id,
        "correlation": correlation,
        "level": "high",
        "tags": ["attack.credential-access", "attack.t1110"],
        **extra,
    }


def _write(folder: Path, *documents: dict[str, Any], name: str = "rules.yml") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), "utf-8")
    return folder


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(None) as opened:
        opened.insert_rows("signins", SIGNIN_ROWS)
        opened.insert_rows("events", EVENT_ROWS)
        yield opened


def _compiled(tmp_path: Path, correlation: dict[str, Any], **extra: Any) -> list[Compiled]:
    folder = _write(tmp_path / "rules", *_base_rules(), _correlation(correlation, **extra))
    return compile_rules(load_rules(folder))


def _evidence(store: Store, compiled: Compiled) -> dict[tuple[str, ...], set[str]]:
    """Evidence record ids per group."""
    assert compiled.status == CONVERTED, compiled.reason
    check_sql(compiled.query)
    found: dict[tuple[str, ...], set[str]] = {}
    for groups, record_id in store.query(f"SELECT groups, record_id FROM ({compiled.query})"):
        found.setdefault(tuple(groups), set()).add(record_id)
    return found


def test_event_count_edges_null_case_and_tenant(tmp_path: Path, store: Store) -> None:
    *bases, corr = _compiled(
        tmp_path,
        {
            "type": "event_count",
            "rules": "failed_signin",
            "group-by": ["UserPrincipalName"],
            "timespan": "10m",
            "condition": {"gte": 3},
        },
    )
    assert _evidence(store, corr) == {
        ("alice@contoso.com",): {"f-alice-1", "f-alice-2", "f-alice-3"},
        ("carol@contoso.com",): {"f-carol-1", "f-carol-2", "f-carol-3"},
    }
    # generate: false (the default) keeps the referenced rule quiet; the others generate
    assert [b.generate for b in bases] == [False, True, True]


def test_event_count_without_group_by_and_lt(tmp_path: Path, store: Store) -> None:
    (*_, over_tenant) = _compiled(
        tmp_path,
        {"type": "event_count", "rules": "inbox_rule", "timespan": "1h", "condition": {"gt": 2}},
    )
    # one group per tenant: all three inbox rules are within the hour
    assert _evidence(store, over_tenant) == {(): {"r-alice", "r-bob", "r-carol"}}
    (*_, exact) = _compiled(
        tmp_path,
        {"type": "event_count", "rules": "inbox_rule", "timespan": "1h", "condition": {"eq": 4}},
    )
    assert _evidence(store, exact) == {}


def test_value_count_distinct_case_folded_values(tmp_path: Path, store: Store) -> None:
    correlation = {
        "type": "value_count",
        "rules": [ACCESS],  # by id
        "group-by": ["AppId"],
        "timespan": "1h",
        "condition": {"gte": 3, "field": "MailboxOwnerUPN"},
    }
    *_, corr = _compiled(tmp_path, correlation)
    # three mailboxes only with m1, exactly an hour before m4; APP2 reads two
    assert _evidence(store, corr) == {(APP1,): {"m1", "m2", "m3", "m4"}}
    # m2 and M2 are one mailbox: never four
    *_, four = _compiled(
        tmp_path, dict(correlation, condition={"gte": 4, "field": "MailboxOwnerUPN"})
    )
    assert _evidence(store, four) == {}


TEMPORAL = {
    "rules": ["failed_signin", "inbox_rule"],
    "group-by": ["user"],
    "timespan": "30m",
    "aliases": {
        "user": {"failed_signin": "UserPrincipalName", "inbox_rule": "UserId"},
    },
}


def test_temporal_any_order_with_aliases(tmp_path: Path, store: Store) -> None:
    *_, corr = _compiled(tmp_path, {"type": "temporal", **TEMPORAL})
    assert _evidence(store, corr) == {
        # the rule exactly 30 minutes after the last failure: all three failures are within
        # 30 minutes of it only for the last one (f-alice-3 at 10m, the rule at 40m)
        ("alice@contoso.com",): {"f-alice-3", "r-alice"},
        # before the failures: temporal does not care about order
        ("carol@contoso.com",): {"r-carol", "f-carol-1", "f-carol-2", "f-carol-3"},
    }


def test_temporal_ordered_in_order_only(tmp_path: Path, store: Store) -> None:
    *_, corr = _compiled(tmp_path, {"type": "temporal_ordered", **TEMPORAL})
    assert _evidence(store, corr) == {("alice@contoso.com",): {"f-alice-3", "r-alice"}}
    # the reverse order finds carol (rule, then failures) and not alice
    reverse = dict(TEMPORAL, rules=["inbox_rule", "failed_signin"])
    *_, back = _compiled(tmp_path, {"type": "temporal_ordered", **reverse})
    assert _evidence(store, back) == {("carol@contoso.com",): {"r-carol", "f-carol-1"}}


def test_temporal_extended_condition(tmp_path: Path, store: Store) -> None:
    corr = dict(TEMPORAL, condition="failed_signin and inbox_rule")
    *_, both = _compiled(tmp_path, {"type": "temporal", **corr})
    assert set(_evidence(store, both)) == {("alice@contoso.com",), ("carol@contoso.com",)}
    either = dict(TEMPORAL, condition="failed_signin or inbox_rule", timespan="1m")
    *_, any_ = _compiled(tmp_path, {"type": "temporal", **either})
    assert ("bob@contoso.com",) in _evidence(store, any_)


@pytest.mark.parametrize(
    ("correlation", "status", "reason"),
    [
        (
            {
                "type": "value_sum",
                "rules": "mail_read",
                "timespan": "1h",
                "condition": {"gte": 3, "field": "ItemCount"},
            },
            UNSUPPORTED,
            "correlation type value_sum",
        ),
        (
            {"type": "event_count", "rules": "nowhere", "timespan": "1h", "condition": {"gte": 3}},
            ERROR,
            "referenced rule nowhere not found",
        ),
        (
            {
                "type": "event_count",
                "rules": "failed_signin",
                "group-by": ["NetworkLocationDetails"],
                "timespan": "1h",
                "condition": {"gte": 3},
            },
            UNSUPPORTED,
            "field NetworkLocationDetails not collected",
        ),
        (
            {
                "type": "temporal_ordered",
                "rules": ["failed_signin", "inbox_rule"],
                "timespan": "1h",
                "condition": {"lt": 2},
            },
            UNSUPPORTED,
            "temporal_ordered with condition lt",
        ),
        (
            {
                "type": "temporal",
                "rules": ["failed_signin", "inbox_rule"],
                "timespan": "1h",
                "condition": "failed_signin and not inbox_rule",
            },
            UNSUPPORTED,
            "extended correlation condition with not",
        ),
    ],
)
def test_not_converted(
    tmp_path: Path, correlation: dict[str, Any], status: str, reason: str
) -> None:
    *_, corr = _compiled(tmp_path, correlation)
    assert (corr.status, corr.reason) == (status, reason)


def test_reference_to_an_unsupported_rule(tmp_path: Path) -> None:
    unsupported = {
        "title": "Needs a field not kept",
        "id": "dddddddd-0000-4000-8000-00000000000d",
        "name": "directional",
        "logsource": {"product": "m365", "service": "audit"},
        "detection": {"sel": {"Directionality": "Inbound"}, "condition": "sel"},
    }
    folder = _write(
        tmp_path / "rules",
        unsupported,
        _correlation(
            {
                "type": "event_count",
                "rules": "directional",
                "timespan": "1h",
                "condition": {"gte": 2},
            }
        ),
    )
    _, corr = compile_rules(load_rules(folder))
    assert corr.status == UNSUPPORTED
    assert (
        corr.reason
        == "referenced rule directional is unsupported: field Directionality not collected"
    )


def test_references_across_files(tmp_path: Path, store: Store) -> None:
    folder = _write(tmp_path / "rules", *_base_rules(), name="a_base.yml")
    _write(
        folder,
        _correlation(
            {
                "type": "event_count",
                "rules": "failed_signin",
                "group-by": ["UserPrincipalName"],
                "timespan": "10m",
                "condition": {"gte": 3},
                "generate": True,
            }
        ),
        name="b_corr.yml",
    )
    compiled = compile_rules(load_rules(folder))
    assert [c.status for c in compiled] == [CONVERTED] * 4
    assert all(c.generate for c in compiled)
    assert set(_evidence(store, compiled[-1])) == {("alice@contoso.com",), ("carol@contoso.com",)}


def test_alerts_per_group_on_a_locked_store(tmp_path: Path, store: Store) -> None:
    compiled = _compiled(
        tmp_path,
        {
            "type": "event_count",
            "rules": "failed_signin",
            "group-by": ["UserPrincipalName"],
            "timespan": "10m",
            "condition": {"gte": 3},
        },
    )
    lock_down(store)
    assert is_locked(store)
    summary = run_sigma(store, compiled)
    assert summary.failed == {}
    rule = "sigma:cccccccc-0000-4000-8000-00000000000c"
    assert FAILED not in {k.removeprefix("sigma:") for k in summary.detections}  # generate: false
    rows = store.query(
        "SELECT a.entity, a.severity, a.techniques, list_sort(list(e.record_id)) FROM alerts a "
        "JOIN alert_evidence e ON e.alert_id = a.id WHERE a.rule_id = ? GROUP BY ALL "
        "ORDER BY a.entity",
        [rule],
    )
    assert rows == [
        (
            f'["{TENANT}","{rule}","alice@contoso.com"]',
            "high",
            ["T1110"],
            ["f-alice-1", "f-alice-2", "f-alice-3"],
        ),
        (
            f'["{TENANT}","{rule}","carol@contoso.com"]',
            "high",
            ["T1110"],
            ["f-carol-1", "f-carol-2", "f-carol-3"],
        ),
    ]
