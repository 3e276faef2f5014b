"""What an analytic is: metadata a responder reads, the parameters it takes, and one SQL query
that finds detections.

The query reads the schema's tables, takes every value as a named bound parameter
(``$baseline_days``) declared once as a :class:`Parameter`, and returns one row per detection
with exactly the columns of ``DETECTION_COLUMNS``. The runner turns detections into alerts; an
analytic never writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailhunt.store.db import Store

# The one declaration of severities, lowest first: ranks, filters and choices derive from it.
SEVERITIES = ("informational", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

DETECTION_COLUMNS = (
    # what the alert is about, stable across runs; its parts come from logs, so encode them
    # unambiguously, as a JSON array (to_json([tenant_id, app_key])), never joined by a separator
    "entity",
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
# Optional columns a detection may add; the alert writer keeps them when present.
OPTIONAL_DETECTION_COLUMNS = (
    # JSON object text (to_json(struct_pack(...))): why it fired, in data; keys at least
    # "baseline" (the history it compared with) and "new" (what was new or abnormal)
    "why",
)

ParameterValue = int | float | str
_TYPE_WORDS: dict[type[ParameterValue], str] = {
    int: "a whole number",
    float: "a number",
    str: "text",
}


@dataclass(frozen=True)
class Parameter:
    """A value an analytic's SQL takes as ``$name``, declared once: the runner, the command
    line (``--param name=value``) and ``mailhunt analytics`` all read it from here."""

    name: str
    type: type[ParameterValue]
    default: ParameterValue
    help: str  # one line
    minimum: int | float | None = None  # for numbers

    def __post_init__(self) -> None:
        if self.type not in _TYPE_WORDS:
            raise TypeError(f"parameter {self.name}: unsupported type {self.type!r}")
        self.check(self.default)

    @property
    def expects(self) -> str:
        """What a valid value is, in words: 'a whole number >= 1'."""
        words = _TYPE_WORDS[self.type]
        return words if self.minimum is None else f"{words} >= {self.minimum}"

    def check(self, value: object) -> ParameterValue:
        """The value, of the declared type, if valid; ValueError saying why otherwise."""
        checked = self._typed(value)
        too_small = (
            self.minimum is not None and isinstance(checked, int | float) and checked < self.minimum
        )
        if checked is None or too_small:
            raise ValueError(f"{self.name} must be {self.expects}")
        return checked

    def _typed(self, value: object) -> ParameterValue | None:
        if isinstance(value, bool):
            return None
        if self.type is float and isinstance(value, int | float):
            return float(value)
        if isinstance(value, self.type):
            return value
        return None

    def parse(self, text: str) -> ParameterValue:
        """A value given as text (on the command line), checked; ValueError saying why."""
        try:
            value = text if self.type is str else self.type(text.strip())
        except ValueError:
            raise ValueError(f"{self.name} must be {self.expects}, not {text!r}") from None
        try:
            return self.check(value)
        except ValueError:
            raise ValueError(f"{self.name} must be {self.expects}, not {text!r}") from None


_BOUND = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Shared:
    """Relations several analytics read, computed once per detection run rather than once in
    each (issue 9's cost line: the network baseline of new-network-for-mailbox and
    sync-from-new-context was the same second of work twice).

    ``steps`` are (name, query) pairs, each materialised in order as the temp table
    ``_shared_<name>``; a query reads the steps before it, and an analytic reads them all, by
    their plain names (see :meth:`ctes`). A query's ``$parameters`` are the analytic's own (the
    analytics sharing it declare them); the runner rebuilds the tables when an analytic's
    values differ from those they were built with."""

    id: str
    steps: tuple[tuple[str, str], ...]

    def table(self, name: str) -> str:
        """The temp table holding step ``name``."""
        return f"_shared_{name}"

    def ctes(self, upto: int | None = None) -> str:
        """CTEs (to follow ``WITH``) naming the steps' tables by their plain names (the first
        ``upto`` steps; all when None)."""
        return ",\n".join(
            f"{name} AS (FROM temp.main.{self.table(name)})" for name, _ in self.steps[:upto]
        )

    def statements(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Each step as (table, query reading the steps before it, the parameters it binds)."""
        out = []
        for n, (name, query) in enumerate(self.steps):
            sql = query.strip()
            if n and sql[:5].upper() == "WITH ":  # the step's own CTEs follow the steps'
                sql = f"WITH {self.ctes(n)},\n{sql[5:]}"
            elif n:
                sql = f"WITH {self.ctes(n)}\n{sql}"
            out.append((self.table(name), sql, tuple(dict.fromkeys(_BOUND.findall(sql)))))
        return out

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter some step binds."""
        return tuple(dict.fromkeys(p for _, _, names in self.statements() for p in names))


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
    parameters: tuple[Parameter, ...] = ()
    # Run before the query, in a transaction of its own, with the store: data the analytic
    # ships with (the published indicators of ioc-match) is brought up to date there.
    setup: Callable[[Store], None] | None = None
    # every MITRE ATT&CK technique id the analytic stands for, ``technique`` first (left
    # empty, it is ``(technique,)``)
    techniques: tuple[str, ...] = ()
    # Reads the other analytics' alerts (cross-tenant-campaign): the runner runs it after them.
    after_alerts: bool = False
    # Relations it reads that other analytics read too, computed once per run (see Shared).
    shared: tuple[Shared, ...] = ()
    # An SQL predicate over events that every detection's records start from (its first
    # CTE's filter): where no event satisfies it the runner does not plan the query (planning
    # an administrative analytic's SQL costs 0.05-0.2 s; most stores hold none of its records).
    requires: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: unknown severity {self.severity!r}")
        if not self.techniques:
            object.__setattr__(self, "techniques", (self.technique,))
        if self.techniques[0] != self.technique or len(set(self.techniques)) != len(
            self.techniques
        ):
            raise ValueError(f"{self.id}: techniques must start with technique, each once")
        names = [p.name for p in self.parameters]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.id}: a parameter is declared twice")

    @property
    def defaults(self) -> dict[str, ParameterValue]:
        return {p.name: p.default for p in self.parameters}

    @property
    def severity_logic(self) -> str:
        """How the analytic chooses a severity, in one line: the first sentence of the
        docstring's ``Severity:`` paragraph (its lines joined), or the default severity."""
        return severity_logic(self.doc) or f"{self.severity} (no Severity: paragraph)"


_SEVERITY_PARAGRAPH = re.compile(r"^Severity:\s*(.+?)(?:\n\s*\n|\Z)", re.MULTILINE | re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def severity_logic(doc: str) -> str:
    """The first sentence of a docstring's ``Severity:`` paragraph, on one line ('' if none).
    A sentence ends at '.', '!' or '?' followed by a capital: 'e.g. a' does not end one."""
    found = _SEVERITY_PARAGRAPH.search(doc)
    if found is None:
        return ""
    paragraph = " ".join(found.group(1).split())
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0]
