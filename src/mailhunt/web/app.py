"""The ASGI app: the routes, the security middleware, error pages and the stylesheet."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from mailhunt import __version__
from mailhunt.errors import InputError, RecordNotFoundError, StoreError
from mailhunt.investigate.incidents import UnknownIncident
from mailhunt.web import render
from mailhunt.web.access import StoreAccess
from mailhunt.web.routes import ROUTERS
from mailhunt.web.security import middleware
from mailhunt.web.settings import Settings

log = logging.getLogger(__name__)
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#1d2330"/>'
    '<rect x="3" y="5" width="10" height="7" fill="#f08a78"/></svg>'
)


def _error(request: Request, status: int, text: str) -> Response:
    """JSON under /api, a page elsewhere; the text is escaped like every other value."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": text}, status_code=status)
    return render.page("error.html.j2", status, code=status, text=text)


async def _input_error(request: Request, error: Exception) -> Response:
    missing = isinstance(error, UnknownIncident | RecordNotFoundError) or str(error).startswith(
        "no alert "
    )
    return _error(request, 404 if missing else 400, str(error).splitlines()[0])


async def _store_error(request: Request, error: Exception) -> Response:
    log.warning("store unavailable: %s", error)
    return _error(request, 503, f"the store cannot be read now: {str(error).splitlines()[0]}")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for it only
    return _error(request, error.status_code, str(error.detail))


async def _invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": _plain(error.errors())}, status_code=422)
    return _error(request, 422, "; ".join(_message(e) for e in error.errors()))


def _plain(errors: object) -> list[dict[str, object]]:
    found = errors if isinstance(errors, list | tuple) else []
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in found
        if isinstance(e, dict)
    ]


def _message(error: object) -> str:
    if not isinstance(error, dict):
        return "invalid request"
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}"


def create_app(settings: Settings, access: StoreAccess | None = None) -> FastAPI:
    """The app over the store ``settings.db`` (opened on first use, read-only)."""
    store_access = access or StoreAccess(settings.db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store_access.close()

    app = FastAPI(
        title="mailhunt",
        version=__version__,
        description="The investigation of a mailhunt store: every page's JSON twin.",
        docs_url=None,  # Swagger UI and ReDoc load script from a CDN: not under this CSP
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.access = store_access
    app.middleware("http")(middleware(settings))
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RecordNotFoundError, _input_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/static/web.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(render.stylesheet(), media_type="text/css")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for one; a 404 would be logged on their console
        return Response(FAVICON, media_type="image/svg+xml")

    return app
