"""mail-read-volume-anomaly: messages read per hour against the mailbox's own history.

History: twelve days (0-11) in which alice and bob read a few messages at 09:00, 11:00 and
14:00 UTC (the tenant's working hours), and a Sync of the Inbox now and then.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.mail_read_volume_anomaly import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, TENANT, Record, at, mail_access, write_jsonl

ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"


def read(record_id: str, moment: datetime, mailbox: str, messages: int) -> Record:
    """A Bind listing ``messages`` messages (0: a Sync of the Inbox)."""
    record = mail_access(record_id, moment, mailbox, OUTLOOK)
    items = [
        {"InternetMessageId": f"<{record_id}.{n}@contoso.onmicrosoft.com>", "SizeInBytes": 4096}
        for n in range(messages)
    ]
    folder = {"Path": "\\Inbox", **({"FolderItems": items} if items else {})}
    access = "Bind" if messages else "Sync"
    properties = [
        {"Name": "MailAccessType", "Value": access},
        {"Name": "IsThrottled", "Value": "False"},
    ]
    return {**record, "Folders": [folder], "OperationProperties": properties}


def history() -> list[Record]:
    records = []
    for day in range(12):
        for mailbox in (ALICE, BOB):
            name = mailbox[:3]
            for hour, count in ((9, 3 + day % 4), (11, 0), (14, 5 + day % 3)):
                records.append(read(f"h-{name}-{day}-{hour}", at(day, hour, 12), mailbox, count))
    return records


def bulk(prefix: str, start: datetime, records: int, per_record: int = 10) -> list[Record]:
    return [
        read(f"{prefix}-{n}", start + timedelta(seconds=20 * n), ALICE, per_record)
        for n in range(records)
    ]


def detect(store: Store, tmp_path: Path, extra: list[Record], **overrides: object) -> list[Alert]:
    write_jsonl(tmp_path / "ual.jsonl", history() + extra)
    assert ingest(store, [tmp_path]).quarantined == 0
    run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    return list_alerts(store)


def test_ordinary_reading_raises_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []


def test_bulk_reading_at_night_is_high(store: Store, tmp_path: Path) -> None:
    """300 messages at 02:00 UTC: over the night's bar (500 / 3), outside 09:00-14:00."""
    [alert] = detect(store, tmp_path, bulk("night", at(11, 2), 30))
    assert (alert.rule_id, alert.severity) == ("mail-read-volume-anomaly", "high")
    assert json.loads(alert.entity) == [TENANT, ALICE]
    assert alert.event_ids == sorted(f"night-{n}" for n in range(30))
    assert alert.summary == (
        f"Mailbox {ALICE} had 300 message(s) read in 1 hour(s) (peak 300 at 02:00 UTC) against "
        "a median of 4.0 per active hour, outside the tenant's working hours (9,11,14 UTC)"
    )


def test_the_same_volume_in_working_hours_is_not_an_alert(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, bulk("day", at(11, 14, 20), 30)) == []


def test_far_more_in_working_hours_is_medium(store: Store, tmp_path: Path) -> None:
    [alert] = detect(store, tmp_path, bulk("day", at(11, 14, 20), 60))
    assert alert.severity == "medium"
    assert alert.summary.endswith("per active hour, in working hours")


def test_syncs_count_as_one_folder_each(store: Store, tmp_path: Path) -> None:
    """A client downloading folders again and again at night: 100 Syncs are 100, not more."""
    assert detect(store, tmp_path, bulk("sync", at(11, 2), 100, per_record=0)) == []


def test_a_mailbox_without_history_is_not_judged(store: Store, tmp_path: Path) -> None:
    newcomer = [
        {**r, "MailboxOwnerUPN": "carol@contoso.onmicrosoft.com"} for r in bulk("c", at(11, 2), 30)
    ]
    assert detect(store, tmp_path, newcomer) == []


@pytest.mark.parametrize(("minimum", "alerts"), [(500, 1), (1000, 0)])
def test_min_hourly_messages_is_configurable(
    store: Store, tmp_path: Path, minimum: int, alerts: int
) -> None:
    found = detect(store, tmp_path, bulk("night", at(11, 2), 30), min_hourly_messages=minimum)
    assert len(found) == alerts
