"""Live collection: the Office 365 Management Activity API and Microsoft Graph audit logs,
pulled as they are published, landed on disk (the evidence files) and ingested, with a
checkpoint that commits with the records it covers.

``config.py`` (tenants, clouds, secrets), ``auth.py`` (msal), ``http.py`` (retries,
throttling), ``activity.py`` and ``graph.py`` (the feeds), ``landing.py`` (raw content on disk),
``run.py`` (one pass). The bookkeeping tables are ``collect_*`` (``store/checkpoints.py``).
"""

from __future__ import annotations

from mailhunt.collect.config import CollectConfig, Secret, TenantConfig, load
from mailhunt.collect.run import CollectReport, collect

__all__ = ["CollectConfig", "CollectReport", "Secret", "TenantConfig", "collect", "load"]
