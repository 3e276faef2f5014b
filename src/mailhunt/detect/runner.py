"""Run analytics over the store and turn their detections into alerts."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mailhunt.alerts.writer import write_alerts
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import Analytic, ParameterValue
from mailhunt.errors import InputError
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

DETECTIONS = "_detections"


@dataclass
class DetectSummary:
    """Per analytic: detections found, alerts new to the store."""

    detections: dict[str, int] = field(default_factory=dict)
    new_alerts: dict[str, int] = field(default_factory=dict)

    @property
    def total_new(self) -> int:
        return sum(self.new_alerts.values())


def parameters_for(analytic: Analytic, overrides: Mapping[str, object]) -> dict[str, object]:
    """The analytic's declared parameters: its defaults, with the overrides that name one."""
    return {p.name: overrides.get(p.name, p.default) for p in analytic.parameters}


def run_detections(
    store: Store,
    analytics: Iterable[Analytic] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> DetectSummary:
    """Run each analytic; alerts are upserted by deterministic id, so reruns add nothing."""
    summary = DetectSummary()
    chosen = list(ANALYTICS.values() if analytics is None else analytics)
    for analytic in chosen:
        params = _checked(analytic, parameters_for(analytic, overrides or {}))
        with (
            store.transaction(),
            store.temp_table(DETECTIONS, analytic.sql, params) as detections,
        ):
            found, new = write_alerts(store, analytic, detections)
        summary.detections[analytic.id] = found
        summary.new_alerts[analytic.id] = new
        log.info("%s: %d detections, %d new alerts", analytic.id, found, new)
    return summary


def _checked(analytic: Analytic, params: Mapping[str, object]) -> dict[str, ParameterValue]:
    """The values checked against their declarations (and of the declared type)."""
    try:
        return {p.name: p.check(params[p.name]) for p in analytic.parameters}
    except ValueError as error:
        raise InputError(f"{analytic.id}: parameter {error}") from None
