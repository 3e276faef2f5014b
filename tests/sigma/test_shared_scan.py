"""Sigma rules evaluated together (one shared query per table, sigma/analytic.py) raise
exactly the alerts each rule run alone raises: same ids, same content, same evidence, on a
simulated test bed (administrative attacks and noise) plus the hand-built world, with the
SigmaHQ cloud rules where present."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.ingest import ingest
from mailhunt.sigma import analytic
from mailhunt.sigma.analytic import run_sigma, to_analytic
from mailhunt.sigma.compiler import CONVERTED, Compiled, compile_rules
from mailhunt.sigma.loader import load_rules
from mailhunt.sigma.sandbox import lock_down
from mailhunt.simulate import simulate_tenant
from mailhunt.store.db import Store
from tests.sigma.test_sigmahq import RULES as SIGMAHQ
from tests.sigma.world import fill, rule_text

ALERT_COLUMNS = (
    "id, rule_id, title, severity, technique, entity, summary, tenant_ids, mailboxes, users, "
    "app_ids, client_ips, first_seen, last_seen, event_count, why, techniques, suppressed_by"
)

# (detection, log source, level, tags): many hits over several days, few, none, negations,
# several rules on one log source and on one table, both tables.
OWN_RULES = [
    ({"sel": {"Operation": "MailItemsAccessed"}}, ("m365", "audit"), "low", ()),
    ({"sel": {"Operation|contains": "inbox"}}, ("m365", "exchange"), "high", ("attack.t1114.003",)),
    (
        {"sel": {"Operation": "MailItemsAccessed"}, "condition": "not sel"},
        ("m365", "audit"),
        "medium",
        ("attack.collection", "attack.t1098", "attack.t1098"),
    ),
    ({"sel": {"Operation|startswith": "Set-"}}, ("m365", "exchange"), "critical", ()),
    ({"sel": {"UserAgent|contains": "'"}}, ("m365", "audit"), "informational", ()),
    ({"sel": {"Operation": "no such operation"}}, ("m365", "audit"), "high", ()),
    ({"sel": {"OperationName|contains": "consent"}}, ("azure", "auditlogs"), "high", ()),
    ({"sel": {"ResultType": 0}}, ("azure", "signinlogs"), "low", ("attack.t1078.004",)),
    ({"sel": {"Status": "Failure"}}, ("azure", "signinlogs"), "medium", ()),
    (
        {
            "sel": {"IPAddress|cidr": "10.0.0.0/8"},
            "other": {"UserAgent|re": "(?i)hound"},
            "condition": "sel or other",
        },
        ("azure", "signinlogs"),
        "high",
        (),
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store: a small simulated tenant with administrative attacks and noise, and the
    hand-built world (values with quotes, backslashes, NUL)."""
    folder = tmp_path_factory.mktemp("shared-scan")
    simulate_tenant(
        folder / "tenant",
        seed=5,
        days=6,
        users=8,
        attacks=("bec-inbox-rule", "illicit-consent", "admin-self-grant", "audit-tampering"),
    )
    db = folder / "bed.duckdb"
    with Store.open(db) as store:
        ingest(store, [folder / "tenant"])
        fill(store)
    return db


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> list[Compiled]:
    folder = tmp_path_factory.mktemp("rules")
    for n, (detection, (product, service), level, tags) in enumerate(OWN_RULES):
        text = rule_text(
            detection,
            product=product,
            service=service,
            level=level,
            tags=tags,
            rule_id=f"00000000-0000-4000-8000-{n:012d}",
        )
        (folder / f"own{n:02d}.yml").write_text(text.replace("Test rule", f"Rule 'n{n}'"), "utf-8")
    compiled = compile_rules(load_rules(folder))
    if SIGMAHQ.is_dir():
        compiled += compile_rules(load_rules(SIGMAHQ))
    return [c for c in compiled if c.status == CONVERTED]


Alerts = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]


def _alerts(store: Store) -> Alerts:
    return (
        store.query(f"SELECT {ALERT_COLUMNS} FROM alerts ORDER BY id"),
        store.query("SELECT alert_id, record_id FROM alert_evidence ORDER BY ALL"),
    )


@pytest.fixture(scope="module")
def alone(
    bed: Path, rules: list[Compiled], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Alerts, DetectSummary]:
    """The former path on a copy of the bed: one analytic (one query) per rule, through the
    runner; its alerts and summary."""
    db = tmp_path_factory.mktemp("alone") / "alone.duckdb"
    shutil.copy(bed, db)
    with Store.open(db) as store:
        lock_down(store)
        summary = run_detections(store, [to_analytic(c) for c in rules])
        return _alerts(store), summary


@pytest.fixture
def shared(bed: Path, tmp_path: Path) -> Iterator[Store]:
    """A copy of the bed for the shared scan."""
    shutil.copy(bed, tmp_path / "shared.duckdb")
    with Store.open(tmp_path / "shared.duckdb") as store:
        yield store


def _same(shared: Store, alone: tuple[Alerts, DetectSummary], other: DetectSummary) -> None:
    expected, one = alone
    assert _alerts(shared) == expected
    assert (other.detections, other.new_alerts, other.suppressed, other.failed) == (
        one.detections,
        one.new_alerts,
        one.suppressed,
        one.failed,
    )
    # the comparison is not of nothing: several rules fire, on both tables, over many records
    fired = {row[1] for row in expected[0]}
    assert len(fired) >= 6, fired
    assert any(
        str(row[5]).endswith('00000000-0000-4000-8000-000000000007"]') for row in expected[0]
    )
    assert len(expected[1]) > 500


def test_shared_scan_raises_what_each_rule_alone_raises(
    shared: Store, rules: list[Compiled], alone: tuple[Alerts, DetectSummary]
) -> None:
    _same(shared, alone, run_sigma(shared, rules))
    assert not shared.query("SELECT * FROM duckdb_tables() WHERE temporary")  # nothing left
    again = run_sigma(shared, rules)  # a rerun adds nothing
    assert sum(again.new_alerts.values()) == 0
    assert _alerts(shared) == alone[0]


def test_a_refused_shared_query_runs_the_rules_one_by_one(
    shared: Store,
    rules: list[Compiled],
    alone: tuple[Alerts, DetectSummary],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analytic, "shared_detection_sql", lambda *_: "COPY events TO 'x.csv'")
    _same(shared, alone, run_sigma(shared, rules))


def test_a_stopped_run_names_the_rules_not_run(shared: Store, rules: list[Compiled]) -> None:
    asked = iter([False, False, True])  # the first table, its first rule, then stop
    summary = run_sigma(shared, rules, should_stop=lambda: next(asked, True))
    ids = [to_analytic(c, check=False).id for c in rules]
    assert len(summary.detections) == 1
    assert sorted([*summary.detections, *summary.not_run]) == sorted(ids)
