"""Scoring incidents against the test bed's ground truth (issue 10's acceptance lines).

Per injected intrusion (one per tenant: a cross-tenant intrusion is one per tenant it reached,
so per-tenant incidents linked by a campaign id are what is expected): how many incidents hold
any of its records (exactly one is the line), the share of its records the incident attributes
(``event_ids``) and of the messages it read (``messages``). Precision, over the incidents that
hold an intrusion: the share of their attributed records some intrusion wrote. Campaign ids: the
incidents of a cross-tenant intrusion share one; an intrusion of one tenant's incident has none
(its notice would tell the tenant the actor was seen elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailhunt.investigate.model import Incident
from mailhunt.simulate.attacks import ATTACKS
from mailhunt.simulate.model import Intrusion

MIN_RECALL = 0.99
MIN_PRECISION = 0.99


@dataclass(frozen=True)
class IntrusionScore:
    """How the incidents cover one injected intrusion."""

    kind: str
    tenant_id: str
    incidents: tuple[str, ...]  # ids of the incidents holding any of its records
    campaign_ids: tuple[str, ...]
    records: int
    records_attributed: int
    messages: int
    messages_attributed: int
    cross_tenant: bool = False  # an attack kind reaching several tenants (one campaign)

    @property
    def record_recall(self) -> float:
        return self.records_attributed / self.records if self.records else 1.0

    @property
    def message_recall(self) -> float:
        return self.messages_attributed / self.messages if self.messages else 1.0


@dataclass(frozen=True)
class IncidentScore:
    """The incidents' figures over the whole test bed."""

    intrusions: tuple[IntrusionScore, ...]
    incidents: int
    incidents_with_intrusion: int
    attributed: int  # records attributed by incidents holding an intrusion
    attributed_foreign: int  # of them, records no intrusion wrote

    @property
    def precision(self) -> float:
        return 1.0 - self.attributed_foreign / self.attributed if self.attributed else 1.0

    @property
    def record_recall(self) -> float:
        total = sum(i.records for i in self.intrusions)
        return sum(i.records_attributed for i in self.intrusions) / total if total else 1.0

    @property
    def message_recall(self) -> float:
        total = sum(i.messages for i in self.intrusions)
        return sum(i.messages_attributed for i in self.intrusions) / total if total else 1.0

    @property
    def failures(self) -> list[str]:
        failed = []
        for i in self.intrusions:
            name = f"{i.kind} in {i.tenant_id[:8]}"
            if len(i.incidents) != 1:
                failed.append(f"{name}: in {len(i.incidents)} incidents (exactly 1 expected)")
            if i.record_recall < MIN_RECALL:
                failed.append(f"{name}: record recall {i.record_recall:.1%}")
            if i.message_recall < MIN_RECALL:
                failed.append(f"{name}: message recall {i.message_recall:.1%}")
            if not i.cross_tenant and i.campaign_ids:
                failed.append(f"{name}: campaign id {', '.join(i.campaign_ids)} (one tenant's)")
        campaigns: dict[str, set[tuple[str, ...]]] = {}
        for i in self.intrusions:
            if i.cross_tenant:
                campaigns.setdefault(i.kind, set()).add(i.campaign_ids)
        for kind, ids in sorted(campaigns.items()):
            if len(ids) != 1 or len(next(iter(ids))) != 1:
                failed.append(f"{kind}: its tenants' incidents do not share one campaign id")
        if self.precision < MIN_PRECISION:
            failed.append(f"incident record precision {self.precision:.1%}")
        return failed


def score_incidents(
    incidents: Sequence[Incident], intrusions: Iterable[Intrusion]
) -> IncidentScore:
    """Score the incidents against the injected intrusions."""
    found = list(intrusions)
    attack_records = {r for i in found for r in i.record_ids}
    held = [(incident, set(incident.event_ids), set(incident.messages)) for incident in incidents]
    scores = []
    holding: set[str] = set()
    for intrusion in found:
        records = set(intrusion.record_ids)
        messages = set(intrusion.internet_message_ids)
        mine = [(x, e, m) for x, e, m in held if e & records]
        holding |= {x.id for x, _, _ in mine}
        got_records = set().union(*(e for _, e, _ in mine)) if mine else set()
        got_messages = set().union(*(m for _, _, m in mine)) if mine else set()
        scores.append(
            IntrusionScore(
                kind=intrusion.kind,
                tenant_id=intrusion.tenant_id,
                incidents=tuple(sorted(x.id for x, _, _ in mine)),
                campaign_ids=tuple(sorted({x.campaign_id for x, _, _ in mine if x.campaign_id})),
                records=len(records),
                records_attributed=len(records & got_records),
                messages=len(messages),
                messages_attributed=len(messages & got_messages),
                cross_tenant=intrusion.kind in ATTACKS
                and not ATTACKS[intrusion.kind].single_tenant,
            )
        )
    attributed = set().union(*(e for x, e, _ in held if x.id in holding)) if holding else set()
    return IncidentScore(
        intrusions=tuple(sorted(scores, key=lambda s: (s.kind, s.tenant_id))),
        incidents=len(incidents),
        incidents_with_intrusion=len(holding),
        attributed=len(attributed),
        attributed_foreign=len(attributed - attack_records),
    )
