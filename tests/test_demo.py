"""The demo: a simulated tenant with an injected intrusion, caught end to end."""

from __future__ import annotations

import time

import pytest

from mailhunt.demo import DemoResult, run_demo
from mailhunt.simulate import FORGED_TOKEN_MAIL_READ


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, float]:
    started = time.monotonic()
    result = run_demo(tmp_path_factory.mktemp("demo"))
    return result, time.monotonic() - started


def test_demo_catches_the_injected_intrusion(demo: tuple[DemoResult, float]) -> None:
    result, _ = demo
    assert [i.kind for i in result.tenant.intrusions] == [FORGED_TOKEN_MAIL_READ]
    caught = result.caught_by[FORGED_TOKEN_MAIL_READ]
    assert caught
    alerts = {a.id: a for a in result.alerts}
    severities = {alerts[alert_id].severity for alert_id in caught}
    assert severities & {"high", "critical"}
    assert severities <= {"medium", "high", "critical"}  # tenant-rare-app is medium
    intrusion = result.tenant.intrusions[0]
    catching = next(alerts[i] for i in caught if alerts[i].rule_id == "mailbox-first-seen-app")
    assert set(intrusion.mailboxes) <= set(catching.mailboxes)
    assert intrusion.app_id in catching.app_ids


def test_demo_raises_at_most_five_alerts_beside_the_intrusion(
    demo: tuple[DemoResult, float],
) -> None:
    """Every analytic may raise its own alert on the intrusion; the others must stay few."""
    result, _ = demo
    caught = {alert_id for ids in result.caught_by.values() for alert_id in ids}
    assert caught
    assert len([a for a in result.alerts if a.id not in caught]) <= 5
    assert result.detect.total_new == len(result.alerts)


def test_demo_ingests_cleanly_and_quickly(demo: tuple[DemoResult, float]) -> None:
    result, seconds = demo
    assert result.ingest.quarantined == 0
    assert all(f.status == "ingested" for f in result.ingest.files)
    assert result.database == result.folder / "mailhunt.duckdb"
    assert result.database.is_file()
    assert seconds < 60
