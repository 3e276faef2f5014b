"""The analytics for people: id and title, default severity and how it is chosen, ATT&CK
techniques, and each parameter with the value in effect (and its default when the
configuration file changed it), what it accepts and what it does."""

from __future__ import annotations

from rich.console import ConsoleRenderable
from rich.table import Table

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.parameters import AnalyticsListing
from mailhunt.report.renderers._table import lines, with_footer
from mailhunt.report.renderers.base import ANALYTICS, Renderer


def _parameter(listing: AnalyticsListing, analytic: Analytic, parameter: Parameter) -> str:
    value = listing.in_effect(analytic, parameter)
    source = listing.set_by(analytic, parameter)
    shown = f"{parameter.name}={value}"
    if source != "default":
        shown += f" (from {source}; default {parameter.default})"
    return f"{shown} ({parameter.expects}): {parameter.help}"


def analytics_table(listing: AnalyticsListing) -> ConsoleRenderable:
    table = Table("analytic", "severity", "techniques", "parameters (--param NAME=VALUE)")
    table.columns[1].ratio = 1
    table.columns[3].ratio = 1
    for analytic in listing.analytics:
        table.add_row(
            lines([analytic.id, analytic.title]),
            lines([analytic.severity, analytic.severity_logic]),
            lines(list(analytic.techniques)),
            lines([_parameter(listing, analytic, p) for p in analytic.parameters] or ["-"]),
        )
    footer = f"{len(listing.analytics)} analytic(s)"
    if listing.config.path is not None:
        footer += f"; values from {listing.config.path}"
    return with_footer(table, footer)


RENDERER = Renderer(ANALYTICS, "table", analytics_table, "for people")
