"""Incidents: the list, and one incident with its blast radius, timeline (the records
attributed to the intruder), evidence, journal and notices; its status, assignee and notes
set (a write, through ``set_incident`` as ``mailhunt incident set``)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.investigate.incidents import (
    STATUSES,
    BlastRadius,
    Incident,
    blast_radius,
    list_incidents,
    set_incident,
)
from mailhunt.notify import folder_name, notice_files
from mailhunt.notify.facts import affected_tenants
from mailhunt.store.db import Store
from mailhunt.web.routes.common import Access, Config, check_csrf, page

router = APIRouter()
MAX_MESSAGES = 500  # messages listed on the page (the JSON twin has them all)
MAX_RECORDS = 1000


@dataclass(frozen=True)
class IncidentDetail:
    radius: BlastRadius
    alerts: list[Alert]
    notices: list[str]  # tenants a notice can be downloaded for


def _detail(store: Store, incident_id: str) -> IncidentDetail:
    radius = blast_radius(store, incident_id)
    wanted = set(radius.incident.alert_ids)
    alerts = [a for a in list_alerts(store, include_suppressed=True) if a.id in wanted]
    noticed = radius.incident.status != "false-positive"
    return IncidentDetail(radius, alerts, radius.incident.tenant_ids if noticed else [])


@router.get("/api/incidents", tags=["incidents"])
def incidents_api(access: Access) -> list[Incident]:
    """Live incidents, oldest first."""
    with access.read() as store:
        return list_incidents(store)


@router.get("/api/incidents/{incident_id}", tags=["incidents"], responses={404: {}})
def incident_api(access: Access, incident_id: str) -> IncidentDetail:
    """One incident: its blast radius (mailboxes, messages, folders, blind windows, actions,
    records attributed), its alerts and the tenants a notice is written for."""
    with access.read() as store:
        return _detail(store, incident_id)


@router.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
def incidents_page(access: Access, settings: Config) -> HTMLResponse:
    with access.read() as store:
        found = list_incidents(store)
    return page(settings, "incidents.html.j2", incidents=found)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse, include_in_schema=False)
def incident_page(access: Access, settings: Config, incident_id: str) -> HTMLResponse:
    with access.read() as store:
        detail = _detail(store, incident_id)
    return page(
        settings, "incident.html.j2", detail=detail, statuses=STATUSES,
        max_messages=MAX_MESSAGES, max_records=MAX_RECORDS,
    )  # fmt: skip


@router.post("/incidents/{incident_id}/set", include_in_schema=False)
def incident_set(
    access: Access,
    settings: Config,
    incident_id: str,
    *,
    csrf: Annotated[str | None, Form()] = None,
    status: Annotated[str | None, Form(max_length=40)] = None,
    assignee: Annotated[str | None, Form(max_length=200)] = None,
    note: Annotated[str | None, Form(max_length=10000)] = None,
) -> RedirectResponse:
    """Status, assignee (empty: unchanged) and a note, journalled with the server's author."""
    check_csrf(settings, csrf)
    with access.write() as store:
        changed = set_incident(
            store, incident_id, status=status or None, assignee=assignee or None,
            note=note or None, author=settings.author,
        )  # fmt: skip
    return RedirectResponse(f"/incidents/{quote(changed.id, safe='')}", status_code=303)


@router.get(
    "/api/incidents/{incident_id}/notices/{tenant_id}",
    tags=["incidents"],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, 404: {}},
)
def notice_download(access: Access, incident_id: str, tenant_id: str) -> Response:
    """The tenant's notice folder for the incident (notice.md, notice.html, evidence.csv,
    messages.csv, indicators.stix.json) as a zip, as ``mailhunt notify`` writes it."""
    with access.read() as store:
        found = [t for t in affected_tenants(store, incident_id) if t.tenant_id == tenant_id]
        if not found:
            raise HTTPException(404, "no notice for that tenant in this incident")
        files = notice_files(store, found[0])
    folder = folder_name(tenant_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            archive.writestr(f"{folder}/{item.name}", item.text)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="notice-{folder}.zip"'},
    )
