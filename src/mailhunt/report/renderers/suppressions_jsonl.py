"""Suppressions as JSON Lines, one object per suppression (times ISO 8601 UTC)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mailhunt.alerts.suppressions import Suppression
from mailhunt.report.alerts import iso_utc
from mailhunt.report.encode import jsonl
from mailhunt.report.renderers.base import SUPPRESSIONS, Renderer


def suppression_record(suppression: Suppression) -> dict[str, Any]:
    record = asdict(suppression)
    record["created_at"] = iso_utc(suppression.created_at)
    record["expires_at"] = iso_utc(suppression.expires_at) if suppression.expires_at else None
    return record


def suppressions_jsonl(suppressions: list[Suppression]) -> str:
    return jsonl(suppression_record(s) for s in suppressions)


RENDERER = Renderer(SUPPRESSIONS, "jsonl", suppressions_jsonl, "one JSON object per suppression")
