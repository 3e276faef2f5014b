"""``simulate_tenant``: a deterministic tenant with benign noise and, optionally, an intrusion."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mailhunt.simulate.attacks import ATTACKS
from mailhunt.simulate.attacks.forged_token_mail_read import KIND as FORGED_TOKEN_MAIL_READ
from mailhunt.simulate.benign import BenignActivity, Tenant
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.mailstore import MailStore
from mailhunt.simulate.model import Intrusion, Personas, SimulatedTenant
from mailhunt.simulate.noise import NOISES
from mailhunt.simulate.output import write_signins, write_ual
from mailhunt.simulate.people import build_cast
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.tokens import Sink

log = logging.getLogger(__name__)

GROUND_TRUTH = "ground_truth.json"
_OWN_FILES = {
    "ual": ("audit-*.jsonl", "blob-*.json"),
    "signins": ("signins-*.json", "serviceprincipal-signins-*.json"),
}
_TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def _check(days: int, start: datetime, tenant_name: str, intrusion_day: int) -> None:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not _TENANT_NAME.fullmatch(tenant_name):
        raise ValueError(f"tenant_name must be a lower-case DNS label, got {tenant_name!r}")
    if not 0 <= intrusion_day < days:
        raise ValueError(f"intrusion_day must be in [0, {days}), got {intrusion_day}")


def _clear_previous(out_dir: Path) -> None:
    """Remove files a previous simulation wrote here, so no stale day is left behind."""
    for sub, patterns in _OWN_FILES.items():
        for pattern in patterns:
            for stale in sorted((out_dir / sub).glob(pattern)):
                stale.unlink()


def simulate_tenant(
    out_dir: Path,
    *,
    seed: int = 7,
    days: int = 21,
    users: int = 20,
    start: datetime = datetime(2026, 6, 1, tzinfo=UTC),
    intrusion_day: int | None = None,
    inject: bool = True,
    tenant_name: str = "contoso",
    attacks: Sequence[str] | None = None,
    noise: Sequence[str] | None = None,
    signin_logs: bool = True,
    campaign_seed: int | None = None,
) -> SimulatedTenant:
    """Write a simulated tenant's audit and sign-in logs under ``out_dir`` and return its truth.

    The period starts at midnight UTC of ``start``'s date and lasts ``days`` days.
    ``intrusion_day`` (default ``days - 3``, at least 0) is the day index the attacker starts;
    it continues the next day when there is one. The same arguments give byte-identical files,
    and ``inject=False`` gives exactly the same benign records without the attacker's.
    ``attacks`` names the attack kinds injected (default: the forged-token mail read; see
    ``simulate/attacks/``), ``noise`` the extra benign false-positive sources planted (default:
    none; see ``simulate/noise/``). ``signin_logs=False`` writes no sign-in files (a tenant whose
    sign-in logs were not exported). Tenants given the same ``campaign_seed`` are attacked from
    the same infrastructure (default: ``seed``).
    """
    day = max(0, days - 3) if intrusion_day is None else intrusion_day
    _check(days, start, tenant_name, day)
    domain = f"{tenant_name}.onmicrosoft.com"
    tenant_id = new_uuid(random.Random(f"{seed}/tenant/{tenant_name}"))
    tenant = Tenant(tenant_id, domain, start.astimezone(UTC).date(), days)
    cast = build_cast(random.Random(f"{seed}/cast"), domain=domain, users=users, days=days)
    store = MailStore(seed, tenant.first_day)
    sink = BenignActivity(seed, tenant, cast, store).run()
    scene = Scene(
        seed, tenant, cast, store, sink, day, seed if campaign_seed is None else campaign_seed
    )
    for name in _known(noise or (), NOISES, "noise source"):
        NOISES[name].plant(scene)
        scene.planted.append(name)
    chosen = (FORGED_TOKEN_MAIL_READ,) if attacks is None else tuple(attacks)
    intrusions = tuple(
        ATTACKS[name].inject(scene) for name in _known(chosen if inject else (), ATTACKS, "attack")
    )
    if not signin_logs:
        sink.signins.clear()
        sink.app_signins.clear()
    result = _write(out_dir, tenant, sink, intrusions, cast.personas, noise=tuple(scene.planted))
    log.info(
        "simulated tenant %s: %d UAL records, %d sign-ins, %d intrusion(s) in %s",
        domain,
        result.ual_record_count,
        result.signin_count,
        len(intrusions),
        out_dir,
    )
    return result


def _known(names: Sequence[str], registry: Mapping[str, object], what: str) -> Sequence[str]:
    for name in names:
        if name not in registry:
            raise ValueError(f"unknown {what} {name!r}; known: {', '.join(sorted(registry))}")
    return names


def _write(
    out_dir: Path,
    tenant: Tenant,
    sink: Sink,
    intrusions: tuple[Intrusion, ...],
    personas: Personas,
    *,
    noise: tuple[str, ...],
) -> SimulatedTenant:
    """Write the daily files and the ground truth; return the result describing them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)
    first, days = tenant.first_day, tenant.days
    ual_files = write_ual(out_dir / "ual", sink.ual, first, days, min(4, days - 1))
    signin_files = write_signins(out_dir / "signins", sink.signins, first, days, "signins")
    signin_files += write_signins(
        out_dir / "signins", sink.app_signins, first, days, "serviceprincipal-signins"
    )
    result = SimulatedTenant(
        tenant_id=tenant.tenant_id,
        domain=tenant.domain,
        ual_files=ual_files,
        signin_files=signin_files,
        intrusions=intrusions,
        ual_record_count=len(sink.ual),
        signin_count=len(sink.signins) + len(sink.app_signins),
        personas=personas,
        noise=noise,
    )
    (out_dir / GROUND_TRUTH).write_text(result.to_json(), encoding="utf-8")
    return result
