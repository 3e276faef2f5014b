"""permission-grant-then-access: self-grants used, risky grants used, Admin logons of
non-delegates; helpdesk grants stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.analytics.permission_grant_then_access import ANALYTIC
from mailhunt.store.db import Store
from tests.detect.admin_records import (
    ADMIN,
    ALICE,
    ATTACKER_IP,
    BOB,
    HOME,
    cmdlet,
    detect,
    intrusion,
    of_rule,
    simulated_bed,
    why,
)
from tests.helpers import TENANT, Record, at, mail_access

RULE = "permission-grant-then-access"


def read(record_id: str, day: float, mailbox: str, reader: str, logon: int) -> Record:
    record = mail_access(
        record_id, at(day, 11), mailbox, None, actor=reader, ip=HOME.get(reader, ATTACKER_IP)
    )
    return {**record, "LogonType": logon}


def grant(
    record_id: str, mailbox: str, user: str, *, by: str = ADMIN, ip: str | None = None
) -> Record:
    return cmdlet(
        record_id,
        at(10, 9),
        "Add-MailboxPermission",
        {"Identity": mailbox, "User": user, "AccessRights": "FullAccess"},
        by=by,
        ip=ip,
    )


def test_self_grant_then_read_is_high_and_names_the_access(store: Store, tmp_path: Path) -> None:
    records = [grant("grant", ALICE, "it-admin"), read("r1", 10, ALICE, ADMIN, 1)]
    [alert] = detect(store, tmp_path, ANALYTIC, records)
    assert (alert.rule_id, alert.severity, alert.technique) == (RULE, "high", "T1098.002")
    assert json.loads(alert.entity) == [TENANT, ADMIN, ALICE]
    assert alert.summary == (
        f"Add-MailboxPermission by {ADMIN} granted FullAccess on mailbox {ALICE} to {ADMIN} "
        f"(a self-grant); then read by the grantee in 1 access(es) from 2024-04-11 11:00 UTC "
        f"(mailboxes: {ALICE})"
    )
    assert alert.event_ids == ["grant", "r1"]
    assert why(store, ANALYTIC)[0]["followup_access"] == ["r1"]


def test_self_grant_from_a_new_network_then_read_is_critical(store: Store, tmp_path: Path) -> None:
    records = [grant("grant", ALICE, ADMIN, ip=ATTACKER_IP), read("r1", 10, ALICE, ADMIN, 2)]
    [alert] = detect(store, tmp_path, ANALYTIC, records)
    assert alert.severity == "critical"


def test_helpdesk_grant_read_by_the_grantee_is_quiet(store: Store, tmp_path: Path) -> None:
    records = [grant("grant", ALICE, "bob"), read("r1", 10, ALICE, BOB, 2)]
    assert detect(store, tmp_path, ANALYTIC, records) == []


def test_admin_logon_of_a_non_delegate_is_medium(store: Store, tmp_path: Path) -> None:
    [alert] = detect(store, tmp_path, ANALYTIC, [read("r1", 11, ALICE, BOB, 1)])
    assert (alert.severity, alert.event_ids, json.loads(alert.entity)) == (
        "medium",
        ["r1"],
        [TENANT, BOB, ALICE],
    )


def test_admin_logon_of_a_delegate_by_history_is_quiet(store: Store, tmp_path: Path) -> None:
    records = [read("r0", 9, ALICE, BOB, 2), read("r1", 11, ALICE, BOB, 1)]
    assert detect(store, tmp_path, ANALYTIC, records) == []


def test_test_bed_self_grant_is_raised_and_helpdesk_grant_is_not() -> None:
    alerts, truth = intrusion("admin-self-grant")
    raised = [a for a in of_rule(alerts, RULE) if set(truth.key_record_ids) & set(a.event_ids)]
    assert raised
    assert raised[0].severity in {"high", "critical"}
    quiet, _ = simulated_bed(False)
    assert of_rule(quiet, RULE) == []
