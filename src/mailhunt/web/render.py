"""Pages: Jinja2 templates (package data, read through importlib.resources) with autoescape
on and an undefined name an error. A template not found among the web's is looked for among
the HTML report's (its SVG chart macro, ``charts.html.j2``). No template puts a value from
the store anywhere but element text or a quoted attribute; a value in a link goes through
``q`` (percent-encoded, so it stays inside its query or path segment)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi.responses import HTMLResponse

from mailhunt.report.html.render import stylesheet as report_stylesheet

_PACKAGES = ("mailhunt.web", "mailhunt.report.html")


def _source(name: str) -> str:
    for package in _PACKAGES:
        resource = resources.files(package).joinpath("templates", name)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    raise jinja2.TemplateNotFound(name)


def _utc(moment: datetime | None) -> str:
    return "\u2014" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def _num(value: int | None) -> str:
    return "\u2014" if value is None else f"{value:,}"


def _q(value: object) -> str:
    return quote(str(value), safe="")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(utc=_utc, num=_num, q=_q)
    return env


@cache
def stylesheet() -> str:
    """The report's stylesheet, then the web pages' own."""
    own = resources.files("mailhunt.web").joinpath("templates", "web.css")
    return report_stylesheet() + "\n" + own.read_text(encoding="utf-8")


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)
