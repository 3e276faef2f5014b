"""The report as one HTML file: Jinja2 templates (package data, read with importlib.resources),
autoescape on, one inline stylesheet allowed by its hash, no script.

The Content-Security-Policy is a ``<meta>`` element, first in ``<head>``: ``default-src 'none'``
(nothing is fetched: no script, font, image, frame, connection), ``style-src`` only the SHA-256 of
the inline stylesheet, computed here from the text written, and no form or base URL. A value
from the logs is text wherever it lands (element content, an attribute, an SVG ``<text>`` or
``<title>``): Jinja escapes ``& < > " '``, and no template puts a value in a URL, an event
handler, a ``style`` or a script. See
https://www.w3.org/TR/CSP3/#grammardef-hash-source and
https://jinja.palletsprojects.com/en/stable/api/#autoescaping
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2

PACKAGE = "mailhunt.report.html"
TEMPLATES = "templates"
STYLESHEET = "report.css"


def _template_source(name: str) -> str:
    """A template's text from the installed package (a wheel, a zip, a source tree)."""
    resource = resources.files(PACKAGE).joinpath(TEMPLATES, name)
    if not resource.is_file():
        raise jinja2.TemplateNotFound(name)
    return resource.read_text(encoding="utf-8")


def environment() -> jinja2.Environment:
    """Templates loaded through importlib.resources, every value autoescaped, an undefined
    name an error rather than an empty string."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["utc"] = _utc
    env.filters["num"] = _number
    env.filters["size"] = _size
    return env


def stylesheet() -> str:
    return _template_source(STYLESHEET)


def style_hash(css: str) -> str:
    """The CSP hash source of an inline ``<style>`` whose text is exactly ``css``."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def content_security_policy(css: str) -> str:
    return (
        f"default-src 'none'; style-src '{style_hash(css)}'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render_template(name: str, **context: Any) -> str:
    """A template rendered with the stylesheet and its policy in the context."""
    css = stylesheet()
    template = environment().get_template(name)
    return template.render(css=css, csp=content_security_policy(css), **context)


def _utc(moment: datetime | None, with_time: bool = True) -> str:
    if moment is None:
        return "\u2014"
    return f"{moment:%Y-%m-%d %H:%M:%S}" if with_time else f"{moment:%Y-%m-%d}"


def _number(value: int | None) -> str:
    return "\u2014" if value is None else f"{value:,}"


def _size(value: int | None) -> str:
    if value is None:
        return "\u2014"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns
