"""What an attack or a noise source is given: the tenant, its people, their mail, and the sink
every record goes to.

Attacks (``simulate/attacks/``) and noise sources (``simulate/noise/``) are one module each; each
draws from its own ``Random`` (``Scene.rng``), so adding one never changes the records of the
others or of the benign tenant around them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from mailhunt.simulate.benign import Tenant
from mailhunt.simulate.mailstore import MailStore
from mailhunt.simulate.people import Cast
from mailhunt.simulate.tokens import Record, Sink


@dataclass
class Scene:
    """One simulated tenant being written: ``day`` is the day index attacks start on."""

    seed: int
    tenant: Tenant
    cast: Cast
    store: MailStore
    sink: Sink
    day: int
    # Seed of the actor behind the attacks: tenants simulated with the same campaign seed are
    # attacked by the same infrastructure (the cross-tenant campaign of the evaluation).
    campaign_seed: int = 0
    planted: list[str] = field(default_factory=list)  # noise sources planted, for the truth

    def rng(self, name: str) -> random.Random:
        """A ``Random`` of this tenant's own for ``name`` (an attack or noise source)."""
        return random.Random(f"{self.seed}/{name}")

    def actor_rng(self, name: str) -> random.Random:
        """A ``Random`` shared by every tenant of the same campaign: the actor's infrastructure
        (addresses, client application ids) drawn from it is the same in each."""
        return random.Random(f"campaign/{self.campaign_seed}/{name}")

    def add_ual(self, at: datetime, record: Record) -> None:
        self.sink.ual.append((at, record))

    def add_signin(self, at: datetime, record: Record, *, app_only: bool = False) -> None:
        (self.sink.app_signins if app_only else self.sink.signins).append((at, record))
