"""What every route takes: the store access, the settings, and the page context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from mailhunt.investigate.timeline import moment
from mailhunt.web import render
from mailhunt.web.access import StoreAccess
from mailhunt.web.security import csrf_ok
from mailhunt.web.settings import Settings


def _access(request: Request) -> StoreAccess:
    found: StoreAccess = request.app.state.access
    return found


def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


Access = Annotated[StoreAccess, Depends(_access)]
Config = Annotated[Settings, Depends(_settings)]


def page(settings: Settings, name: str, **context: Any) -> HTMLResponse:
    """A page with what the layout needs (the CSRF token for its forms, the store's name)."""
    return render.page(name, csrf=settings.csrf_token, store_name=settings.db.name, **context)


def when(text: str | None, name: str) -> datetime | None:
    """A time from a query parameter (ISO 8601 date or time; UTC unless it says otherwise)."""
    return moment(text, name) if text else None


def check_csrf(settings: Settings, given: str | None) -> None:
    if not csrf_ok(settings, given):
        raise HTTPException(403, "forbidden: missing or wrong CSRF token")
