"""``mailhunt rules test``: each Sigma rule run against its own sample events.

**Sample format.** A rule carries its samples in the top-level key ``mailhunt-samples`` (pySigma
keeps unknown keys in ``custom_attributes``, so the file stays a valid Sigma rule)::

    mailhunt-samples:
      positive:            # events the rule must match
        - Operation: Set-Mailbox
          Parameters: {ForwardingSmtpAddress: "smtp:drop@example.net"}
      negative:            # events it must not match
        - Operation: Set-Mailbox
          Parameters: {Identity: alice}

An event is a mapping of the log source's Sigma field names (those ``pipelines.py`` maps, any
letter case) to values; a nested mapping stands for dotted names (``Parameters: {X: v}`` is
``Parameters.X: v``) and UAL's own list of ``{Name, Value}`` (or ``NewValue``) entries is read
too. Reserved keys: ``_time`` (ISO 8601, UTC when no offset is given; default: a fixed time
plus one second per event, in list order) and, in a correlation rule's samples, ``_rule`` (the
id or name of the referenced rule whose log source the event belongs to; default the first).

**What passes.** A rule (not a correlation) passes when it matches every positive event and no
negative one. A correlation rule passes when its positive events, together, raise at least one
hit and its negative events, together (without the positive ones), raise none.

**How.** The samples are rows of one in-memory store, locked down as the real one, written
through the pipeline's field mapping (the columns of ``events``/``signins``, with the log
source's format as ``source``); each rule's rows (each correlation scenario's) have a tenant of
their own, so one rule's samples never reach another's (``OrganizationId``/``TenantId`` cannot
be set by a sample). The rule runs through its compiled SQL (``compiler.compile_rules`` over
the whole path, so correlations find their rules). A field the store does not keep, a value of
the wrong type or a missing list is a sample ``error``; a rule that does not convert keeps its
``unsupported`` or ``error`` status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from rich.console import Group
from rich.table import Table
from rich.text import Text
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.report.encode import jsonl
from mailhunt.report.safe import terminal
from mailhunt.sigma.compiler import (
    CONVERTED,
    ERROR,
    UNSUPPORTED,
    Compiled,
    checking_store,
    compile_rules,
)
from mailhunt.sigma.correlation import NotCorrelated, resolve
from mailhunt.sigma.loader import Loaded
from mailhunt.sigma.pipelines import COLUMN, PARAM, LogSource, log_source_for
from mailhunt.store.db import Store

SAMPLES_KEY = "mailhunt-samples"
PASSED = "passed"
FAILED = "failed"
STATUSES = (PASSED, FAILED, UNSUPPORTED, ERROR)
TEST_KEYS = ("path", "rule_id", "title", "status", "reason")
SAMPLE_TIME = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
_PARAMETER_LISTS = ("parameters", "modifiedproperties")
_UNSET = ("tenant_id", "source", "record_id", "time")  # set by the tester, not by a sample
_SKIPPED_TYPES = ("[]",)  # list columns other than parameters are not written by samples


@dataclass(frozen=True)
class Tested:
    """One rule's test: ``passed``, ``failed``, ``unsupported`` or ``error``, and why."""

    path: str
    line: int | None
    rule_id: str
    title: str
    status: str
    reason: str

    def record(self) -> dict[str, Any]:
        """The JSON Lines object (keys in ``TEST_KEYS`` order)."""
        return {
            "path": self.path,
            "rule_id": self.rule_id,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
        }


class SampleError(ValueError):
    """A sample that cannot be written into the store; the message says which and why."""


def run_rule_tests(loaded: Sequence[Loaded]) -> list[Tested]:
    """Each loaded rule tested against its own samples, in order."""
    items = list(loaded)
    compiled = compile_rules(items)
    with checking_store() as store:
        run = _Run(items, compiled, store)
        return [run.test(n) for n in range(len(items))]


@dataclass(frozen=True)
class _Run:
    """The rules under test, their conversions and the store their samples go to."""

    items: Sequence[Loaded]
    compiled: Sequence[Compiled]
    store: Store

    def test(self, n: int) -> Tested:
        item, compiled = self.items[n], self.compiled[n]

        def done(status: str, reason: str) -> Tested:
            return Tested(item.path, item.line, item.rule_id, item.title, status, reason)

        if compiled.status != CONVERTED:
            return done(compiled.status, compiled.reason)
        try:
            failure = self._failure(n)
        except SampleError as error:
            return done(ERROR, str(error))
        except duckdb.Error as error:
            return done(ERROR, f"running the samples: {str(error).splitlines()[0]}")
        return done(FAILED, failure) if failure else done(PASSED, "")

    def _failure(self, n: int) -> str:
        """'' when the rule passes its samples, else why not."""
        rule = self.items[n].rule
        positive, negative = samples(rule)
        if isinstance(rule, SigmaCorrelationRule):
            sources = _referenced_sources(self.items[n], rule, self.items, self.compiled)
            return self._correlation(n, sources, positive, negative)
        assert isinstance(rule, SigmaRule)  # noqa: S101 (a converted rule)
        return self._rule(n, log_source_for(rule.logsource), positive, negative)

    def _rule(self, n: int, source: LogSource, positive: list[Any], negative: list[Any]) -> str:
        """'' when the rule matches every positive event and no negative one, else why not."""
        tenant = f"mailhunt-rules-test-{n}"
        rows = _rows(positive, "positive", [("", source)], tenant)
        rows += _rows(negative, "negative", [("", source)], tenant)
        _insert(self.store, rows)
        matched = _matched(self.store, self.compiled[n], tenant)
        missed = [f"{i + 1}" for i in range(len(positive)) if f"positive-{i + 1}" not in matched]
        wrong = [f"{i + 1}" for i in range(len(negative)) if f"negative-{i + 1}" in matched]
        problems = []
        if missed:
            problems.append(f"positive sample(s) {', '.join(missed)} not matched")
        if wrong:
            problems.append(f"negative sample(s) {', '.join(wrong)} matched")
        return "; ".join(problems)

    def _correlation(
        self,
        n: int,
        sources: list[tuple[str, LogSource]],
        positive: list[Any],
        negative: list[Any],
    ) -> str:
        """'' when the positive events raise a hit and the negative ones none, else why not."""
        found = {}
        for kind, events in (("positive", positive), ("negative", negative)):
            tenant = f"mailhunt-rules-test-{n}-{kind}"
            _insert(self.store, _rows(events, kind, sources, tenant, correlation=True))
            found[kind] = _matched(self.store, self.compiled[n], tenant)
        problems = []
        if not found["positive"]:
            problems.append("the positive samples raise no hit")
        if found["negative"]:
            records = ", ".join(sorted(found["negative"]))
            problems.append(f"the negative samples raise a hit (records {records})")
        return "; ".join(problems)


# -- samples ----------------------------------------------------------------------------------


def samples(rule: SigmaRule | SigmaCorrelationRule | None) -> tuple[list[Any], list[Any]]:
    """The rule's positive and negative sample events (SampleError when either is missing)."""
    attributes = rule.custom_attributes if rule is not None else {}
    given = attributes.get(SAMPLES_KEY)
    if given is None:
        raise SampleError(f"no samples ({SAMPLES_KEY}: positive and negative events)")
    if not isinstance(given, Mapping):
        raise SampleError(f"{SAMPLES_KEY} is not a mapping of positive and negative events")
    unknown = sorted(str(key) for key in given if key not in ("positive", "negative"))
    if unknown:
        raise SampleError(f"{SAMPLES_KEY} has unknown key(s) {', '.join(unknown)}")
    lists = []
    for kind in ("positive", "negative"):
        events = given.get(kind)
        if not isinstance(events, list) or not events:
            raise SampleError(f"no {kind} sample (a non-empty list of events)")
        lists.append(events)
    return lists[0], lists[1]


def _flatten(event: Mapping[Any, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted field name, value) of an event, nested mappings and Name/Value lists unrolled."""
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif isinstance(value, list) and str(key).lower() in _PARAMETER_LISTS and not prefix:
            for entry in value:
                if not isinstance(entry, Mapping) or "Name" not in entry:
                    raise SampleError(f"{name}: a list of {{Name, Value}} entries expected")
                yield f"{name}.{entry['Name']}", entry.get("Value", entry.get("NewValue"))
        else:
            yield name, value


def _when(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _when(datetime.fromisoformat(value), where)
        except ValueError:
            pass
    raise SampleError(f"{where}: _time {value!r} is not an ISO 8601 time")


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    return text == "true" if text in ("true", "false") else None


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int | float) else None


_CONVERT = {"BOOLEAN": _boolean, "INTEGER": _integer, "BIGINT": _integer, "VARCHAR": _text}


def _typed(value: Any, type_: str, where: str) -> Any:
    """A sample value as the column's type."""
    if value is None:
        return None
    if type_ == "TIMESTAMPTZ":
        return _when(value, where)
    converted = _CONVERT.get(type_, _text)(value)
    if converted is None:
        raise SampleError(f"{where}: {value!r} is not a {type_} value")
    return converted


def _row(
    event: Any, source: LogSource, tenant: str, *, record_id: str, time: datetime, where: str
) -> dict[str, Any]:
    """The store row of one sample event of the log source."""
    if not isinstance(event, Mapping):
        raise SampleError(f"{where}: an event is a mapping of field names to values")
    table = TABLES_BY_NAME[source.table]
    types = {c.name: c.type for c in table.columns if not c.type.endswith(_SKIPPED_TYPES)}
    row: dict[str, Any] = dict.fromkeys(types)
    if source.table == "events":
        row["parameters"] = None
    parameters: list[dict[str, Any]] = []
    for name, value in _flatten(event):
        if name in ("_time", "_rule"):
            continue
        token = source.token(name)
        if token.startswith(PARAM):
            parameters.append(
                {"name": token[len(PARAM) :], "value": _typed(value, "VARCHAR", where)}
            )
            continue
        column = token[len(COLUMN) :] if token.startswith(COLUMN) else ""
        if column in _UNSET:
            raise SampleError(f"{where}: field {name} is set by the tester, not by a sample")
        if column not in types:
            raise SampleError(
                f"{where}: field {name} is not collected for {source.product}/{source.service}"
            )
        row[column] = _typed(value, types[column], f"{where}: field {name}")
    row.update(record_id=record_id, time=time, tenant_id=tenant, source=source.formats[0])
    if parameters:
        row["parameters"] = parameters
    return row


def _insert(store: Store, rows: list[tuple[str, dict[str, Any]]]) -> None:
    for table in ("events", "signins"):
        mine = [row for name, row in rows if name == table]
        for start in range(0, len(mine), 8):  # bound statements, never an Arrow scan
            store.insert_rows(table, mine[start : start + 8])


def _rows(
    events: list[Any],
    kind: str,
    sources: list[tuple[str, LogSource]],
    tenant: str,
    *,
    correlation: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """Rows for a list of sample events; ``sources`` are (reference, log source) pairs, the
    first the default (a rule has one, a correlation those of its referenced rules)."""
    rows = []
    for i, event in enumerate(events):
        where = f"{kind} sample {i + 1}"
        source = sources[0][1]
        if isinstance(event, Mapping) and "_rule" in event:
            if not correlation:
                raise SampleError(f"{where}: _rule is for a correlation rule's samples")
            wanted = str(event["_rule"]).strip().lower()
            found = [s for reference, s in sources if reference == wanted]
            if not found:
                raise SampleError(f"{where}: _rule {event['_rule']} is not a referenced rule")
            source = found[0]
        time = (
            _when(event["_time"], where)
            if isinstance(event, Mapping) and "_time" in event
            else SAMPLE_TIME + timedelta(seconds=i)
        )
        row = _row(event, source, tenant, record_id=f"{kind}-{i + 1}", time=time, where=where)
        rows.append((source.table, row))
    return rows


def _matched(store: Store, compiled: Compiled, tenant: str) -> set[str]:
    rows = store.query(
        f"SELECT DISTINCT record_id FROM ({compiled.query}) WHERE tenant_id = ?", [tenant]
    )
    return {str(row[0]) for row in rows}


# -- tests ------------------------------------------------------------------------------------


def _referenced_sources(
    item: Loaded,
    rule: SigmaCorrelationRule,
    items: Sequence[Loaded],
    compiled: Sequence[Compiled],
) -> list[tuple[str, LogSource]]:
    """(reference, log source) of each rule the correlation references, by every name the
    rule goes by (the reference, its id and its name)."""
    try:
        positions = resolve(item, rule, items, compiled)
    except NotCorrelated as problem:  # it converted, so this does not happen
        raise SampleError(problem.reason) from None
    pairs: list[tuple[str, LogSource]] = []
    for k in positions:
        base = items[k].rule
        assert isinstance(base, SigmaRule)  # noqa: S101 (a converted base rule)
        source = log_source_for(base.logsource)
        names = (str(base.id or ""), base.name or "")
        pairs.extend((name.lower(), source) for name in names if name)
    return pairs


# -- output -----------------------------------------------------------------------------------


def tests_jsonl(results: Iterable[Tested]) -> str:
    """One object per rule: ``path``, ``rule_id``, ``title``, ``status``, ``reason``."""
    return jsonl(result.record() for result in results)


def tests_table(results: list[Tested]) -> Group:
    """A table for people (every text from a rule file through the terminal sanitiser)."""
    table = Table("status", "rule id", "title", "reason", "path", show_lines=False)
    for r in results:
        where = r.path + (f":{r.line}" if r.line else "")
        table.add_row(*(terminal(c) for c in (r.status, r.rule_id, r.title, r.reason, where)))
    return Group(table, Text(f"{len(results)} rule(s): {summary_line(results)}"))


def summary_line(results: Iterable[Tested]) -> str:
    counts = Counter(r.status for r in results)
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
