"""Rules and analytics: what ``mailhunt rules list`` shows (severity, techniques, parameters
with their defaults), the alerts each raised, and the suppressions."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from mailhunt.alerts.browse import alerts_per_rule
from mailhunt.alerts.suppressions import Suppression, list_suppressions
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.web.routes.common import Access, Config, page

router = APIRouter()


@dataclass(frozen=True)
class ParameterInfo:
    name: str
    type: str
    default: str
    help: str


@dataclass(frozen=True)
class AnalyticInfo:
    id: str
    title: str
    severity: str
    techniques: list[str]
    tables: list[str]
    parameters: list[ParameterInfo]
    doc: str
    alerts: int


@dataclass(frozen=True)
class Rules:
    analytics: list[AnalyticInfo]
    suppressions: list[Suppression]


def _rules(access: Access) -> Rules:
    with access.read() as store:
        counts = alerts_per_rule(store)
        suppressions = list_suppressions(store)
    return Rules(
        [
            AnalyticInfo(
                a.id,
                a.title,
                a.severity,
                list(a.techniques or (a.technique,)),
                list(a.tables),
                [
                    ParameterInfo(p.name, p.type.__name__, str(p.default), p.help)
                    for p in a.parameters
                ],
                a.doc,
                counts.get(a.id, 0),
            )
            for a in ANALYTICS.values()
        ],
        suppressions,
    )


@router.get("/api/rules", tags=["rules"])
def rules_api(access: Access) -> Rules:
    """The analytics with their parameters and alert counts, and the suppressions."""
    return _rules(access)


@router.get("/rules", response_class=HTMLResponse, include_in_schema=False)
def rules_page(access: Access, settings: Config) -> HTMLResponse:
    return page(settings, "rules.html.j2", rules=_rules(access))
