"""Shared SQL for on-premises mail server logs read as text, one authentication event a line.

Not a format (the registry skips modules whose name starts with ``_``): the pieces the syslog
formats (``mail_syslog``: Dovecot and Postfix) and the Exchange protocol logs share.

Outcomes are one documented code table, ``CODES``, so every on-premises source reads alike
(``error_code`` 0 is success, as in Entra sign-ins):

- 0: success.
- 1: credentials rejected (wrong password, account refused after the password was checked).
- 2: unknown user.
- 3: no credentials checked: the client gave up or was refused before or during authentication
  (no attempt, TLS handshake not finished, disallowed cleartext or mechanism).
- 4: server-side failure: the authentication service was unreachable, failed, or a limit hit.

Record ids are ``<text from the line>|<md5 of the line's ordinal and text>``: the part before the
``|`` is verbatim in the line (the framework's pairing check), the hash makes two identical lines
of one file two records, and ingesting the same file again gives the same ids. The ordinal is
the line's position among the file's non-blank lines (its line number when it has none).

Lines that are not authentication events (most of a mail log) are not records: the ``skip``
predicate (``code IS NULL``) that ``signins_format`` gives each format marks them, so they are
counted as skipped rather than quarantined. A line that is an authentication event but whose
time cannot be read keeps a NULL time and is quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from mailhunt.formats.base import Format, Sample

CODES = {
    0: "success",
    1: "credentials rejected",
    2: "unknown user",
    3: "no credentials checked (aborted, disconnected or refused before authentication)",
    4: "server-side failure (authentication service unavailable or failed, limit reached)",
}

TEXT_COLUMNS = {"line": "VARCHAR"}  # what the text reader gives: one row per line


def lit(text: str) -> str:
    """A SQL string literal for a constant written in this package (never log data)."""
    return "'" + text.replace("'", "''") + "'"


def group(source_sql: str, pattern: str, index: int = 1) -> str:
    """SQL: capture group `index` of `pattern` in `source_sql`, NULL when absent or empty."""
    return f"nullif(regexp_extract({source_sql}, {lit(pattern)}, {index}), '')"


def first_match(value_sql: str, table: Iterable[tuple[str, object]]) -> str:
    """SQL: the value of the first (pattern, value) row whose pattern matches, else NULL."""
    arms = " ".join(
        f"WHEN regexp_matches({value_sql}, {lit(pattern)}) THEN {value}" for pattern, value in table
    )
    return f"CASE {arms} END"


def record_id(prefix_sql: str) -> str:
    """SQL: ``<prefix>|<md5 of ordinal and line>`` for an authentication event, else NULL."""
    return (
        f"CASE WHEN code IS NOT NULL THEN {prefix_sql} || '|' || "
        f"md5(CAST(_ordinal AS VARCHAR) || ':' || line) END"
    )


def signins_format(
    *,
    name: str,
    description: str,
    sniff: Callable[[Sample], bool],
    relation: str,
    id_prefix: str,
    select: Mapping[str, str],
) -> Format:
    """A format of sign-ins read as text, one authentication event a line. `relation` (over the
    text reader's ``line``) gives each line's ``code`` (see CODES; NULL: not an authentication
    event, skipped), ``user`` and ``session``; the record id is `id_prefix` (SQL for text from
    the line) and the line's hash; `select` maps the other columns."""
    return Format(
        name=name,
        description=description,
        table="signins",
        reader="text",
        sniff=sniff,
        columns=TEXT_COLUMNS,
        id_field="line",
        time_field="line",
        relation=relation,
        skip="code IS NULL AND line IS NOT NULL",
        select={
            "record_id": record_id(id_prefix),
            "user_upn": "lower(user)",
            "session_id": "session",
            "interactive": "true",
            "error_code": "code",
            **select,
        },
    )


# -- syslog ----------------------------------------------------------------------------------------

# The times a syslog line may start with, most specific first. Dovecot's own log file starts
# with its `log_timestamp` (strftime; default "%b %d %H:%M:%S ", often "%Y-%m-%d %H:%M:%S ",
# "%{usecs}" adds microseconds): BSD or ISO_LOCAL, with or without a fraction.
TAI64N = r"@4000000[0-9a-fA-F]{17}"  # daemontools multilog
RFC3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
ISO_LOCAL = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?"  # no zone: Dovecot's own log
BSD = r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"  # RFC 3164: no year, no zone

# What Dovecot 1.x writes before the time in its own log file: its log prefix ("dovecot: " for
# the master process, "deliver(user): " for the LDA).
OWN_LOG_PREFIX = r"(?:dovecot: |deliver\(.*?\): )?"
# A syslog host: a token not ending in ':' and holding no '(' (a Dovecot process of a line
# without host, `auth(user name,ip,..)<..>:`, may hold spaces), or syslog's "(none)".
_HOST = r"\(none\)|[^\s(]*[^\s:(]"

# time, then an optional host, then the message.
HEADER = rf"^{OWN_LOG_PREFIX}({TAI64N}|{RFC3339}|{ISO_LOCAL}|{BSD}) (?:({_HOST}) )?(.*)$"
HEADER_FIELDS = ("ts", "host", "msg")

_BSD_FORMAT = "%b %d %H:%M:%S %Y"
_IS_BSD = "regexp_matches(ts, '^[A-Z]')"
_IS_LOCAL = r"regexp_matches(ts, '^\d{4}-\d{2}-\d{2}[ T][\d:.]+$')"


def _bsd_time(ts: str) -> str:
    """A yearless BSD time in the year of the file's modification ($ingest_year, $ingest_month):
    a month later than that month is from the year before (a December line in a January file).
    A fraction of a second (Dovecot's %{usecs}) is added as microseconds."""
    text = rf"regexp_replace(regexp_replace({ts}, '\.\d+$', ''), ' +', ' ', 'g')"
    month = f"month(try_strptime({text} || ' 2000', '{_BSD_FORMAT}'))"
    year = (
        f"(CAST($ingest_year AS INTEGER) - "
        f"CASE WHEN {month} > CAST($ingest_month AS INTEGER) THEN 1 ELSE 0 END)"
    )
    micros = f"CAST(rpad(left(split_part({ts}, '.', 2), 6), 6, '0') AS BIGINT)"
    return (
        f"CAST(try_strptime({text} || ' ' || {year}, '{_BSD_FORMAT}') AS TIMESTAMPTZ) "
        f"+ to_microseconds({micros})"
    )


def _tai64n_time(ts: str) -> str:
    """TAI64N label -> UTC: seconds are the label less 2^62 + 10 (TAI-UTC in 1970), as
    daemontools' tai64nlocal reads them; the last 8 hex digits are nanoseconds."""
    seconds = f"CAST('0x' || substr({ts}, 9, 9) AS BIGINT) - 10"
    micros = f"CAST('0x' || substr({ts}, 18, 8) AS BIGINT) // 1000"
    return f"to_timestamp({seconds}) + to_microseconds({micros})"


SYSLOG_TIME = (
    f"CASE WHEN starts_with(ts, '@') THEN {_tai64n_time('ts')} "
    f"WHEN {_IS_BSD} THEN {_bsd_time('ts')} "
    f"ELSE TRY_CAST(ts AS TIMESTAMPTZ) END"
)

SYSLOG_TIME_WARNINGS = {
    "time_without_year": _IS_BSD,  # year taken from the file's modification time
    "time_without_zone": f"({_IS_BSD} OR {_IS_LOCAL})",  # server-local time, stored as UTC
}


@dataclass(frozen=True)
class Rule:
    """One kind of authentication line: a pattern over the message after the syslog header.

    `needle` is text every such message contains (a cheap test before the pattern). Named
    groups of `pattern` are fields (see ``RULE_FIELDS``); `fields` gives SQL for a field
    instead (over ``msg``), e.g. the last ``rip=`` of a line. `outcomes` are (pattern over the
    reason, error code), first match wins; a line whose reason matches none is not an
    authentication event (its ``code`` is NULL) and is skipped.
    """

    kind: str
    needle: str
    pattern: str
    app_name: str  # SQL over the fields
    app_id: str  # SQL over the fields
    outcomes: tuple[tuple[str, int], ...]
    fields: Mapping[str, str] = field(default_factory=dict)

    def groups(self) -> list[str]:
        """The name of each capture group of the pattern, in order (``_<n>`` when unnamed)."""
        compiled = re.compile(self.pattern)
        names = {index: name for name, index in compiled.groupindex.items()}
        return [names.get(index, f"_{index}") for index in range(1, compiled.groups + 1)]

    def sql(self, column: str, groups: str) -> str | None:
        """SQL for one output column of a line this rule matched, `groups` being the struct of
        its capture groups (None: the rule has no such column)."""
        if column == "code":
            return first_match("coalesce(reason, '')", self.outcomes)
        if column in ("app_name", "app_id"):
            return str(getattr(self, column))
        if column in self.fields:
            return self.fields[column]
        return f"nullif({groups}.{column}, '')" if column in self.groups() else None


RULE_FIELDS = ("service", "user", "ip", "session", "reason", "driver")
OUTCOME_COLUMNS = ("code", "app_name", "app_id")


def rules_relation(rules: tuple[Rule, ...]) -> str:
    """The relation over the text reader's lines: the header split (ts, host, msg), the kind of
    the first rule matching msg, the capture groups of that rule (one regex run), its fields,
    then its outcome (code), app name and id."""
    header = ", ".join(f"h.{name} AS {name}" for name in HEADER_FIELDS)
    split = (
        f"SELECT _ordinal, line, {header} FROM (SELECT _ordinal, line, "
        f"regexp_extract(line, {lit(HEADER)}, {list(HEADER_FIELDS)!r}) AS h FROM {{source}})"
    )
    kind = (
        "CASE "
        + " ".join(
            f"WHEN contains(msg, {lit(r.needle)}) AND regexp_matches(msg, {lit(r.pattern)}) "
            f"THEN {lit(r.kind)}"
            for r in rules
        )
        + " END"
    )
    groups = ", ".join(
        f"CASE WHEN kind = {lit(r.kind)} THEN regexp_extract(msg, {lit(r.pattern)}, "
        f"{r.groups()!r}) END AS _g{n}"
        for n, r in enumerate(rules)
    )
    fields = ", ".join(f"{_by_kind(rules, name)} AS {name}" for name in RULE_FIELDS)
    outcome = ", ".join(f"{_by_kind(rules, name)} AS {name}" for name in OUTCOME_COLUMNS)
    return (
        f"SELECT *, {outcome} FROM (SELECT *, {fields} FROM (SELECT *, {groups} FROM "
        f"(SELECT *, {kind} AS kind FROM ({split}))))"
    )


def _by_kind(rules: tuple[Rule, ...], column: str) -> str:
    """SQL: `column` as the rule of each line's kind computes it."""
    arms = " ".join(
        f"WHEN {lit(r.kind)} THEN {sql}"
        for n, r in enumerate(rules)
        if (sql := r.sql(column, f"_g{n}")) is not None
    )
    return f"CASE kind {arms} END" if arms else "NULL"
