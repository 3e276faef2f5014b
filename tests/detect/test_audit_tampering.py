"""audit-tampering: auditing turned off, bypassed or shortened."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.audit_tampering import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ADMIN,
    ALICE,
    BOB,
    cmdlet,
    detect,
    intrusion,
    of_rule,
    simulated_bed,
)
from tests.helpers import TENANT, at

RULE = "audit-tampering"


def test_each_kind_of_tampering_is_raised_with_its_severity(store: Store, tmp_path: Path) -> None:
    records = [
        cmdlet(
            "bypass",
            at(10, 3),
            "Set-MailboxAuditBypassAssociation",
            {"Identity": ADMIN, "AuditBypassEnabled": "True"},
        ),
        cmdlet("off", at(10, 3), "Set-Mailbox", {"Identity": ALICE, "AuditEnabled": "False"}),
        cmdlet(
            "age", at(10, 4), "Set-Mailbox", {"Identity": BOB, "AuditLogAgeLimit": "7.00:00:00"}
        ),
        cmdlet(
            "ual",
            at(10, 5),
            "Set-AdminAuditLogConfig",
            {"UnifiedAuditLogIngestionEnabled": "False"},
        ),
    ]
    alerts = detect(store, tmp_path, ANALYTIC, records)
    found = {json.loads(a.entity)[1]: (a.severity, a.event_ids) for a in alerts}
    assert found == {
        ADMIN: ("high", ["bypass"]),
        ALICE: ("high", ["off"]),
        BOB: ("medium", ["age"]),
        "the organisation": ("critical", ["ual"]),
    }
    assert {json.loads(a.entity)[0] for a in alerts} == {TENANT}
    [organisation] = [a for a in alerts if a.severity == "critical"]
    assert organisation.summary == (
        "Audit tampering on the organisation: unified audit log ingestion turned off "
        f"(Set-AdminAuditLogConfig by {ADMIN})"
    )


def test_auditing_kept_or_turned_on_raises_nothing(store: Store, tmp_path: Path) -> None:
    records = [
        cmdlet(
            "on",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": ALICE, "AuditEnabled": "True", "AuditLogAgeLimit": "180.00:00:00"},
        ),
        cmdlet(
            "owner",
            at(10, 3),
            "Set-Mailbox",
            {"Identity": BOB, "AuditOwner": "MailItemsAccessed,Update,HardDelete"},
        ),
        cmdlet(
            "unbypass",
            at(10, 3),
            "Set-MailboxAuditBypassAssociation",
            {"Identity": ADMIN, "AuditBypassEnabled": "False"},
        ),
    ]
    assert detect(store, tmp_path, ANALYTIC, records) == []


def test_test_bed_tampering_is_raised_and_noise_is_not() -> None:
    alerts, truth = intrusion("audit-tampering")
    cited = {r for a in of_rule(alerts, RULE) for r in a.event_ids}
    assert set(truth.key_record_ids) <= cited
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
