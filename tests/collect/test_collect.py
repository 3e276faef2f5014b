"""Collection against the emulator on loopback: what a collect stores equals ingesting the same
records from files, whatever the feeds do (duplicates, shuffling, lateness, throttling, a crash
between landing and commit, an absence longer than retention)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mailhunt.collect import collect
from mailhunt.detect.runner import run_detections
from mailhunt.emulate import Delivery, Faults
from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.store.checkpoints import Checkpoints
from mailhunt.store.db import Store
from tests.collect.conftest import DAYS, START, World, passes

PROVENANCE = {"source_ref", "file_sha256", "record_ordinal", "ingest_run_id"}
WorldFactory = Callable[..., World]


def _rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    columns = [c for c in TABLES_BY_NAME[table].column_names if c not in PROVENANCE]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return sorted(store.query(f"SELECT {quoted} FROM {table}"), key=repr)


def _alerts(store: Store) -> set[tuple[Any, ...]]:
    run_detections(store)
    return set(store.query("SELECT id, rule_id, entity, severity FROM alerts"))


@pytest.fixture(scope="module")
def reference(test_bed: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The test bed ingested from its files, detections run."""
    store = Store.open(tmp_path_factory.mktemp("reference") / "files.duckdb")
    ingest(store, [test_bed / "ual", test_bed / "signins"])
    return store


def _collector(world: World, store: Store, land: Path, **options: Any) -> Callable[[], Any]:
    config = world.config(land)
    return lambda: collect(config, store, clock=world.clock, backoff=0.02, **options)


def test_a_clean_collect_equals_ingesting_the_same_records_from_files(
    world_factory: WorldFactory, reference: Store, tmp_path: Path
) -> None:
    world = world_factory()
    store = Store.open(tmp_path / "collected.duckdb")
    run = _collector(world, store, tmp_path / "land")
    passes(world, run, START + timedelta(days=DAYS + 1), timedelta(days=2))

    for table in ("events", "signins"):
        assert _rows(store, table) == _rows(reference, table)
    assert store.count("quarantine") == 0
    management = [e for e in world.emulator.plan.entries() if e.host == "manage.office.com"]
    assert management
    assert all(e.publisher == world.data.tenant_id for e in management)
    # the landed gzip files are the evidence: a record's bytes are read back from them
    record_id = str(store.query("SELECT record_id FROM events LIMIT 1")[0][0])
    evidence = original_bytes(store, record_id)
    assert evidence.source_ref.startswith(str(tmp_path / "land"))
    assert ".json.gz!" in evidence.source_ref
    assert record_id.encode() in evidence.data
    landed = sorted((tmp_path / "land").rglob("*.json.gz"))
    assert landed
    assert all(p.read_bytes()[:2] == b"\x1f\x8b" for p in landed)
    statuses = {(s.feed, s.gaps, s.last_error) for s in Checkpoints(store).status()}
    assert ("Audit.Exchange", 0, None) in statuses


def test_duplicated_shuffled_and_late_delivery_gives_the_alerts_of_one_clean_delivery(
    world_factory: WorldFactory, reference: Store, tmp_path: Path
) -> None:
    delivery = Delivery(
        seed=5,
        copies=(2, 5),
        shuffle=True,
        late_fraction=0.25,
        late_days=(1.0, 5.0),
        signin_late_fraction=0.2,
        signin_late_hours=(1.0, 6.0),
    )
    world = world_factory(delivery)
    repeated = {b.content_id for b in world.emulator.tenants[world.data.tenant_id].blobs}
    assert len(repeated) < len(world.emulator.tenants[world.data.tenant_id].blobs)
    store = Store.open(tmp_path / "collected.duckdb")
    run = _collector(world, store, tmp_path / "land")
    passes(world, run, START + timedelta(days=DAYS + 6), timedelta(days=3))

    assert _rows(store, "events") == _rows(reference, "events")
    assert _rows(store, "signins") == _rows(reference, "signins")
    assert store.count("quarantine") == 0
    expected = _alerts(reference)
    assert expected
    assert _alerts(store) == expected


def test_a_throttling_storm_loses_nothing_and_never_calls_before_retry_after(
    world_factory: WorldFactory, reference: Store, tmp_path: Path
) -> None:
    faults = Faults(
        seed=2,
        throttle=0.3,
        max_throttles=4,
        retry_after=1,
        server_error=0.05,
        reset=0.05,
        expire_tokens_every=25,
    )
    world = world_factory(faults=faults)
    store = Store.open(tmp_path / "collected.duckdb")
    world.clock.set(START + timedelta(days=DAYS, hours=12))
    report = _collector(world, store, tmp_path / "land")()

    assert not report.errors
    assert _rows(store, "events") == _rows(reference, "events")
    assert _rows(store, "signins") == _rows(reference, "signins")
    log = world.emulator.plan.entries()
    faults_seen = {e.fault for e in log}
    assert {"throttle", "forbidden-throttle", "reset", "expire-tokens"} <= faults_seen
    assert any(e.status == 403 and e.fault == "forbidden-throttle" for e in log)
    throttled = [n for n, e in enumerate(log) if e.retry_after]
    assert len(throttled) == 4
    for n in throttled:
        later = log[n + 1 :]
        assert later, "a throttled request is retried"
        assert later[0].at - log[n].at >= log[n].retry_after  # type: ignore[operator]
    assert report.throttled == 4


class _Crash(Exception):
    """The process dies between landing a blob and committing it."""


def test_a_crash_between_land_and_commit_never_leaves_the_checkpoint_ahead(
    world_factory: WorldFactory, reference: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = world_factory(Delivery(seed=9, copies=(1, 3)))
    path = tmp_path / "collected.duckdb"
    store = Store.open(path)
    run = _collector(world, store, tmp_path / "land")
    world.clock.set(START + timedelta(days=3))
    run()
    calls = {"n": 0}
    real = Checkpoints.add_content

    def dying(self: Checkpoints, rows: Any) -> None:
        calls["n"] += 1
        real(self, rows)
        if calls["n"] == 2:  # the rows are written, the commit never happens
            raise _Crash

    monkeypatch.setattr(Checkpoints, "add_content", dying)
    world.clock.set(START + timedelta(days=DAYS, hours=12))
    with pytest.raises(_Crash):
        run()
    store.close()
    monkeypatch.setattr(Checkpoints, "add_content", real)

    store = Store.open(path)  # what a restarted process finds
    _check_checkpoint_covers_data(world, store)
    collect(world.config(tmp_path / "land"), store, clock=world.clock, backoff=0.02)
    _check_checkpoint_covers_data(world, store)
    assert _rows(store, "events") == _rows(reference, "events")
    assert store.scalar("SELECT count(*) - count(DISTINCT record_id) FROM events") == 0


def _check_checkpoint_covers_data(world: World, store: Store) -> None:
    """Every content recorded is stored, and every record of a blob listed before a cursor
    is stored: the checkpoint is never ahead of the data."""
    stored = {str(r[0]) for r in store.query("SELECT record_id FROM events")}
    activity = "SELECT content_id FROM collect_content WHERE feed LIKE 'Audit.%'"
    for (content_id,) in store.query(activity):
        blob = next(
            b for b in world.emulator.tenants[world.data.tenant_id].blobs
            if b.content_id == content_id
        )  # fmt: skip
        assert set(blob.record_ids) <= stored
    for feed, end in store.query("SELECT feed, window_end FROM collect_cursors"):
        for blob in world.emulator.tenants[world.data.tenant_id].blobs:
            if blob.content_type == feed and end is not None and blob.created < end:
                assert set(blob.record_ids) <= stored, (feed, blob.content_id)


def test_an_absence_longer_than_retention_is_recorded_as_a_gap(
    world_factory: WorldFactory, tmp_path: Path
) -> None:
    world = world_factory()
    store = Store.open(tmp_path / "collected.duckdb")
    run = _collector(world, store, tmp_path / "land")
    world.clock.set(START + timedelta(days=1))
    run()
    world.clock.set(START + timedelta(days=12))
    report = run()

    gaps = store.query("SELECT feed, gap_start, gap_end FROM collect_gaps ORDER BY feed")
    assert [g[0] for g in gaps] == ["Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.General"]
    assert all(g[1] == START + timedelta(days=1) for g in gaps)
    assert all(g[2] == START + timedelta(days=5, minutes=10) for g in gaps)
    assert sum(f.gaps for f in report.feeds) == 3
    status = {s.feed: s for s in Checkpoints(store).status()}
    assert status["Audit.Exchange"].gaps == 1
    assert status["Audit.Exchange"].gap_hours == pytest.approx(96 + 1 / 6)
