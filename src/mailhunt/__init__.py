"""mailhunt: catch espionage in email, from audit logs to alerts."""

from __future__ import annotations

__version__ = "0.1.0"
