"""Alerts: filtered, newest first, a page at a time (keyset); one alert with its evidence and
incidents; a suppression made from an alert (a write)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from mailhunt.alerts.browse import AlertFilter, AlertPage, browse_alerts, get_alert, parse_cursor
from mailhunt.alerts.query import Alert
from mailhunt.alerts.suppressions import add_suppression, request
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES
from mailhunt.investigate.overview import incidents_of_alert
from mailhunt.web.routes.common import Access, Config, check_csrf, page, when

router = APIRouter()
_TEXT = 500


class AlertQuery(BaseModel):
    """The alerts page's filters, its cursor and page size (all optional)."""

    model_config = ConfigDict(extra="forbid")

    severity: str = Field(SEVERITIES[0], pattern="^(" + "|".join(SEVERITIES) + ")$")
    rule: str | None = Field(None, max_length=_TEXT)
    tenant: str | None = Field(None, max_length=_TEXT)
    mailbox: str | None = Field(None, max_length=_TEXT)
    app: str | None = Field(None, max_length=_TEXT)
    user: str | None = Field(None, max_length=_TEXT)
    ip: str | None = Field(None, max_length=100)
    since: str | None = Field(None, max_length=40)
    until: str | None = Field(None, max_length=40)
    q: str | None = Field(None, max_length=_TEXT)
    suppressed: bool = False
    cursor: str | None = Field(None, max_length=1000)
    limit: int = Field(50, ge=1, le=500)

    def filter(self) -> AlertFilter:
        return AlertFilter(
            min_severity=self.severity,
            rule_id=self.rule,
            tenant_id=self.tenant,
            mailbox=self.mailbox,
            app_id=self.app,
            user=self.user,
            ip=self.ip,
            since=when(self.since, "since"),
            until=when(self.until, "until"),
            text=self.q,
            include_suppressed=self.suppressed,
        )

    def given(self) -> dict[str, str]:
        """The filters given, as text, for the next page's link (suppressed and cursor apart)."""
        names = ("severity", "rule", "tenant", "mailbox", "app", "user", "ip", "since", "until")
        found = {name: getattr(self, name) for name in (*names, "q")}
        return {name: str(value) for name, value in found.items() if value}


Filters = Annotated[AlertQuery, Query()]


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    incident_ids: list[str]


def _page(access: Access, query: AlertQuery) -> AlertPage:
    after = parse_cursor(query.cursor) if query.cursor else None
    wanted = query.filter()
    with access.read() as store:
        return browse_alerts(store, wanted, after=after, limit=query.limit)


@router.get("/api/alerts", tags=["alerts"], responses={400: {}})
def alerts_api(access: Access, query: Filters) -> AlertPage:
    """Alerts the filters match, newest first; ``next_cursor`` gives the next page."""
    return _page(access, query)


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(access: Access, settings: Config, query: Filters) -> HTMLResponse:
    return page(
        settings,
        "alerts.html.j2",
        found=_page(access, query),
        given=query.given(),
        severities=SEVERITIES,
        suppressed=query.suppressed,
        rules=sorted(ANALYTICS),
    )


def _detail(access: Access, alert_id: str) -> AlertDetail:
    with access.read() as store:
        return AlertDetail(get_alert(store, alert_id), incidents_of_alert(store, alert_id))


@router.get("/api/alerts/{alert_id}", tags=["alerts"], responses={404: {}})
def alert_api(access: Access, alert_id: str) -> AlertDetail:
    """One alert (suppressed or not), its evidence record ids and its incidents."""
    return _detail(access, alert_id)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False)
def alert_page(access: Access, settings: Config, alert_id: str) -> HTMLResponse:
    return page(settings, "alert.html.j2", detail=_detail(access, alert_id))


class SuppressionForm(BaseModel):
    """A suppression from an alert: the alert's values the form kept, a reason, an expiry."""

    csrf: str | None = None
    reason: str = Field("", max_length=2000)
    expires: str | None = Field(None, max_length=100)
    rule: str | None = Field(None, max_length=_TEXT)
    tenant: str | None = Field(None, max_length=_TEXT)
    mailbox: str | None = Field(None, max_length=_TEXT)
    app: str | None = Field(None, max_length=_TEXT)
    user: str | None = Field(None, max_length=_TEXT)
    ip: str | None = Field(None, max_length=100)


@router.post("/alerts/{alert_id}/suppress", include_in_schema=False)
def suppress_from_alert(
    access: Access, settings: Config, alert_id: str, form: Annotated[SuppressionForm, Form()]
) -> RedirectResponse:
    """The same checks as ``mailhunt suppress add``; recorded as made by the server's author."""
    check_csrf(settings, form.csrf)
    given = request(
        reason=form.reason,
        rule_id=form.rule,
        tenant_id=form.tenant,
        app_id=form.app,
        mailbox=form.mailbox,
        user_upn=form.user,
        ip=form.ip,
        expires=form.expires or None,
        known_rules=tuple(ANALYTICS),
    )
    with access.write() as store:
        get_alert(store, alert_id)
        add_suppression(store, given, created_by=settings.author)
    return RedirectResponse(f"/alerts/{quote(alert_id, safe='')}", status_code=303)
