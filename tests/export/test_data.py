"""What an export reads: alerts no suppression holds, each with its evidence's access contexts
(events and sign-ins) grouped by client IP, application and user agent."""

from __future__ import annotations

from mailhunt.export.data import read_alert_findings
from mailhunt.store.db import Store
from tests.export.world import AGENT, ALERT_HIGH, ALERT_LOW, ATTACKER_IP, ATTACKER_IP6
from tests.helpers import ROGUE_APP, at


def test_findings_and_contexts(world: Store) -> None:
    findings = {f.alert.id: f for f in read_alert_findings(world)}
    assert sorted(findings) == [ALERT_HIGH, ALERT_LOW]  # the suppressed alert is left out
    high = findings[ALERT_HIGH].access
    assert [(c.client_ip, c.app_id, c.user_agent, c.records) for c in high] == [
        (ATTACKER_IP, ROGUE_APP, AGENT, 2),
        (ATTACKER_IP6, ROGUE_APP, AGENT, 1),
    ]
    assert high[0].first_seen == at(10, 2, 0)
    assert high[0].last_seen == at(10, 2, 10)
    assert high[0].session_ids == ["sess-1"]
    assert high[0].token_ids == ["uti-1", "uti-2"]
    low = findings[ALERT_LOW].access
    assert [(c.client_ip, c.session_ids, c.token_ids) for c in low] == [
        ("10.9.8.7", ["sess-1"], ["uti-4"]),
        (ATTACKER_IP, ["sess-9"], ["uti-9"]),  # the sign-in
    ]
