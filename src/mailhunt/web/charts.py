"""Alerts or incidents per day, stacked by severity: the report's chart shapes
(``report/html/charts.py``), coloured by CSS class (``sev-<severity>``), tooltips as SVG
``<title>`` escaped by the template like every other text."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from mailhunt.alerts.browse import SeverityDay
from mailhunt.detect.base import SEVERITIES
from mailhunt.report.html.charts import BOTTOM, LEFT, RIGHT, TOP, Chart, Label, Line, Rect

WIDTH = 960.0
MAX_DAYS = 120  # the latest days shown


def _top(value: int) -> int:
    """A round value at or above ``value`` for the y axis."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def severity_chart(rows: list[SeverityDay], what: str, height: float = 200.0) -> Chart | None:
    """One stacked bar per day from the first to the last (at most MAX_DAYS), or None."""
    if not rows:
        return None
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        per_day[row.day][row.severity] = row.count
    last = max(per_day)
    first = max(min(per_day), last - timedelta(days=MAX_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    top = _top(max(sum(per_day[d].values()) for d in days if d in per_day))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    bar = plot_w / len(days)
    chart = Chart(WIDTH, height, f"{what.capitalize()} per day by severity", fill=True)
    for value in (0, top // 2, top):
        y = TOP + plot_h * (1 - value / top)
        chart.lines.append(Line(LEFT, y, WIDTH - RIGHT, y, "grid"))
        chart.labels.append(Label(LEFT - 6, y + 4, f"{value:,}", "end"))
    every = max(len(days) // 8, 1)
    for index, day in enumerate(days):
        x, base = LEFT + index * bar, 0
        for severity in reversed(SEVERITIES):  # the worst at the bottom
            count = per_day.get(day, {}).get(severity, 0)
            if count:
                y = TOP + plot_h * (1 - (base + count) / top)
                tip = f"{day:%Y-%m-%d}: {count:,} {severity} {what}"
                chart.rects.append(
                    Rect(x, y, max(bar - 1, 1), plot_h * count / top, f"sev-{severity}", tip)
                )
                base += count
        if index % every == 0:
            chart.labels.append(Label(x + bar / 2, height - BOTTOM + 18, f"{day:%b %d}", "middle"))
    return chart
