"""Scoring alerts against ground truth: detection by key records, recall, false-alert rates."""

from __future__ import annotations

from datetime import UTC, datetime

from mailhunt.alerts.query import Alert
from mailhunt.evaluate.score import score
from mailhunt.simulate.model import Intrusion

T = datetime(2026, 6, 1, tzinfo=UTC)


def alert(alert_id: str, rule: str, severity: str, evidence: list[str]) -> Alert:
    return Alert(
        alert_id, rule, rule, severity, "T1114.002", "[]", "", [], [], [], [], [], T, T,
        len(evidence), T, evidence,
    )  # fmt: skip


def intrusion(kind: str, records: tuple[str, ...], keys: tuple[str, ...] = ()) -> Intrusion:
    return Intrusion(kind, "t", "", "", (), (), records, (), T, T, key_record_ids=keys)


def test_a_kind_is_detected_only_when_an_alert_cites_a_key_record_of_every_instance() -> None:
    spray = intrusion("bec", ("s1", "s2", "rule"), keys=("rule",))
    read_1 = intrusion("read", ("r1", "r2"))
    read_2 = intrusion("read", ("r3",))
    alerts = [
        alert("a", "spray-rule", "medium", ["s1", "s2"]),  # cites the spray, not the rule
        alert("b", "first-seen", "high", ["r1"]),
    ]
    result = score(alerts, [spray, read_1, read_2], mailbox_days=1000)
    kinds = {k.kind: k for k in result.kinds}
    assert not kinds["bec"].detected
    assert kinds["bec"].records_cited == 2
    assert (kinds["read"].detected, kinds["read"].instances_detected) == (False, 1)
    assert kinds["read"].analytics == ("first-seen",)
    assert kinds["read"].evidence_recall == 1 / 3
    assert result.false_alerts == 0
    assert result.failures == ["bec not detected", "read not detected"]


def test_false_alerts_cite_no_attack_record_and_are_rated_per_1000_mailbox_days() -> None:
    read = intrusion("read", ("r1",))
    alerts = [
        alert("a", "first-seen", "high", ["r1", "benign"]),
        alert("b", "first-seen", "low", ["benign-2"]),
        alert("c", "new-network", "critical", ["benign-3"]),
    ]
    result = score(alerts, [read], mailbox_days=2000)
    assert [k.detected for k in result.kinds] == [True]
    assert result.false_by_analytic == {"first-seen": 1, "new-network": 1}
    assert result.false_by_severity["low"] == 1
    assert result.false_by_severity["critical"] == 1
    assert result.false_any_rate == 1.0
    assert result.false_high_rate == 0.5
    assert result.failures == []
    worse = score([*alerts, alert("d", "x", "high", ["benign-4"])], [read], mailbox_days=2000)
    assert worse.failures == ["false high/critical alerts 1.00 per 1000 mailbox-days (at most 0.5)"]
