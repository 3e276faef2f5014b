"""The test bed ``mailhunt evaluate`` generates: which tenant carries which attacks.

Every registered attack kind is injected (``simulate/attacks/``), spread round-robin over the
tenants so each tenant carries one or two; a kind that needs several tenants (a cross-tenant
campaign) is injected into up to three, all with the same campaign seed, so the same actor is
behind each. Every registered noise source is planted in every tenant: the false-positive
sources are always there. One more tenant carries the forged-token read but has no sign-in
logs: detection that needs sign-ins must report the blind spot, not alert on every record.
Tenant seeds derive from the evaluation seed, so a seed names one test bed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailhunt.simulate.attacks import ATTACKS
from mailhunt.simulate.attacks.forged_token_mail_read import KIND as FORGED_TOKEN_MAIL_READ
from mailhunt.simulate.noise import NOISES

CAMPAIGN_TENANTS = 3
# The tenant without sign-in logs: its forged-token read must yield a coverage finding.
NO_SIGNINS = "no-signins"


@dataclass(frozen=True)
class TenantPlan:
    """One tenant of the test bed."""

    name: str
    seed: int
    attacks: tuple[str, ...]
    noise: tuple[str, ...]
    signin_logs: bool = True


def plan(seed: int, tenants: int) -> list[TenantPlan]:
    """The tenants of the test bed for ``seed``: ``tenants`` with sign-in logs (at least one),
    plus the tenant without them."""
    count = max(1, tenants)
    single = sorted(name for name, kind in ATTACKS.items() if kind.single_tenant)
    shared = sorted(name for name, kind in ATTACKS.items() if not kind.single_tenant)
    attacks: list[list[str]] = [[] for _ in range(count)]
    for n, name in enumerate(single):
        attacks[n % count].append(name)
    for name in shared:
        for index in range(min(CAMPAIGN_TENANTS, count)):
            attacks[index].append(name)
    noise = tuple(sorted(NOISES))
    beds = [
        TenantPlan(f"tenant{index + 1:02d}", seed * 1000 + index, tuple(kinds), noise)
        for index, kinds in enumerate(attacks)
    ]
    beds.append(
        TenantPlan(NO_SIGNINS, seed * 1000 + count, (FORGED_TOKEN_MAIL_READ,), noise, False)
    )
    return beds
