"""The collection tests' world: a small simulated tenant, the emulator on loopback, a clock
both share, and a collect configuration pointing at the emulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailhunt.collect.clouds import CLOUDS
from mailhunt.collect.config import CollectConfig, Secret, TenantConfig
from mailhunt.emulate import Delivery, Emulator, Faults, Registration, TenantData, serve
from mailhunt.simulate import simulate_tenant

START = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 6
CLIENT_ID = "3f1c2a9e-7d4b-4c1e-9a0f-5b6d7e8f9a01"
SECRET = "Zq8~s3cr3t.VALUE-that-must-never-leak_42"  # noqa: S105 - the secret tests look for


class Clock:
    """The time both the emulator and the collector see, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self._lock:
            self.now = now


@dataclass
class World:
    emulator: Emulator
    base: str
    clock: Clock
    data: TenantData

    def config(self, land: Path, **tenant: object) -> CollectConfig:
        return CollectConfig((tenant_config(self.data.tenant_id, **tenant),), land, 24.0, self.base)


def tenant_config(tenant_id: str, **given: object) -> TenantConfig:
    values: dict[str, object] = {
        "name": "contoso",
        "tenant_id": tenant_id,
        "client_id": CLIENT_ID,
        "cloud": CLOUDS["global"],
        "secret": Secret(SECRET),
    }
    values.update(given)
    return TenantConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def test_bed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("testbed")
    simulate_tenant(folder, days=DAYS, users=7, start=START, seed=3)
    return folder


@pytest.fixture(scope="session")
def bed_data(test_bed: Path) -> TenantData:
    return TenantData.from_test_bed(test_bed)


@pytest.fixture
def world_factory(bed_data: TenantData) -> Iterator[object]:
    """Start an emulator over the test bed with the given delivery and faults."""
    stack: list[object] = []

    def make(
        delivery: Delivery | None = None,
        faults: Faults | None = None,
        registration: Registration | None = None,
    ) -> World:
        clock = Clock(START)
        emulator = Emulator(
            [(bed_data, registration or Registration(CLIENT_ID, secret=SECRET))],
            delivery=delivery,
            faults=faults,
            clock=clock,
            page_size=20,
        )
        server = serve(emulator)
        base = server.__enter__()
        stack.append(server)
        return World(emulator, base, clock, bed_data)

    yield make
    for server in reversed(stack):
        server.__exit__(None, None, None)  # type: ignore[attr-defined]


def passes(world: World, run: object, until: datetime, step: timedelta) -> None:
    """Collect once per step of the shared clock, from the test bed's start to `until`."""
    moment = START + step
    while moment <= until:
        world.clock.set(moment)
        run()  # type: ignore[operator]
        moment += step
