"""``mailhunt serve``: the investigation in a browser, over the store.

An ASGI app (FastAPI: its OpenAPI document describes every JSON twin under ``/api``) whose
pages are Jinja2 templates with autoescape and no script at all; charts are SVG drawn
server-side (``report/html/charts.py``'s shapes). Every page and JSON twin calls the same
library functions as the command line (``investigate/``, ``alerts/``, ``notify/``,
``detect/``); the web layer only reads their typed rows into templates.

Security (``security.py``): the server binds 127.0.0.1 by default; every request needs the
access token (``?token=`` once, then an HttpOnly SameSite=Strict cookie, or ``Authorization:
Bearer``), else 401; a Host header that is not the bound host and port is refused (403: DNS
rebinding); a write needs the CSRF token and a same-origin ``Origin`` (403 otherwise); every
response carries a strict Content-Security-Policy (``default-src 'none'``, no script),
``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and
``X-Content-Type-Options: nosniff``. Reads use a read-only connection; a write opens the store
writable for itself only (``access.py``). See docs/web.md.
"""

from __future__ import annotations

from mailhunt.web.app import create_app
from mailhunt.web.settings import Settings, new_token

__all__ = ["Settings", "create_app", "new_token"]
