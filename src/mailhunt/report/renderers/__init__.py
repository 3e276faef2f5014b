"""The renderer registry: every output format of every command (one module each, exposing
``RENDERER``; see :mod:`mailhunt.registry`). Adding an output format to a command is adding a
module here; a new kind of result also declares its :class:`Kind` in ``base``."""

from __future__ import annotations

from typing import Any, TypeVar

from mailhunt.errors import InputError
from mailhunt.registry import discover
from mailhunt.report.renderers.base import (
    ALERTS,
    ANALYTICS,
    BLAST_RADIUS,
    COVERAGE,
    EVALUATION,
    INCIDENT,
    INCIDENTS,
    QUARANTINE,
    SUPPRESSIONS,
    TIMELINE,
    Kind,
    Output,
    Renderer,
)

T = TypeVar("T")

RENDERERS: dict[str, Renderer[Any]] = discover(
    __name__, __path__, "RENDERER", Renderer, lambda r: r.key
)


def renderers_for(kind: Kind[T]) -> dict[str, Renderer[T]]:
    """The renderers of one kind by name, ``table`` first, then by name."""
    found = [r for r in RENDERERS.values() if r.kind == kind]
    return {r.name: r for r in sorted(found, key=lambda r: (r.name != "table", r.name))}


def render(kind: Kind[T], name: str, data: T) -> Output:
    """``data`` rendered by the renderer ``name`` of its kind; InputError for an unknown name."""
    renderer = renderers_for(kind).get(name)
    if renderer is None:
        known = ", ".join(renderers_for(kind)) or "none"
        raise InputError(f"no {kind.name} output format {name!r} (one of {known})")
    return renderer.render(data)


__all__ = [
    "ALERTS",
    "ANALYTICS",
    "BLAST_RADIUS",
    "COVERAGE",
    "EVALUATION",
    "INCIDENT",
    "INCIDENTS",
    "QUARANTINE",
    "RENDERERS",
    "SUPPRESSIONS",
    "TIMELINE",
    "Kind",
    "Output",
    "Renderer",
]
__all__ += ["render", "renderers_for"]
