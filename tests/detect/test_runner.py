"""The detection runner: alert ids are deterministic, reruns and re-ingests never double alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.alerts.query import list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.runner import parameters_for, run_detections
from mailhunt.errors import InputError
from mailhunt.ingest import ingest
from mailhunt.report.alerts import alert_record
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, check_golden

SCENARIO = FIXTURES / "scenario"
ANALYTIC = ANALYTICS["mailbox-first-seen-app"]


def alert_ids(store: Store) -> list[str]:
    return [r[0] for r in store.query("SELECT id FROM alerts ORDER BY id")]


def build(path: Path | None) -> Store:
    store = Store.open(path)
    ingest(store, [SCENARIO])
    run_detections(store)
    return store


def test_scenario_alerts_match_golden(store: Store) -> None:
    ingest(store, [SCENARIO])
    summary = run_detections(store)
    assert summary.detections == {"mailbox-first-seen-app": 1, "token-without-signin": 0}
    assert summary.new_alerts == {"mailbox-first-seen-app": 1, "token-without-signin": 0}
    records = [alert_record(a) for a in list_alerts(store)]
    for record in records:
        del record["created_at"]  # when the alert was raised: the only field that varies
    check_golden("alerts/scenario.json", records)


def test_rerun_gives_same_ids_and_keeps_created_at(store: Store) -> None:
    ingest(store, [SCENARIO])
    run_detections(store)
    before = store.query("SELECT id, created_at, event_count FROM alerts ORDER BY id")
    again = run_detections(store)
    assert again.total_new == 0
    assert again.detections == {"mailbox-first-seen-app": 1, "token-without-signin": 0}
    assert store.query("SELECT id, created_at, event_count FROM alerts ORDER BY id") == before
    assert store.count("alert_evidence") == 2


def test_reingest_duplicates_then_detect_gives_same_ids(store: Store, tmp_path: Path) -> None:
    ingest(store, [SCENARIO])
    run_detections(store)
    ids = alert_ids(store)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((SCENARIO / "ual.jsonl").read_bytes())
    assert ingest(store, [SCENARIO, copy]).records_new == 0
    assert run_detections(store).total_new == 0
    assert alert_ids(store) == ids


def test_ids_are_the_same_in_two_fresh_databases(tmp_path: Path) -> None:
    with build(tmp_path / "one.duckdb") as one, build(tmp_path / "two.duckdb") as two:
        assert alert_ids(one) == alert_ids(two)
        assert len(alert_ids(one)) == 1
        assert [a.event_ids for a in list_alerts(one)] == [a.event_ids for a in list_alerts(two)]


def test_no_analytics_means_no_alerts(store: Store) -> None:
    ingest(store, [SCENARIO])
    assert run_detections(store, analytics=[]).detections == {}
    assert store.count("alerts") == 0


def test_parameters_for_takes_only_the_analytic_own_overrides() -> None:
    assert parameters_for(ANALYTIC, {}) == {"baseline_days": 14, "min_history_days": 7}
    assert parameters_for(ANALYTIC, {"baseline_days": 3, "unrelated": 1}) == {
        "baseline_days": 3,
        "min_history_days": 7,
    }


@pytest.mark.parametrize("value", [-1, "14", 1.5])
def test_bad_parameter_is_an_input_error(store: Store, value: object) -> None:
    with pytest.raises(InputError, match="baseline_days must be a whole number"):
        run_detections(store, overrides={"baseline_days": value})
    assert store.count("alerts") == 0
