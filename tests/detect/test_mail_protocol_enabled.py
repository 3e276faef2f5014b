"""mail-protocol-enabled: IMAP, POP, EWS or ActiveSync turned on, and the follow-up access."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.mail_protocol_enabled import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ALICE,
    BOB,
    cmdlet,
    detect,
    intrusion,
    of_rule,
    simulated_bed,
    why,
)
from tests.helpers import TENANT, at, mail_access

RULE = "mail-protocol-enabled"
IMAP = "Client=IMAP4;Protocol=IMAP4"


def test_imap_turned_on_then_used_from_a_new_address_is_high(store: Store, tmp_path: Path) -> None:
    records = [
        cmdlet("cas", at(10, 3), "Set-CASMailbox", {"Identity": "bob", "ImapEnabled": "True"}),
        mail_access("imap", at(10, 4), BOB, None, ip="45.77.1.1", client_info=IMAP),
        mail_access("rpc", at(10, 5), BOB, None, ip="45.77.1.1"),  # not through IMAP
    ]
    [alert] = detect(store, tmp_path, ANALYTIC, records)
    assert (alert.rule_id, alert.severity, alert.technique) == (RULE, "high", "T1114.002")
    assert json.loads(alert.entity) == [TENANT, BOB]
    assert alert.event_ids == ["cas", "imap"]
    assert alert.summary.endswith(
        "then accessed through IMAP in 1 record(s), the first at 2024-04-11 04:00 UTC, "
        "from an address the mailbox had not used"
    )
    assert why(store, ANALYTIC)[0]["followup_access"] == ["imap"]


def test_turned_on_without_use_is_low_and_turned_off_is_nothing(
    store: Store, tmp_path: Path
) -> None:
    records = [
        cmdlet("pop", at(10, 3), "Set-CASMailbox", {"Identity": ALICE, "PopEnabled": "True"}),
        cmdlet("off", at(10, 3), "Set-CASMailbox", {"Identity": BOB, "ImapEnabled": "False"}),
    ]
    [alert] = detect(store, tmp_path, ANALYTIC, records)
    assert (alert.severity, alert.mailboxes) == ("low", [ALICE])
    assert alert.summary.endswith("; no access through it seen yet")


def test_test_bed_imap_enabled_and_used_is_high_and_noise_is_quiet() -> None:
    alerts, truth = intrusion("audit-tampering")
    raised = [a for a in of_rule(alerts, RULE) if set(truth.record_ids) & set(a.event_ids)]
    assert [a.severity for a in raised] == ["high"]
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
