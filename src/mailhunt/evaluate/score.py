"""Scoring alerts against the test bed's ground truth.

An attack kind is *detected* when, for every injected instance of it, some alert cites one of
the instance's key records as evidence (the records only the attack wrote; an alert that merely
shares a tenant or a mailbox does not count). *Evidence recall* is the share of all the records
the attack wrote that alerts cite. A *false alert* cites no record any attack wrote; false
alerts are counted per 1000 mailbox-days (mailboxes x days simulated), by severity and by
analytic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mailhunt.alerts.query import Alert
from mailhunt.detect.base import SEVERITIES, SEVERITY_RANK
from mailhunt.simulate.model import Intrusion

# The acceptance lines of issue 9, per 1000 mailbox-days.
MAX_FALSE_HIGH = 0.5
MAX_FALSE_ANY = 5.0


@dataclass(frozen=True)
class KindScore:
    """How one attack kind fared."""

    kind: str
    instances: int
    detected: bool
    instances_detected: int
    analytics: tuple[str, ...]  # analytics whose alerts cite its key records
    records: int
    records_cited: int

    @property
    def evidence_recall(self) -> float:
        return self.records_cited / self.records if self.records else 0.0


@dataclass(frozen=True)
class Score:
    """The whole evaluation's figures."""

    kinds: tuple[KindScore, ...]
    mailbox_days: int
    alerts: int
    false_by_severity: dict[str, int] = field(default_factory=dict)
    false_by_analytic: dict[str, int] = field(default_factory=dict)

    @property
    def false_alerts(self) -> int:
        return sum(self.false_by_severity.values())

    def per_1000(self, count: int) -> float:
        return 1000.0 * count / self.mailbox_days if self.mailbox_days else 0.0

    @property
    def false_high_rate(self) -> float:
        high = sum(n for s, n in self.false_by_severity.items() if SEVERITY_RANK[s] >= 3)
        return self.per_1000(high)

    @property
    def false_any_rate(self) -> float:
        return self.per_1000(self.false_alerts)

    @property
    def failures(self) -> list[str]:
        """The acceptance lines that do not hold, in words (empty when all hold)."""
        failed = [f"{k.kind} not detected" for k in self.kinds if not k.detected]
        if self.false_high_rate > MAX_FALSE_HIGH:
            failed.append(
                f"false high/critical alerts {self.false_high_rate:.2f} per 1000 mailbox-days "
                f"(at most {MAX_FALSE_HIGH})"
            )
        if self.false_any_rate > MAX_FALSE_ANY:
            failed.append(
                f"false alerts {self.false_any_rate:.2f} per 1000 mailbox-days "
                f"(at most {MAX_FALSE_ANY})"
            )
        return failed


def score(alerts: Sequence[Alert], intrusions: Iterable[Intrusion], mailbox_days: int) -> Score:
    """Score ``alerts`` against the injected ``intrusions``."""
    by_kind: dict[str, list[Intrusion]] = {}
    for intrusion in intrusions:
        by_kind.setdefault(intrusion.kind, []).append(intrusion)
    cited: dict[str, set[str]] = {a.id: set(a.event_ids) for a in alerts}
    all_cited = set().union(*cited.values()) if cited else set()
    kinds = tuple(_kind(kind, found, alerts, cited, all_cited) for kind, found in by_kind.items())
    attack_records = {r for found in by_kind.values() for i in found for r in i.record_ids}
    false = [a for a in alerts if not cited[a.id] & attack_records]
    severities = Counter(a.severity for a in false)
    return Score(
        kinds=tuple(sorted(kinds, key=lambda k: k.kind)),
        mailbox_days=mailbox_days,
        alerts=len(alerts),
        false_by_severity={s: severities.get(s, 0) for s in SEVERITIES},
        false_by_analytic=dict(sorted(Counter(a.rule_id for a in false).items())),
    )


def _kind(
    kind: str,
    instances: list[Intrusion],
    alerts: Sequence[Alert],
    cited: dict[str, set[str]],
    all_cited: set[str],
) -> KindScore:
    analytics: set[str] = set()
    detected = 0
    for instance in instances:
        keys = set(instance.key_record_ids or instance.record_ids)
        catching = {a.rule_id for a in alerts if cited[a.id] & keys}
        analytics |= catching
        detected += bool(catching)
    records = {r for instance in instances for r in instance.record_ids}
    return KindScore(
        kind=kind,
        instances=len(instances),
        detected=detected == len(instances),
        instances_detected=detected,
        analytics=tuple(sorted(analytics)),
        records=len(records),
        records_cited=len(records & all_cited),
    )
