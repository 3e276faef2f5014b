"""What an analytic is: metadata a responder reads, and one SQL query that finds detections.

The query reads the schema's tables, takes every value as a named bound parameter
(``$baseline_days``), and returns one row per detection with exactly the columns of
``DETECTION_COLUMNS``. The runner turns detections into alerts; an analytic never writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SEVERITIES = ("informational", "low", "medium", "high", "critical")

DETECTION_COLUMNS = (
    "entity",  # what the alert is about, stable across runs (e.g. tenant|app)
    "bucket",  # TIMESTAMPTZ: the time bucket the detection belongs to
    "severity",  # one of SEVERITIES
    "summary",  # one sentence for a responder
    "tenant_ids",
    "mailboxes",
    "users",
    "app_ids",
    "client_ips",  # VARCHAR[] each
    "first_seen",
    "last_seen",  # TIMESTAMPTZ
    "event_ids",  # VARCHAR[]: record ids of the evidence
)


@dataclass(frozen=True)
class Analytic:
    """A stateful detection written for this threat, as SQL over the store."""

    id: str
    title: str
    severity: str  # the default; a detection row may raise or lower it
    technique: str  # MITRE ATT&CK technique id
    doc: str  # what it detects, why, known false positives, references
    sql: str
    tables: tuple[str, ...]
    parameters: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: unknown severity {self.severity!r}")
