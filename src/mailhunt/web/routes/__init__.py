"""The pages and their JSON twins, one module per page; ``ROUTERS`` in nav order."""

from __future__ import annotations

from mailhunt.web.routes import alerts, incidents, ingest, overview, records, rules, timelines

ROUTERS = (
    overview.router,
    alerts.router,
    incidents.router,
    timelines.router,
    records.router,
    rules.router,
    ingest.router,
)
