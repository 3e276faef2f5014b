"""A local emulator of the Microsoft feeds mailhunt collects from, for tests and demos.

The Office 365 Management Activity API, Microsoft Graph ``auditLogs`` (signIns,
directoryAudits) and the Entra ID token endpoint, as one ASGI app (``app.py``) fed by the
simulator's test bed (``data.py``), with the failures the real services show injected on
demand (``faults.py``), served on loopback (``server.py``). Needs the ``emulate`` extra
(starlette, uvicorn).
"""

from __future__ import annotations

from mailhunt.emulate.app import Emulator, Registration
from mailhunt.emulate.data import Delivery, TenantData
from mailhunt.emulate.faults import Faults, Logged
from mailhunt.emulate.server import serve

__all__ = ["Delivery", "Emulator", "Faults", "Logged", "Registration", "TenantData", "serve"]
