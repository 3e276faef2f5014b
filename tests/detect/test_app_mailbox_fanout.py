"""app-mailbox-fanout: one application, token or session reading many mailboxes.

History: twelve nights (0-11) in which the archiver reads ten mailboxes with one app-only
token a night, and each user reads their own mailbox with Outlook on the web every morning.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.app_mailbox_fanout import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.detect.test_token_without_signin import ARCHIVER, ARCHIVER_APP, access, app_only
from tests.helpers import EXO, GRAPH, ROGUE_APP, TENANT, Record, at, write_jsonl

MAILBOXES = [f"user{n}@contoso.onmicrosoft.com" for n in range(10)]


def history() -> list[Record]:
    records = []
    for day in range(12):
        for n, mailbox in enumerate(MAILBOXES):
            moment = at(day, 2, n)
            records.append(app_only(f"arch-{day}-{n}", moment, mailbox, f"tok-arch-{day}"))
            owa = access(f"owa-{day}-{n}", at(day, 9, n), mailbox, EXO, f"tok-{day}-{n}")
            records.append(
                {
                    **owa,
                    "AppAccessContext": {**owa["AppAccessContext"], "AADSessionId": f"s-{day}-{n}"},
                }
            )
    return records


def rogue(count: int, start: datetime) -> list[Record]:
    """A rogue application reading ``count`` mailboxes with one app-only token."""
    return [
        {
            **app_only(f"rogue-{n}", start + timedelta(minutes=7 * n), mailbox, "tok-rogue"),
            "ClientAppId": ROGUE_APP,
            "UserId": "Mail Insights Connector",
        }
        for n, mailbox in enumerate(MAILBOXES[:count])
    ]


def detect(store: Store, tmp_path: Path, extra: list[Record], **overrides: object) -> list[Alert]:
    write_jsonl(tmp_path / "ual.jsonl", history() + extra)
    assert ingest(store, [tmp_path]).quarantined == 0
    run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    return list_alerts(store)


def test_fan_out_that_is_its_applications_baseline_raises_nothing(
    store: Store, tmp_path: Path
) -> None:
    """The archiver's nightly token reads ten mailboxes; OWA reads them all each morning."""
    assert detect(store, tmp_path, []) == []


def test_new_application_reading_many_mailboxes_is_high(store: Store, tmp_path: Path) -> None:
    [alert] = detect(store, tmp_path, rogue(9, at(10, 3)))
    assert (alert.rule_id, alert.severity) == ("app-mailbox-fanout", "high")
    assert json.loads(alert.entity) == [TENANT, ROGUE_APP]
    assert alert.mailboxes == sorted(MAILBOXES[:9])
    assert alert.event_ids == sorted(f"rogue-{n}" for n in range(9))
    assert alert.app_ids == sorted([GRAPH, ROGUE_APP])
    assert alert.summary == (
        f"Application {ROGUE_APP} (no sign-in names it) read 9 mailbox(es) within 2 hour(s) "
        "through one token with its own permission (app-only); its units had read at most 0 "
        "mailbox(es) in a window in the 14 days before"
    )


def test_a_familiar_application_whose_one_token_reads_many_mailboxes(
    store: Store, tmp_path: Path
) -> None:
    """Outlook on the web, used by everyone, but one token reading nine mailboxes: high, as no
    token of it ever read more than one mailbox."""
    extra = [
        access(f"one-{n}", at(10, 4, 5 * n), mailbox, EXO, "tok-one", actor=MAILBOXES[0])
        for n, mailbox in enumerate(MAILBOXES[:9])
    ]
    [alert] = detect(store, tmp_path, extra)
    assert json.loads(alert.entity) == [TENANT, EXO]
    assert alert.severity == "high"
    assert alert.event_ids == sorted(f"one-{n}" for n in range(9))
    assert "through one token" in alert.summary
    assert "at most 1 mailbox(es)" in alert.summary


def test_fewer_mailboxes_than_the_threshold_is_not_an_alert(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, rogue(7, at(10, 3))) == []


def test_a_burst_spread_over_more_than_the_window_is_not_an_alert(
    store: Store, tmp_path: Path
) -> None:
    spread = [
        {**r, "CreationTime": (at(10, 0) + timedelta(minutes=40 * n)).strftime("%Y-%m-%dT%H:%M:%S")}
        for n, r in enumerate(rogue(9, at(10, 0)))
    ]
    assert detect(store, tmp_path, spread) == []


@pytest.mark.parametrize(("threshold", "alerts"), [(9, 1), (10, 0)])
def test_fanout_threshold_is_configurable(
    store: Store, tmp_path: Path, threshold: int, alerts: int
) -> None:
    found = detect(store, tmp_path, rogue(9, at(10, 3)), fanout_threshold=threshold)
    assert len(found) == alerts


def test_archiver_used_in_tests_is_app_only() -> None:
    assert app_only("x", at(0), MAILBOXES[0], "t")["UserId"] == ARCHIVER
    assert app_only("x", at(0), MAILBOXES[0], "t")["ClientAppId"] == ARCHIVER_APP
