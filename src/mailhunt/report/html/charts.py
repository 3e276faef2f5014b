"""Charts as shapes: rectangles, lines and text labels placed in an SVG coordinate space.

The geometry is computed here from data; the template writes each shape as an SVG element whose
text (labels, tooltips) goes through Jinja's autoescape like every other value. Colours are CSS
classes of the report's stylesheet (no ``style`` attribute: the Content-Security-Policy allows
only the hashed stylesheet), so nothing from the data ever becomes an attribute name, a colour
or markup. No script: a tooltip is an SVG ``<title>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mailhunt.report.html.data import Activity, MailboxDay

WIDTH = 960.0
LEFT = 56.0  # room for the y axis labels
RIGHT = 12.0
TOP = 16.0
BOTTOM = 34.0  # room for the x axis labels
HEAT_LEVELS = 6  # CSS classes heat-0 .. heat-5
MAX_HEAT_ROWS = 30
MAX_HEAT_DAYS = 62
MAILBOX_LABEL = 38  # characters of a mailbox name shown beside its row


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    tip: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start, middle or end
    css: str = "label"


@dataclass(frozen=True)
class Chart:
    """An SVG drawing: its size, a description for screen readers, and its shapes."""

    width: float
    height: float
    description: str
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    note: str = ""  # what the chart left out, said under it
    fill: bool = False  # drawn across the page's width (else at its own size)


def _step(unit: str) -> timedelta:
    return timedelta(hours=1) if unit == "hour" else timedelta(days=1)


def _ticks(top: int) -> list[int]:
    """A few round values from 0 to at least ``top`` for the y axis."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, int(step * math.ceil(top / step)) + 1, int(step)))


Window = tuple[str, datetime, datetime]  # a label ("incident 1"), first and last record


def activity_chart(
    activity: Activity, windows: list[Window], height: float = 230.0
) -> Chart | None:
    """Mail access per hour or day (all of it, and the intruder's in front), with each
    intrusion's period as a shaded band; None when there is no mail access at all."""
    if not activity.buckets:
        return None
    step = _step(activity.unit)
    start = activity.buckets[0].start
    end = activity.buckets[-1].start + step
    for _, first, last in windows:
        start, end = min(start, first), max(end, last)
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    ticks = _ticks(max(b.total for b in activity.buckets))

    def x(moment: datetime) -> float:
        return LEFT + plot_w * (moment - start).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / ticks[-1])

    chart = Chart(
        WIDTH, height, f"Mail access per {activity.unit}, intruder's records in red", fill=True
    )
    for value in ticks:
        chart.lines.append(Line(LEFT, y(value), WIDTH - RIGHT, y(value), "grid"))
        chart.labels.append(Label(LEFT - 6, y(value) + 4, f"{value:,}", "end"))
    bar = max(plot_w * step.total_seconds() / span - 1, 1.0)
    for b in activity.buckets:
        when = f"{b.start:%Y-%m-%d %H:00}" if activity.unit == "hour" else f"{b.start:%Y-%m-%d}"
        tip = f"{when}: {b.total:,} mail access record(s), {b.in_scope:,} the intruder's"
        chart.rects.append(Rect(x(b.start), y(b.total), bar, y(0) - y(b.total), "bar", tip))
        if b.in_scope:
            top = y(b.in_scope)
            chart.rects.append(Rect(x(b.start), top, bar, y(0) - top, "bar-hit", tip))
    for row, (label, first, last) in enumerate(windows):
        left, right = x(first), max(x(last), x(first) + 2)
        tip = f"{label}: {_span_text(first, last)}"
        chart.rects.append(Rect(left, TOP, right - left, plot_h, "band", tip))
        chart.labels.append(Label(left + 3, TOP + 12 + 13 * (row % 4), label, css="band-label"))
    chart.lines.append(Line(LEFT, y(0), WIDTH - RIGHT, y(0), "axis"))
    chart.labels.extend(_time_labels(start, end, x, y(0) + 18))
    return chart


def _span_text(first: datetime, last: datetime) -> str:
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"


def _time_labels(
    start: datetime, end: datetime, x: Callable[[datetime], float], baseline: float
) -> list[Label]:
    """About eight date labels along the x axis."""
    days = max((end - start).days, 1)
    every = max(days // 8, 1)
    labels = []
    day = datetime(start.year, start.month, start.day, tzinfo=start.tzinfo)
    if day < start:
        day += timedelta(days=1)
    while day <= end:
        labels.append(Label(x(day), baseline, f"{day:%b %d}", "middle"))
        day += timedelta(days=every)
    if not labels:
        labels.append(Label(x(start), baseline, f"{start:%b %d %H:%M}", "start"))
    return labels


def _level(count: int, top: int) -> int:
    """Heat level 1..HEAT_LEVELS-1 of a count (log scale), 0 for nothing."""
    if count <= 0 or top <= 0:
        return 0
    share = math.log1p(count) / math.log1p(top)
    return max(1, min(HEAT_LEVELS - 1, math.ceil(share * (HEAT_LEVELS - 1))))


def _short(text: str, limit: int = MAILBOX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def heatmap(per_day: list[MailboxDay]) -> Chart | None:
    """Messages read per mailbox per day: one row per mailbox, one cell per day, darker for
    more; a cell where a folder was synced whole is outlined. None when nothing was read."""
    if not per_day:
        return None
    by_mailbox: dict[str, int] = {}
    for cell in per_day:
        by_mailbox[cell.mailbox] = by_mailbox.get(cell.mailbox, 0) + cell.messages + cell.syncs
    mailboxes = sorted(by_mailbox, key=lambda m: (-by_mailbox[m], m))[:MAX_HEAT_ROWS]
    first = min(c.day for c in per_day)
    last = min(max(c.day for c in per_day), first + timedelta(days=MAX_HEAT_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    label_w, row_h, head = 300.0, 20.0, 40.0
    cell_w = max(min((WIDTH - label_w - RIGHT) / len(days), 48.0), 9.0)
    chart = Chart(
        label_w + cell_w * len(days) + RIGHT,
        head + row_h * len(mailboxes) + 8,
        "Messages read per mailbox per day",
        note=_heat_note(len(by_mailbox), len(mailboxes), per_day, last),
    )
    _heat_header(chart, days, label_w, cell_w, head)
    top = max(c.messages for c in per_day)
    cells = {(c.mailbox, c.day): c for c in per_day}
    for row, mailbox in enumerate(mailboxes):
        y = head + row * row_h
        chart.labels.append(Label(label_w - 8, y + 14, _short(mailbox), "end", "label mono"))
        for col, day in enumerate(days):
            _heat_cell(
                chart, cells.get((mailbox, day)), label_w + col * cell_w, y, width=cell_w, top=top
            )
    return chart


def _heat_header(chart: Chart, days: list[date], left: float, cell_w: float, head: float) -> None:
    every = max(1, math.ceil(36 / cell_w))
    for col, day in enumerate(days):
        if col % every == 0:
            x = left + col * cell_w + cell_w / 2
            chart.labels.append(Label(x, head - 8, f"{day:%m-%d}", "middle"))


def _heat_cell(
    chart: Chart, cell: MailboxDay | None, x: float, y: float, *, width: float, top: int
) -> None:
    if cell is None:
        chart.rects.append(Rect(x + 1, y + 1, width - 2, 18, "heat-0"))
        return
    tip = f"{cell.mailbox}, {cell.day:%Y-%m-%d}: {cell.messages:,} message(s) read"
    if cell.syncs:
        tip += f", {cell.syncs:,} folder(s) synced whole"
    css = f"heat-{_level(cell.messages, top)}" + (" synced" if cell.syncs else "")
    chart.rects.append(Rect(x + 1, y + 1, width - 2, 18, css, tip))
    if width >= 26 and cell.messages:
        css = "cell-label dark" if _level(cell.messages, top) < 3 else "cell-label"
        chart.labels.append(Label(x + width / 2, y + 14, f"{cell.messages:,}", "middle", css))


def _heat_note(mailboxes: int, shown: int, per_day: list[MailboxDay], last: date) -> str:
    notes = []
    if mailboxes > shown:
        notes.append(f"{mailboxes - shown} more mailbox(es) not drawn")
    if any(c.day > last for c in per_day):
        notes.append(f"days after {last:%Y-%m-%d} not drawn")
    return "; ".join(notes)
