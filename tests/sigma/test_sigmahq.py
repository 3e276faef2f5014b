"""The SigmaHQ cloud rules (142 m365/azure rules, unmodified, in ../shared/data/sigma or
MAILHUNT_SIGMA_RULES): each converts or says why not; the counts are pinned so a change of
the pipelines or the backend shows here (and in docs/sigma.md)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from mailhunt.sigma.compiler import CONVERTED, ERROR, UNSUPPORTED, compile_rules
from mailhunt.sigma.loader import load_rules

REPO = Path(__file__).resolve().parents[2]
RULES = (
    Path(
        os.environ.get("MAILHUNT_SIGMA_RULES")
        or REPO.parent / "shared" / "data" / "sigma" / "rules"
    )
    / "cloud"
)

pytestmark = pytest.mark.skipif(
    not RULES.is_dir(), reason=f"SigmaHQ rules not found at {RULES} (set MAILHUNT_SIGMA_RULES)"
)


def test_every_sigmahq_cloud_rule_converts_or_says_why() -> None:
    results = compile_rules(load_rules(RULES))
    assert len(results) == 142
    counts = Counter(r.status for r in results)
    assert counts == {CONVERTED: 115, UNSUPPORTED: 27}, counts
    assert not [r for r in results if r.status == ERROR]
    assert all(r.reason for r in results if r.status == UNSUPPORTED)
    reasons = Counter(r.reason.split(":")[0] for r in results if r.status == UNSUPPORTED)
    assert reasons["log source not collected (product=azure, service=pim)"] == 7
    assert reasons["keyword search (a value without a field)"] == 3  # activitylogs
    fields = sum(n for reason, n in reasons.items() if reason.startswith("field "))
    assert fields == 17, reasons
    by_folder = Counter(Path(r.path).parent.name for r in results if r.status == CONVERTED)
    assert by_folder["activity_logs"] == 32
    assert by_folder["threat_management"] == 12  # one needs Payload (the alert's Data)
