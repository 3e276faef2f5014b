"""mailbox-first-seen-app: positive and negative samples, severity rules, parameters.

Every dataset is built here: ten days (day 0 to 9) of Outlook reading alice's and bob's mail,
Outlook Mobile reading bob's (so it is known in the tenant), then the access under test on day 10.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.mailbox_first_seen_app import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    EXO,
    GRAPH,
    OTHER_TENANT,
    OUTLOOK,
    OUTLOOK_MOBILE,
    ROGUE_APP,
    TENANT,
    Record,
    at,
    mail_access,
    signin_record,
    ual_record,
    write_jsonl,
)

ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"
CAROL = "carol@contoso.onmicrosoft.com"  # a new employee: first activity on day 8
ADMIN = "it-admin@contoso.onmicrosoft.com"
SERVICE_PRINCIPAL = "7c1e0a31-2b4d-4c3e-9d51-7a8b9c0d1e99"
KNOWN_APP = OUTLOOK_MOBILE
GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools


def history() -> list[Record]:
    records = [
        mail_access(f"h-{mb[0]}-{d}", at(d), mb, OUTLOOK) for mb in (ALICE, BOB) for d in range(10)
    ]
    records += [mail_access(f"m-b-{d}", at(d, 12), BOB, KNOWN_APP) for d in range(10)]
    records.append(ual_record("c-first", at(8), "Send", UserId=CAROL, MailboxOwnerUPN=CAROL))
    return records


SIGNINS = [
    signin_record("s-ok", at(10, 6), ALICE, KNOWN_APP, uti="tok-ok"),
    signin_record("s-bob", at(9, 6), BOB, KNOWN_APP, uti="tok-bob"),
]


def detect(
    store: Store,
    tmp_path: Path,
    extra: list[Record],
    signins: list[Record] | None = None,
    **overrides: object,
) -> list[Alert]:
    write_jsonl(tmp_path / "ual.jsonl", history() + extra)
    write_jsonl(tmp_path / "signins.jsonl", SIGNINS if signins is None else signins)
    summary = ingest(store, [tmp_path])
    assert summary.quarantined == 0
    run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    return list_alerts(store)


def test_history_alone_raises_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []


def test_app_new_to_the_tenant_is_high(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access(
            "evil-1",
            at(10, 2, 13),
            ALICE,
            ROGUE_APP,
            actor=SERVICE_PRINCIPAL,
            resource=GRAPH,
            ip="45.77.191.159:4431",
        ),
        mail_access(
            "evil-2",
            at(10, 5),
            ALICE,
            ROGUE_APP,
            actor=SERVICE_PRINCIPAL,
            resource=GRAPH,
            ip="45.77.191.160",
        ),
    ]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "high"
    assert alert.rule_id == "mailbox-first-seen-app"
    assert alert.technique == "T1114.002"
    assert json.loads(alert.entity) == [TENANT, ROGUE_APP]
    assert alert.summary == (
        f"Application {ROGUE_APP} (no sign-in names it) read 1 mailbox(es) "
        "it had not read before; the application is new to the tenant"
    )
    assert (alert.mailboxes, alert.users, alert.tenant_ids) == (
        [ALICE],
        [SERVICE_PRINCIPAL],
        [TENANT],
    )
    assert alert.app_ids == sorted([GRAPH, ROGUE_APP])
    assert alert.client_ips == ["45.77.191.159", "45.77.191.160"]
    assert alert.event_ids == ["evil-1", "evil-2"]
    assert (alert.first_seen, alert.last_seen) == (at(10, 2, 13), at(10, 5))
    assert alert.event_count == 2
    assert alert.techniques == ["T1114.002", "T1550.001"]
    assert alert.why is not None
    assert alert.why["baseline"]["apps_seen_before"] == [OUTLOOK]  # alice only used Outlook
    assert alert.why["new"] == {
        "app": ROGUE_APP,
        "app_name": None,
        "new_to_tenant": True,
        "mailboxes": 1,
        "accesses_with_unissued_token": 0,
    }


def test_app_new_to_the_tenant_read_by_its_owner_is_medium(store: Store, tmp_path: Path) -> None:
    """An administrator trying a new tool on their own mailbox: worth a look, not an intrusion
    alarm (no forged token, no one else's mailbox)."""
    extra = [mail_access("own-1", at(10, 9), ALICE, ROGUE_APP, resource=GRAPH)]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "medium"
    assert alert.users == [ALICE]
    assert alert.mailboxes == [ALICE]


def test_token_no_sign_in_issued_is_high_for_a_known_app(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("forged", at(10, 7), ALICE, KNOWN_APP, uti="tok-forged")]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "high"
    assert alert.summary == (
        f'Application "Microsoft Office" ({KNOWN_APP}) read 1 mailbox(es) '
        "it had not read before; 1 access(es) used a token no sign-in issued"
    )


def test_owner_new_device_on_a_common_client_with_an_issued_token_is_not_judged(
    store: Store, tmp_path: Path
) -> None:
    """Alice's new phone: Outlook Mobile, her own mailbox, a token her sign-in issued."""
    extra = [mail_access("new-device", at(10, 7), ALICE, KNOWN_APP, uti="tok-ok")]
    assert detect(store, tmp_path, extra) == []


def test_known_uncommon_app_owner_and_issued_token_is_low(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access("bob-cli", at(9, 7), BOB, GRAPH_CLI, uti="tok-bob"),
        mail_access("alice-cli", at(10, 7), ALICE, GRAPH_CLI, uti="tok-ok"),
    ]
    bob, alice = detect(store, tmp_path, extra)  # Bob's first use on day 9 is new to the tenant
    assert (bob.severity, bob.event_ids) == ("medium", ["bob-cli"])
    assert (alice.severity, alice.mailboxes, alice.event_ids) == ("low", [ALICE], ["alice-cli"])
    assert alice.app_ids == sorted([EXO, GRAPH_CLI])


def test_known_app_used_by_someone_else_is_medium(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("delegate", at(10, 7), ALICE, KNOWN_APP, actor=ADMIN, uti="tok-ok")]
    [alert] = detect(store, tmp_path, extra)
    assert (alert.severity, alert.users) == ("medium", [ADMIN])


def test_app_seen_within_the_baseline_is_not_an_alert(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access("usual", at(10, 7), ALICE, OUTLOOK),
        mail_access("usual-bob", at(10, 12), BOB, KNOWN_APP),
    ]
    assert detect(store, tmp_path, extra) == []


def test_young_mailbox_with_a_known_app_is_not_judged(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("carol-mobile", at(10, 7), CAROL, KNOWN_APP)]
    assert detect(store, tmp_path, extra) == []


def test_young_mailbox_read_by_an_app_new_to_the_tenant_is_still_listed(
    store: Store, tmp_path: Path
) -> None:
    extra = [mail_access("evil-carol", at(10, 2), CAROL, ROGUE_APP, actor=SERVICE_PRINCIPAL)]
    [alert] = detect(store, tmp_path, extra)
    assert (alert.severity, alert.mailboxes) == ("high", [CAROL])


def test_rpc_access_without_app_id_is_never_an_alert(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access(
            f"rpc-{mb[0]}", at(10, 3), mb, None, actor=ADMIN, client_info="Client=MSExchangeRPC"
        )
        for mb in (ALICE, BOB, CAROL)
    ]
    assert detect(store, tmp_path, extra) == []


def test_one_alert_per_app_and_day_listing_every_mailbox(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access("e-a", at(10, 2), ALICE, ROGUE_APP, actor=SERVICE_PRINCIPAL),
        mail_access("e-b", at(10, 3), BOB, ROGUE_APP, actor=SERVICE_PRINCIPAL),
    ]
    [alert] = detect(store, tmp_path, extra)
    assert (alert.mailboxes, alert.event_ids) == ([ALICE, BOB], ["e-a", "e-b"])
    assert "read 2 mailbox(es)" in alert.summary


def test_each_utc_day_is_its_own_alert(store: Store, tmp_path: Path) -> None:
    extra = [
        mail_access("e-a", at(10, 23, 59), ALICE, ROGUE_APP, actor=SERVICE_PRINCIPAL),
        mail_access("e-b", at(11, 0, 1), BOB, ROGUE_APP, actor=SERVICE_PRINCIPAL),
    ]
    first, second = detect(store, tmp_path, extra)
    assert (first.event_ids, first.severity) == (["e-a"], "high")
    # Known in the tenant since the day before, read by an actor who is not the owner.
    assert (second.event_ids, second.severity) == (["e-b"], "medium")
    assert first.id != second.id


def test_app_known_in_another_tenant_is_new_in_this_one(store: Store, tmp_path: Path) -> None:
    elsewhere = [
        mail_access(f"o-{d}", at(d), "x@fabrikam.example", ROGUE_APP, tenant=OTHER_TENANT)
        for d in range(10)
    ]
    extra = [*elsewhere, mail_access("e-a", at(10, 2), ALICE, ROGUE_APP, actor=SERVICE_PRINCIPAL)]
    alerts = detect(store, tmp_path, extra)
    assert [(a.tenant_ids, a.severity, a.event_ids) for a in alerts] == [
        ([TENANT], "high", ["e-a"]),
    ]


@pytest.mark.parametrize(("baseline_days", "alerts"), [(14, 0), (9, 0), (5, 1)])
def test_baseline_days_is_configurable(
    store: Store, tmp_path: Path, baseline_days: int, alerts: int
) -> None:
    extra = [
        mail_access("mobile-day2", at(2), ALICE, KNOWN_APP),
        mail_access("mobile-day10", at(10), ALICE, KNOWN_APP),
    ]  # 8 days after the last
    found = detect(store, tmp_path, extra, baseline_days=baseline_days)
    assert len(found) == alerts
    if found:
        assert (found[0].event_ids, found[0].severity) == (["mobile-day10"], "low")


@pytest.mark.parametrize(("min_history_days", "alerts"), [(7, 0), (3, 0), (2, 1)])
def test_min_history_days_is_configurable(
    store: Store, tmp_path: Path, min_history_days: int, alerts: int
) -> None:
    extra = [mail_access("carol-mobile", at(10, 9), CAROL, KNOWN_APP)]  # 2 days after day 8
    found = detect(store, tmp_path, extra, min_history_days=min_history_days)
    assert [a.event_ids for a in found] == [["carol-mobile"]] * alerts
