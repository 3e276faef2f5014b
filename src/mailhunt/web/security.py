"""The checks every request passes, in order, and the headers every response carries.

1. Host: the header must name the bound host and port (``Settings.allowed_hosts``), else 403.
   A page an attacker serves from a name resolving to 127.0.0.1 (DNS rebinding) sends its
   own name.
2. Token: ``?token=`` (then a redirect to the same URL without it, setting an HttpOnly,
   SameSite=Strict cookie), an ``Authorization: Bearer`` header or that cookie must hold the
   access token (compared in constant time), else 401.
3. Writes (any method but GET, HEAD, OPTIONS): an ``Origin`` or ``Sec-Fetch-Site`` that is
   not this server's, or neither header, is refused (403); the CSRF token itself is checked
   by the route (``check_csrf``), from the form.

Headers: ``Content-Security-Policy`` allowing only the server's own stylesheet (no script,
no inline style, no frame, no form target elsewhere), ``X-Frame-Options: DENY``,
``Referrer-Policy: no-referrer``, ``X-Content-Type-Options: nosniff``, ``Cache-Control:
no-store`` (pages show who was read).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from mailhunt.web.settings import Settings

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Next = Callable[[Request], Awaitable[Response]]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _refused(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status)


def _cross_origin(request: Request, settings: Settings) -> bool:
    """Not this server's page: an ``Origin`` naming another, or ``Sec-Fetch-Site`` saying
    another site. Under ``Referrer-Policy: no-referrer`` Chromium sends ``Origin: null`` even
    for a same-origin form, so ``null`` passes only when ``Sec-Fetch-Site`` says same-origin;
    a write carrying neither is refused too."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if origin is not None and origin != "null" and origin.lower() not in settings.allowed_origins:
        return True
    if site is not None:
        return site not in ("same-origin", "none")
    return origin is None or origin == "null"


def _without_token(request: Request) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


async def _checked(request: Request, call_next: Next, settings: Settings) -> Response:
    if request.headers.get("host", "").lower() not in settings.allowed_hosts:
        return _refused(403, "forbidden: unexpected Host header")
    given = request.query_params.get("token")
    if given is not None and _same(given, settings.token):
        response: Response = RedirectResponse(_without_token(request), status_code=303)
        response.set_cookie(
            settings.cookie_name, settings.token, httponly=True, samesite="strict", path="/"
        )
        return response
    if not (
        _same(_bearer(request), settings.token)
        or _same(request.cookies.get(settings.cookie_name), settings.token)
    ):
        return _refused(401, "unauthorised: open the address mailhunt serve printed")
    if request.method not in SAFE_METHODS and _cross_origin(request, settings):
        return _refused(403, "forbidden: cross-origin request")
    return await call_next(request)


def middleware(settings: Settings) -> Callable[[Request, Next], Awaitable[Response]]:
    """The HTTP middleware: the checks above, then the headers on whatever is answered."""

    async def guard(request: Request, call_next: Next) -> Response:
        response = await _checked(request, call_next, settings)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response

    return guard


def csrf_ok(settings: Settings, given: str | None) -> bool:
    return _same(given, settings.csrf_token)
