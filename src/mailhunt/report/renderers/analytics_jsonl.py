"""The analytics as JSON Lines, one object per analytic with its declared parameters."""

from __future__ import annotations

from typing import Any

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.report.encode import jsonl
from mailhunt.report.renderers.base import ANALYTICS, Renderer

_JSON_TYPES = {int: "integer", float: "number", str: "string"}


def parameter_record(parameter: Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "type": _JSON_TYPES[parameter.type],
        "default": parameter.default,
        "minimum": parameter.minimum,
        "help": parameter.help,
    }


def analytic_record(analytic: Analytic) -> dict[str, Any]:
    return {
        "id": analytic.id,
        "title": analytic.title,
        "severity": analytic.severity,
        "technique": analytic.technique,
        "tables": list(analytic.tables),
        "parameters": [parameter_record(p) for p in analytic.parameters],
    }


def analytics_jsonl(analytics: list[Analytic]) -> str:
    return jsonl(analytic_record(a) for a in analytics)


RENDERER = Renderer(ANALYTICS, "jsonl", analytics_jsonl, "one JSON object per analytic")
