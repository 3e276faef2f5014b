"""A deterministic test bed: realistic Microsoft 365 tenants with injected mail-reading intrusions.

``simulate_tenant`` writes a tenant's unified audit log (Management Activity API JSON Lines and
one content-blob JSON array), its Entra sign-ins (Graph ``auditLogs/signIns`` pages) and a
``ground_truth.json`` describing the injected intrusion and the planted false-positive sources.
"""

from __future__ import annotations

from mailhunt.simulate.attacks.forged_token_mail_read import KIND as FORGED_TOKEN_MAIL_READ
from mailhunt.simulate.model import Intrusion, Personas, SimulatedTenant
from mailhunt.simulate.tenant import GROUND_TRUTH, simulate_tenant

__all__ = [
    "FORGED_TOKEN_MAIL_READ",
    "GROUND_TRUTH",
    "Intrusion",
    "Personas",
    "SimulatedTenant",
    "simulate_tenant",
]
