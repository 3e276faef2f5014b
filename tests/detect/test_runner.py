"""The detection runner: alert ids are deterministic, reruns and re-ingests never double alerts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from mailhunt.alerts.query import list_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import Analytic, Shared
from mailhunt.detect.runner import parameters_for, run_detections
from mailhunt.errors import InputError
from mailhunt.ingest import ingest
from mailhunt.report.alerts import alert_record
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, OUTLOOK, at, check_golden, mail_access, write_jsonl

SCENARIO = FIXTURES / "scenario"
ANALYTIC = ANALYTICS["mailbox-first-seen-app"]
MAILBOX = "alice@contoso.onmicrosoft.com"
NONE = dict.fromkeys(ANALYTICS, 0)  # every registered analytic runs; those not named find nothing


# What the network analytics raise on the scenario: the intruder's server and the admin's
# 3 a.m. read from an address neither they nor the mailbox used (no sync there).
NET = {"new-network-for-mailbox": 2, "sync-from-new-context": 0}
QUIET = {"new-network-for-mailbox": 0, "sync-from-new-context": 0}


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
    assert summary.detections == {**NONE, "mailbox-first-seen-app": 1, **NET}
    assert summary.new_alerts == {**NONE, "mailbox-first-seen-app": 1, **NET}
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
    assert again.detections == {**NONE, "mailbox-first-seen-app": 1, **NET}
    assert store.query("SELECT id, created_at, event_count FROM alerts ORDER BY id") == before
    assert store.count("alert_evidence") == 5


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
        assert len(alert_ids(one)) == 3
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


# -- collision-free ids, isolated analytics -------------------------------------------------------

BROKEN = replace(ANALYTIC, id="broken-sql", sql="SELECT * FROM no_such_table")
# Every detection twice: the second copy has the first one's alert id.
DOUBLED = replace(
    ANALYTIC, id="doubled", sql=f"SELECT * FROM ({ANALYTIC.sql}) UNION ALL ({ANALYTIC.sql})"
)


def test_entities_that_join_alike_raise_two_alerts(store: Store, tmp_path: Path) -> None:
    """Tenant 't|x' with app 'a' and tenant 't' with app 'x|a' once shared an alert id (their
    parts joined by '|'): detect stopped on a primary-key error and raised nothing."""
    records = []
    for tenant, app in (("t|x", "a"), ("t", "x|a")):
        records += [
            mail_access(f"old-{len(records)}", at(0), MAILBOX, OUTLOOK, tenant=tenant),
            mail_access(f"new-{len(records)}", at(10), MAILBOX, app, tenant=tenant),
        ]
    write_jsonl(tmp_path / "ual.jsonl", records)
    assert ingest(store, [tmp_path]).records_new == 4
    summary = run_detections(store)
    assert summary.failed == {}
    assert summary.new_alerts == {**NONE, "mailbox-first-seen-app": 2}
    alerts = list_alerts(store)
    assert sorted(json.loads(a.entity) for a in alerts) == [["t", "x|a"], ["t|x", "a"]]
    assert len({a.id for a in alerts}) == 2


def test_alert_id_hashes_the_parts_as_json(store: Store) -> None:
    ingest(store, [SCENARIO])
    run_detections(store)
    [(alert_id, entity, bucket)] = store.query(
        "SELECT id, entity, strftime(date_trunc('day', first_seen), '%Y-%m-%dT%H:%M:%SZ') "
        "FROM alerts WHERE rule_id = ?",
        [ANALYTIC.id],
    )
    encoded = json.dumps([ANALYTIC.id, entity, bucket], separators=(",", ":"))
    assert alert_id == hashlib.sha256(encoded.encode()).hexdigest()[:32]


@pytest.mark.parametrize("failing", [BROKEN, DOUBLED], ids=["sql-fails", "write-fails"])
def test_a_failing_analytic_does_not_stop_the_others(store: Store, failing: Analytic) -> None:
    ingest(store, [SCENARIO])
    summary = run_detections(store, analytics=[failing, ANALYTIC])
    assert list(summary.failed) == [failing.id]
    message = summary.failed[failing.id]
    assert "\n" not in message
    assert ("no_such_table" if failing is BROKEN else "duplicate key") in message
    assert summary.new_alerts == {"mailbox-first-seen-app": 1}
    assert store.query("SELECT DISTINCT rule_id FROM alerts") == [("mailbox-first-seen-app",)]
    assert store.count("alert_evidence") == 2


def test_a_failing_analytic_keeps_its_earlier_alerts(store: Store) -> None:
    ingest(store, [SCENARIO])
    run_detections(store)
    before = store.query("SELECT * FROM alerts")
    doubled_real = replace(DOUBLED, id=ANALYTIC.id)  # would replace the stored alert, then fails
    summary = run_detections(store, analytics=[doubled_real])
    assert list(summary.failed) == [ANALYTIC.id]
    assert store.query("SELECT * FROM alerts") == before


def test_stop_requested_runs_no_further_analytic(store: Store) -> None:
    ingest(store, [SCENARIO])
    calls: list[int] = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1  # asked before each analytic: stop before the second

    other = replace(ANALYTIC, id="other")
    summary = run_detections(store, analytics=[ANALYTIC, other], should_stop=stop)
    assert summary.new_alerts == {"mailbox-first-seen-app": 1}
    assert summary.not_run == ["other"]
    assert store.query("SELECT DISTINCT rule_id FROM alerts") == [("mailbox-first-seen-app",)]


# -- shared relations ----------------------------------------------------------------------------


def _counting_shared(log_table: str) -> Shared:
    """A shared relation whose one step also counts its builds (a sequence's next value)."""
    return Shared(
        "counted",
        (("counted", f"SELECT nextval('{log_table}') AS build, $min_history_days AS days"),),
    )


def _reader(analytic_id: str, shared: Shared) -> Analytic:
    """An analytic that reads the shared relation and finds nothing."""
    return replace(
        ANALYTIC,
        id=analytic_id,
        sql=f"WITH {shared.ctes()} SELECT * FROM ({ANALYTIC.sql}) WHERE "
        "(SELECT count(*) FROM counted) < 0",
        shared=(shared,),
    )


def test_shared_relation_is_built_once_per_run_and_per_values(store: Store) -> None:
    store.run("CREATE SEQUENCE builds")
    shared = _counting_shared("builds")
    first, second = _reader("reader-1", shared), _reader("reader-2", shared)
    summary = run_detections(store, analytics=[first, second])
    assert summary.failed == {}
    assert store.scalar("SELECT nextval('builds')") == 2  # built once, for both readers
    # another value of a parameter its step binds: built again for the analytic that differs
    run_detections(
        store,
        analytics=[first, second],
        configured={"reader-2": {"min_history_days": 3}},
    )
    assert store.scalar("SELECT nextval('builds')") == 5
    # and dropped after the run
    assert (
        store.scalar(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_shared\\_%' ESCAPE '\\'"
        )
        == 0
    )


def test_shared_steps_read_the_steps_before_them() -> None:
    shared = Shared(
        "two", (("a", "SELECT 1 AS x"), ("b", "WITH c AS (FROM a) SELECT x + 1 FROM c"))
    )
    [(_, first, ()), (_, second, ())] = shared.statements()
    assert first == "SELECT 1 AS x"
    assert second.startswith("WITH a AS (FROM temp.main._shared_a),\nc AS (FROM a)")


def test_analytic_whose_root_records_are_absent_is_not_run(store: Store, tmp_path: Path) -> None:
    """``requires`` names the records every detection starts from: with none stored the query
    is not even planned (a broken one would fail otherwise), with some it runs."""
    write_jsonl(tmp_path / "ual.jsonl", [mail_access("r1", at(1), MAILBOX, OUTLOOK)])
    assert ingest(store, [tmp_path]).records_new == 1
    absent = replace(BROKEN, id="absent", requires="operation = 'Set-CASMailbox'")
    present = replace(BROKEN, id="present", requires="operation = 'MailItemsAccessed'")
    summary = run_detections(store, analytics=[absent, present])
    assert summary.detections["absent"] == 0
    assert "absent" not in summary.failed
    assert "present" in summary.failed  # its query ran (and failed: no such table)
