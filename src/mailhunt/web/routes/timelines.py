"""The timeline of a mailbox, a user, an address (or network) or an application
(``investigate/timeline.py``, as ``mailhunt timeline``): records with sessions and the
entities new to their principal, each value a pivot to its own timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from mailhunt.investigate.timeline import Timeline, selector, timeline
from mailhunt.web.routes.common import Access, Config, page, when

router = APIRouter()
MAX_ROWS = 2000  # records shown on the page (the JSON twin has them all)
Kind = Literal["mailbox", "user", "ip", "app"]
Value = Annotated[str, Query(min_length=1, max_length=500)]
Moment = Annotated[str | None, Query(max_length=40)]


def _timeline(access: Access, kind: Kind, value: str, since: str | None, until: str | None) -> Timeline:  # fmt: skip  # noqa: E501
    chosen = selector(**{kind: value})
    with access.read() as store:
        return timeline(store, chosen, when(since, "since"), when(until, "until"))


@router.get("/api/timeline/{kind}", tags=["timelines"], responses={400: {}})
def timeline_api(
    access: Access, kind: Kind, value: Value, since: Moment = None, until: Moment = None
) -> Timeline:
    """The records the selector names from ``since`` to ``until`` with their sessions."""
    return _timeline(access, kind, value, since, until)


@router.get("/timeline/{kind}", response_class=HTMLResponse, include_in_schema=False)
def timeline_page(
    access: Access,
    settings: Config,
    kind: Kind,
    *,
    value: Value,
    since: Moment = None,
    until: Moment = None,
) -> HTMLResponse:
    found = _timeline(access, kind, value, since, until)
    return page(
        settings, "timeline.html.j2", timeline=found, kind=kind, value=value,
        since=since or "", until=until or "", max_rows=MAX_ROWS,
    )  # fmt: skip
