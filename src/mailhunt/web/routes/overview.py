"""The overview: alerts and incidents over time by severity, incidents, tenants, coverage
findings (where detection is blind) and the last ingest per source format."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from mailhunt.alerts.browse import SeverityDay, severity_per_day
from mailhunt.detect.coverage import Finding, coverage_findings
from mailhunt.investigate.incidents import Incident, list_incidents
from mailhunt.investigate.overview import SourceIngest, TenantSummary, last_ingest, tenants
from mailhunt.store.db import Store
from mailhunt.web.charts import severity_chart
from mailhunt.web.routes.common import Access, Config, page

router = APIRouter()


@dataclass(frozen=True)
class Overview:
    alerts_per_day: list[SeverityDay]
    incidents_per_day: list[SeverityDay]
    incidents: list[Incident]
    tenants: list[TenantSummary]
    coverage: list[Finding]
    sources: list[SourceIngest]


def _overview(store: Store) -> Overview:
    return Overview(
        alerts_per_day=severity_per_day(store, "alerts"),
        incidents_per_day=severity_per_day(store, "incidents"),
        incidents=list_incidents(store),
        tenants=tenants(store),
        coverage=coverage_findings(store),
        sources=last_ingest(store),
    )


@router.get("/api/overview", tags=["overview"])
def overview_api(access: Access) -> Overview:
    """Alerts and incidents per day and severity, incidents, tenants, coverage, sources."""
    with access.read() as store:
        return _overview(store)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview_page(access: Access, settings: Config) -> HTMLResponse:
    with access.read() as store:
        found = _overview(store)
    return page(
        settings,
        "overview.html.j2",
        overview=found,
        alerts_chart=severity_chart(found.alerts_per_day, "alerts"),
        incidents_chart=severity_chart(found.incidents_per_day, "incidents"),
    )
