"""The analytics as JSON Lines, one object per analytic with its techniques, its severity logic
and its declared parameters, each with the value in effect (fields are added, never renamed)."""

from __future__ import annotations

from typing import Any

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.parameters import AnalyticsListing
from mailhunt.report.encode import jsonl
from mailhunt.report.renderers.base import ANALYTICS, Renderer

_JSON_TYPES = {int: "integer", float: "number", str: "string"}


def parameter_record(
    parameter: Parameter, listing: AnalyticsListing | None = None, analytic: Analytic | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": parameter.name,
        "type": _JSON_TYPES[parameter.type],
        "default": parameter.default,
        "minimum": parameter.minimum,
        "help": parameter.help,
    }
    if listing is not None and analytic is not None:
        record["value"] = listing.in_effect(analytic, parameter)
        record["set_by"] = listing.set_by(analytic, parameter)
    return record


def analytic_record(analytic: Analytic, listing: AnalyticsListing | None = None) -> dict[str, Any]:
    return {
        "id": analytic.id,
        "title": analytic.title,
        "severity": analytic.severity,
        "technique": analytic.technique,
        "tables": list(analytic.tables),
        "parameters": [parameter_record(p, listing, analytic) for p in analytic.parameters],
        "techniques": list(analytic.techniques),
        "severity_logic": analytic.severity_logic,
    }


def analytics_jsonl(listing: AnalyticsListing) -> str:
    return jsonl(analytic_record(a, listing) for a in listing.analytics)


RENDERER = Renderer(ANALYTICS, "jsonl", analytics_jsonl, "one JSON object per analytic")
