"""throttled-blind-window: the blind_windows view and the alert's severity by session.

History (tests.detect.test_token_without_signin): twelve days in which alice reads her mail
with Outlook on tokens her sign-ins issued, and bob with Outlook Mobile.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.throttled_blind_window import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.detect.test_token_without_signin import ALICE, access, forged, history, signin
from tests.helpers import OUTLOOK, ROGUE_APP, TENANT, Record, at, write_jsonl


def throttled(record: Record) -> Record:
    """The record as Exchange writes it when the mailbox's auditing is throttled."""
    properties = [
        {"Name": "MailAccessType", "Value": "Bind"},
        {"Name": "IsThrottled", "Value": "True"},
    ]
    return {**record, "OperationProperties": properties}


def detect(
    store: Store, tmp_path: Path, extra: list[Record], extra_signins: list[Record] | None = None
) -> list[Alert]:
    audit, signins = history()
    write_jsonl(tmp_path / "ual.jsonl", audit + extra)
    write_jsonl(tmp_path / "signins.jsonl", signins + (extra_signins or []))
    assert ingest(store, [tmp_path]).quarantined == 0
    run_detections(store, analytics=[ANALYTIC])
    return list_alerts(store)


def test_no_throttling_raises_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []
    assert store.count("blind_windows") == 0


def test_throttled_mailbox_opens_a_24_hour_blind_window(store: Store, tmp_path: Path) -> None:
    """alice's own Outlook, on a token her sign-in issued, trips throttling: medium."""
    [alert] = detect(
        store, tmp_path, [throttled(access("thr", at(10, 7, 40), ALICE, OUTLOOK, "tok-a-10"))]
    )
    assert (alert.rule_id, alert.severity) == ("throttled-blind-window", "medium")
    assert json.loads(alert.entity) == [TENANT, ALICE]
    assert "thr" in alert.event_ids
    assert alert.mailboxes == [ALICE]
    assert alert.summary.startswith(
        f"Read auditing of mailbox {ALICE} was throttled (IsThrottled=True) at 2024-04-11 07:40 "
        "UTC: messages bound until 2024-04-12 07:40 UTC were not audited"
    )
    window = store.query(
        "SELECT mailbox_upn, window_start, window_end, record_id FROM blind_windows"
    )
    start: datetime = at(10, 7, 40)
    assert window == [(ALICE, start, start + timedelta(hours=24), "thr")]


def test_throttled_session_with_a_token_no_sign_in_issued_is_critical(
    store: Store, tmp_path: Path
) -> None:
    extra = [forged("pull-1", at(10, 1)), throttled(forged("pull-2", at(10, 2)))]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "critical"
    assert "token no stored sign-in issued" in alert.summary
    assert alert.event_ids == ["pull-1", "pull-2"]


def test_throttled_session_through_an_app_new_to_the_mailbox_is_high(
    store: Store, tmp_path: Path
) -> None:
    """A rogue application on a token a sign-in did issue: new to alice's mailbox."""
    extra_signins = [signin("s-rogue", at(10, 0, 50), ALICE, ROGUE_APP, "tok-rogue")]
    extra = [
        access("rogue-1", at(10, 1), ALICE, ROGUE_APP, "tok-rogue"),
        throttled(access("rogue-2", at(10, 1, 30), ALICE, ROGUE_APP, "tok-rogue")),
    ]
    [alert] = detect(store, tmp_path, extra, extra_signins)
    assert alert.severity == "high"
    assert f"application new to the mailbox ({ROGUE_APP})" in alert.summary
    assert alert.why is not None
    assert alert.why["apps_new_to_mailbox"] == [ROGUE_APP]
