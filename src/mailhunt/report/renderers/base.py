"""What an output renderer is: a name (``table``, ``jsonl``, ``csv``), the kind of result it
renders (alerts, quarantine, analytics...) and one function.

A renderer for machines returns text (``str``), written to stdout exactly as returned; the
``table`` renderer returns a Rich renderable, which only the command line prints. A renderer
never prints and never reads the store: it is given what the command read.

A kind is declared once, here, with the type of what its renderers take; a command's
``--format`` choices are the names of the renderers registered for its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from rich.console import ConsoleRenderable

from mailhunt.alerts.query import Alert
from mailhunt.alerts.suppressions import Suppression
from mailhunt.detect.coverage import Finding
from mailhunt.detect.parameters import AnalyticsListing
from mailhunt.investigate.model import BlastRadius, Incident
from mailhunt.investigate.quarantine import QuarantineListing
from mailhunt.investigate.timeline import TimelineView

if TYPE_CHECKING:  # the evaluation runs the whole pipeline: imported for its type only
    from mailhunt.evaluate.run import Evaluation

T = TypeVar("T")

Output = str | ConsoleRenderable  # text for tools, written as is; or a renderable for people


@dataclass(frozen=True)
class Kind(Generic[T]):
    """What a command renders; ``T`` is the type its renderers are given."""

    name: str


ALERTS: Kind[list[Alert]] = Kind("alerts")
QUARANTINE: Kind[QuarantineListing] = Kind("quarantine")
ANALYTICS: Kind[AnalyticsListing] = Kind("analytics")
SUPPRESSIONS: Kind[list[Suppression]] = Kind("suppressions")
EVALUATION: Kind[Evaluation] = Kind("evaluation")
COVERAGE: Kind[list[Finding]] = Kind("coverage")
INCIDENTS: Kind[list[Incident]] = Kind("incidents")
INCIDENT: Kind[Incident] = Kind("incident")
BLAST_RADIUS: Kind[BlastRadius] = Kind("blast-radius")
TIMELINE: Kind[TimelineView] = Kind("timeline")


@dataclass(frozen=True)
class Renderer(Generic[T]):
    """One output format for one kind of result."""

    kind: Kind[T]
    name: str  # the --format value
    render: Callable[[T], Output]
    help: str  # a few words for --help: "one JSON object per line"

    @property
    def key(self) -> str:
        return f"{self.kind.name}/{self.name}"
