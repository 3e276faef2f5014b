"""consent-then-mail-access: a user's consent to mail scopes followed by the application's
reads; administrator approval from a known network stays quiet."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.consent_then_mail_access import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ADMIN,
    ALICE,
    BOB,
    detect,
    directory,
    intrusion,
    of_rule,
    simulated_bed,
    why,
)
from tests.helpers import TENANT, Record, at, mail_access

RULE = "consent-then-mail-access"
EVIL = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
LOB = "11111111-2222-4333-8444-555555555555"
SP = "6a1d3c5e-7f90-4b2a-8c4d-5e6f7a8b9c0d"


def user_consent() -> list[Record]:
    return [
        directory(
            "consent",
            at(10, 3),
            "Consent to application.",
            [
                ("ConsentContext.IsAdminConsent", "False"),
                ("ConsentContext.OnBehalfOfAll", "False"),
                (
                    "ConsentAction.Permissions",
                    f"[] => [[Id: x, ClientId: {SP}, ConsentType: Principal, "
                    "Scope: Mail.Read offline_access User.Read]]; ",
                ),
                ("TargetId.ServicePrincipalNames", f"{EVIL};https://mailorganizer.example"),
            ],
            object_id=SP,
        ),
        directory(
            "grant",
            at(10, 3),
            "Add delegated permission grant.",
            [
                ("DelegatedPermissionGrant.Scope", " Mail.Read offline_access User.Read"),
                ("DelegatedPermissionGrant.ConsentType", "Principal"),
                ("ServicePrincipal.ObjectID", SP),
            ],
            object_id="00000003-0000-0000-c000-000000000000",
        ),
    ]


def test_user_consent_then_reads_is_high_and_names_the_access(store: Store, tmp_path: Path) -> None:
    records = [*user_consent(), mail_access("read", at(10, 5), ALICE, EVIL, ip="45.77.1.2")]
    [alert] = detect(store, tmp_path, ANALYTIC, records)
    assert (alert.rule_id, alert.severity, alert.technique) == (RULE, "high", "T1528")
    assert json.loads(alert.entity) == [TENANT, EVIL]
    assert alert.summary == (
        f"User {ALICE} consented application {EVIL} (no sign-in names it) mail.read; the "
        "application then read 1 mailbox(es) in 1 access(es), the first at 2024-04-11 05:00 UTC"
    )
    assert alert.event_ids == ["consent", "grant", "read"]
    assert why(store, ANALYTIC)[0]["followup_access"] == ["read"]


def test_user_consent_without_reads_is_low(store: Store, tmp_path: Path) -> None:
    [alert] = detect(store, tmp_path, ANALYTIC, user_consent())
    assert alert.severity == "low"


def test_admin_approval_and_non_mail_scopes_are_quiet(store: Store, tmp_path: Path) -> None:
    records = [
        directory(
            "role",
            at(10, 3),
            "Add app role assignment to service principal.",
            [
                ("AppRole.Value", "Mail.Read"),
                ("ServicePrincipal.AppId", LOB),
            ],
            by=ADMIN,
        ),
        mail_access("lob", at(10, 5), BOB, LOB, ip="20.1.1.1"),
        directory(
            "files",
            at(10, 3),
            "Consent to application.",
            [
                ("ConsentContext.IsAdminConsent", "False"),
                ("ConsentAction.Permissions", "Scope: Files.Read User.Read"),
                ("TargetId.ServicePrincipalNames", EVIL),
            ],
        ),
    ]
    assert detect(store, tmp_path, ANALYTIC, records) == []


def test_test_bed_illicit_consent_is_raised_and_approved_app_is_not() -> None:
    alerts, truth = intrusion("illicit-consent")
    raised = [a for a in of_rule(alerts, RULE) if set(truth.key_record_ids) & set(a.event_ids)]
    assert [a.severity for a in raised] == ["high"]
    assert set(truth.record_ids) & set(raised[0].event_ids) >= set(truth.key_record_ids)
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
