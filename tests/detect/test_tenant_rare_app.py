"""tenant-rare-app: rarity by count and share, first-party clients, reach, parameters.

Every dataset is built here: ten days (day 0 to 9) in which eight mailboxes are read with
Outlook on the web, the archiving application reads all eight each night and one user reads hers
with Outlook Mobile too; then the accesses under test on day 10.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.tenant_rare_app import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    EXO,
    GRAPH,
    OTHER_TENANT,
    OUTLOOK_MOBILE,
    ROGUE_APP,
    TENANT,
    Record,
    at,
    mail_access,
    signin_record,
    write_jsonl,
)

MAILBOXES = [f"user{i}@contoso.onmicrosoft.com" for i in range(8)]
U0, U1, U2, U3 = MAILBOXES[:4]
ARCHIVER_APP = "5f3c8d21-7a4e-4b9c-9e1f-2d6a8b0c4e71"
GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
VPS = "45.77.191.159:4431"


def history() -> list[Record]:
    records = [
        mail_access(f"owa-{i}-{d}", at(d, 9), mb, EXO, resource=EXO)
        for i, mb in enumerate(MAILBOXES)
        for d in range(10)
    ]
    records += [
        mail_access(f"arch-{i}-{d}", at(d, 2), mb, ARCHIVER_APP, actor="archiver-app")
        for i, mb in enumerate(MAILBOXES)
        for d in range(10)
    ]
    records += [mail_access(f"mob-{d}", at(d, 12), U0, OUTLOOK_MOBILE) for d in range(10)]
    return records


def detect(
    store: Store,
    tmp_path: Path,
    extra: list[Record],
    signins: tuple[Record, ...] = (),
    **overrides: object,
) -> list[Alert]:
    write_jsonl(tmp_path / "ual.jsonl", history() + extra)
    write_jsonl(
        tmp_path / "signins.jsonl",
        [signin_record("s-1", at(0), U0, OUTLOOK_MOBILE), *signins],
    )
    summary = ingest(store, [tmp_path])
    assert summary.quarantined == 0
    run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    return list_alerts(store)


def rogue(record_id: str, day: float, mailbox: str, hour: int = 2) -> Record:
    return mail_access(record_id, at(day, hour), mailbox, ROGUE_APP, resource=GRAPH, ip=VPS)


def test_history_alone_raises_nothing(store: Store, tmp_path: Path) -> None:
    """The archiver reads every mailbox; Outlook Mobile on one mailbox is a common client."""
    assert detect(store, tmp_path, []) == []


def test_unknown_app_reading_two_of_eight_mailboxes_is_medium(store: Store, tmp_path: Path) -> None:
    extra = [rogue("r-1", 10, U1), rogue("r-2", 10, U2, 3), rogue("r-3", 10, U1, 4)]
    [alert] = detect(store, tmp_path, extra)
    assert alert.rule_id == "tenant-rare-app"
    assert (alert.severity, alert.technique) == ("medium", "T1114.002")
    assert json.loads(alert.entity) == [TENANT, ROGUE_APP]
    assert alert.summary == (
        f"Application {ROGUE_APP} (no sign-in names it) read 2 mailbox(es) new to it; "
        "it read 2 of the 8 mailboxes read in the tenant in the last 30 days"
    )
    assert (alert.tenant_ids, alert.mailboxes, alert.users) == ([TENANT], [U1, U2], [U1, U2])
    assert alert.app_ids == sorted([GRAPH, ROGUE_APP])
    assert alert.client_ips == ["45.77.191.159"]
    assert alert.event_ids == ["r-1", "r-2", "r-3"]
    assert (alert.first_seen, alert.last_seen) == (at(10, 2), at(10, 4))


def test_app_reading_more_than_the_rare_share_is_not_rare(store: Store, tmp_path: Path) -> None:
    """Three of eight mailboxes is more than a quarter of the tenant."""
    extra = [rogue("r-1", 10, U1), rogue("r-2", 10, U2), rogue("r-3", 10, U3)]
    assert detect(store, tmp_path, extra) == []


def test_common_first_party_client_is_never_rare(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("mob-new", at(10, 12), U1, OUTLOOK_MOBILE, ip=VPS)]
    assert detect(store, tmp_path, extra) == []


def test_first_party_tool_that_is_not_a_mail_client_is_judged(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("cli", at(10, 13), U3, GRAPH_CLI, resource=GRAPH)]
    [alert] = detect(store, tmp_path, extra)
    assert (alert.event_ids, alert.severity) == (["cli"], "medium")


def test_established_rare_app_is_raised_when_it_starts_and_when_it_spreads(
    store: Store, tmp_path: Path
) -> None:
    extra = [rogue(f"r-{d}", d, U1) for d in (10, 11, 12)] + [rogue("r-u2", 12, U2, 5)]
    found = detect(store, tmp_path, extra)
    assert [(a.first_seen, a.mailboxes, a.event_ids) for a in found] == [
        (at(10, 2), [U1], ["r-10"]),
        (at(12, 5), [U2], ["r-u2"]),
    ]
    assert found[1].summary.endswith(
        "it read 2 of the 8 mailboxes read in the tenant in the last 30 days"
    )


def test_app_read_by_the_whole_tenant_elsewhere_is_rare_here(store: Store, tmp_path: Path) -> None:
    elsewhere = [
        mail_access(f"o-{i}", at(9), f"x{i}@fabrikam.example", ROGUE_APP, tenant=OTHER_TENANT)
        for i in range(4)
    ]
    found = detect(store, tmp_path, [*elsewhere, rogue("r-1", 10, U1)])
    assert [(a.tenant_ids, a.event_ids) for a in found] == [([TENANT], ["r-1"])]


def test_access_without_an_application_is_never_judged(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("rpc", at(10, 3), U1, None, client_info="Client=MSExchangeRPC")]
    assert detect(store, tmp_path, extra) == []


@pytest.mark.parametrize(
    ("overrides", "alerts"),
    [
        ({}, 1),
        ({"rare_max_mailboxes": 1}, 0),
        ({"rare_max_share": 0.2}, 0),
        ({"rare_max_share": 0.5, "rare_max_mailboxes": 3}, 1),
    ],
)
def test_rarity_thresholds_are_configurable(
    store: Store, tmp_path: Path, overrides: dict[str, object], alerts: int
) -> None:
    extra = [rogue("r-1", 10, U1), rogue("r-2", 10, U2)]
    assert len(detect(store, tmp_path, extra, **overrides)) == alerts


@pytest.mark.parametrize(("rarity_days", "alerts"), [(30, 0), (5, 1)])
def test_rarity_days_is_configurable(
    store: Store, tmp_path: Path, rarity_days: int, alerts: int
) -> None:
    """The app read four mailboxes on day 2 (not rare then nor within 30 days), then one on
    day 10: within 5 days it has read only that one."""
    early = [
        mail_access(f"e-{i}", at(2, 2), mb, ROGUE_APP, resource=GRAPH)
        for i, mb in enumerate(MAILBOXES[4:])
    ]
    found = detect(store, tmp_path, [*early, rogue("r-1", 10, U1)], rarity_days=rarity_days)
    assert [a.event_ids for a in found] == [["r-1"]] * alerts


def test_own_tool_on_own_mailbox_with_an_issued_token_is_not_judged(
    store: Store, tmp_path: Path
) -> None:
    """An administrator's Graph Command Line Tools on her own mail, signed in: her choice of
    client. The same access with a token no sign-in issued is judged."""
    issued = mail_access("cli-own", at(10, 13), U3, GRAPH_CLI, resource=GRAPH, uti="tok-issued")
    forged = mail_access("cli-forged", at(10, 14), U2, GRAPH_CLI, resource=GRAPH, uti="tok-x")
    signin = signin_record("s-cli", at(10, 12), U3, GRAPH_CLI, uti="tok-issued")
    [alert] = detect(store, tmp_path, [issued, forged], signins=(signin,))
    assert alert.event_ids == ["cli-forged"]
