"""inbox-rule-abuse: rules that forward out or hide mail; ordinary rules stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.inbox_rule_abuse import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ALICE,
    ATTACKER_IP,
    BOB,
    cmdlet,
    detect,
    intrusion,
    of_rule,
    simulated_bed,
    why,
)
from tests.helpers import TENANT, at, signin_record

RULE = "inbox-rule-abuse"


def bec_rule(record_id: str = "rule") -> dict[str, object]:
    return cmdlet(
        record_id,
        at(10, 3),
        "New-InboxRule",
        {
            "Name": ".",
            "SubjectOrBodyContainsWords": "invoice;wire transfer",
            "ForwardTo": "SMTP:payables@evil-mail.com",
            "MarkAsRead": "True",
            "MoveToFolder": f"{BOB}:\\RSS Feeds",
        },
        by=BOB,
        ip=ATTACKER_IP,
        object_id=f"{BOB}\\.",
    )


def test_forwarding_hiding_rule_from_a_new_network_is_critical(
    store: Store, tmp_path: Path
) -> None:
    [alert] = detect(store, tmp_path, ANALYTIC, [bec_rule()])
    assert (alert.rule_id, alert.severity, alert.technique) == (RULE, "critical", "T1564.008")
    assert json.loads(alert.entity) == [TENANT, BOB, "."]
    assert alert.summary == (
        f'Inbox rule "." on mailbox {BOB} (New-InboxRule by {BOB}) forwards mail outside the '
        'tenant to payables@evil-mail.com; moves mail to the rarely opened folder "RSS Feeds"; '
        "marks it read; matches finance words (invoice, transfer, wire); created from a network "
        "new to its creator"
    )
    assert (alert.mailboxes, alert.client_ips, alert.event_ids) == ([BOB], [ATTACKER_IP], ["rule"])
    [reason] = why(store, ANALYTIC)
    assert reason["new"] == [
        "external forward",
        "obscure folder",
        "marks read",
        "finance words",
        "new network",
    ]
    assert reason["forward_to"] == ["payables@evil-mail.com"]


def test_a_risky_sign_in_before_the_rule_raises_it(store: Store, tmp_path: Path) -> None:
    rule = cmdlet(
        "rule",
        at(10, 9),
        "New-InboxRule",
        {"Name": "x", "MoveToFolder": "Conversation History"},
        by=BOB,
    )
    spray = [
        {
            **signin_record(
                f"f-{n}", at(10, 2, n), f"u{n}@contoso.onmicrosoft.com", "x", ip="45.77.1.1"
            ),
            "status": {"errorCode": 50126},
        }
        for n in range(5)
    ]
    success = signin_record("ok", at(10, 2, 30), BOB, "x", ip="45.77.1.1")
    [alert] = detect(store, tmp_path, ANALYTIC, [rule], [*spray, success])
    assert alert.severity == "high"
    assert alert.summary.endswith(
        "; created after a risky sign-in (new network or password-spray source)"
    )


def test_ordinary_rules_raise_nothing(store: Store, tmp_path: Path) -> None:
    rules = [
        cmdlet(
            "news",
            at(10, 9),
            "New-InboxRule",
            {
                "Name": "News",
                "From": "news@fabrikam.com",
                "MoveToFolder": "Newsletters",
                "MarkAsRead": "True",
            },
            by=ALICE,
        ),
        cmdlet(
            "holiday", at(10, 9), "New-InboxRule", {"Name": "Holiday", "ForwardTo": BOB}, by=ALICE
        ),
        cmdlet(
            "clean",
            at(10, 9),
            "New-InboxRule",
            {"Name": "Clean", "From": "noreply@github.com", "DeleteMessage": "True"},
            by=ALICE,
        ),
        cmdlet(
            "failed",
            at(10, 9),
            "New-InboxRule",
            {"Name": "y", "ForwardTo": "x@evil.org"},
            by=ALICE,
            succeeded=False,
        ),
    ]
    assert detect(store, tmp_path, ANALYTIC, rules) == []


def test_test_bed_bec_rule_is_raised_and_noise_is_not() -> None:
    alerts, truth = intrusion("bec-inbox-rule")
    raised = [a for a in of_rule(alerts, RULE) if set(truth.key_record_ids) & set(a.event_ids)]
    assert [a.severity for a in raised] == ["critical"]
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
