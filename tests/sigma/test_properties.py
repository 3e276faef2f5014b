"""Property test: random Sigma rules over a small random table match exactly the records the
Python reference matcher (``reference_matcher.py``) says, and none of their queries reads or
writes a file or changes a setting.

Rules: one to three selections of field items (plain, ``contains``, ``startswith``,
``endswith``, ``cased``, ``all``, ``re`` with flags, ``cidr``, ``gt``/``gte``/``lt``/``lte``,
``exists``, ``null``; single values and lists; lists of maps), under a random condition
(``and``/``or``/``not``, parentheses, ``1 of``/``all of``). Values are cut from the table's
own values (so rules match) or drawn afresh, with quotes, backslashes, ``%``, ``_``, Sigma's
wildcards and escapes, regex metacharacters, NUL, newlines, Unicode case pairs and SQL
fragments (``'; COPY ... TO``, ``ATTACH``, ``read_csv``, ``SET``, ``--``, ``/* */``).

The table the queries run on is on a connection that is NOT locked down: what keeps a value
from acting is its quoting and the sqlglot check, so a quoting bug would write the target file
or change a setting here (the lock itself is tested in ``test_safety.py``). Deterministic: a
fixed number of derandomized examples, no example database.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule

from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.model.sql import quote_identifier
from mailhunt.sigma.compiler import CONVERTED, checking_store, compile_rule
from mailhunt.sigma.loader import Loaded
from mailhunt.sigma.pipelines import LOG_SOURCES
from mailhunt.store.db import Store
from tests.sigma.reference_matcher import matches
from tests.sigma.reference_sqlite import field_value
from tests.sigma.world import T0, TENANT, UAL

SOURCE = next(s for s in LOG_SOURCES if (s.product, s.service) == ("m365", "audit"))
TEXT_FIELDS = ("Operation", "UserAgent", "ObjectId", "ResultStatus", "Parameters.ForwardTo")
COLUMNS = {"Operation": "operation", "UserAgent": "user_agent", "ObjectId": "object_id"}
COLUMNS |= {"ResultStatus": "result", "ClientIP": "client_ip", "RecordType": "record_type"}
TARGET = "{target}"  # replaced by the test's own file path

# Characters and pieces values are made of.
# ASCII with quotes, backslash, LIKE, Sigma and regex metacharacters; NUL, newline, tab;
# Unicode case pairs: é É ß ẞ, capital/small/final sigma, dotted and dotless i, the Kelvin
# sign, Ohm and omega, the titlecase digraph, the fi ligature, fullwidth a A.
CHARS = [
    *"aAbBzZ 0159.-/:;@'\"\\%_*?()[]{}^$|+,=#&~",
    *"\u0000\u000a\u0009\u00e9\u00c9\u00df\u1e9e\u03a3\u03c3\u03c2\u0130iI\u0131\u212akK\u03a9\u03c9\u01c5\u01c6\u01c4\ufb01\uff41\uff21",
]
FRAGMENTS = [
    f"'; COPY events TO '{TARGET}.csv'; --",
    f"'); COPY (SELECT 1) TO '{TARGET}.parquet' (FORMAT parquet); --",
    f"' || (SELECT count(*) FROM read_csv('{TARGET}.csv')) || '",
    f"'; ATTACH '{TARGET}.db' AS x; --",
    "'; SET enable_external_access = true; --",
    "'; SET threads = 1; --",
    "' OR 1=1 --",
    "/* */",
    "*/ --",
    "$$",
    "\\'",
    "%' ESCAPE '",
    "chr(0)",
]
NUMERIC_TEXTS = ["5", "-2", "0.5", ".5", "5.", "1e3", "+7", " 5", "5 ", "nan", "inf", "1_0",
                 "0x10", "\u0663", "12abc", "", "-", "1e999"]  # fmt: skip
IPS = ["10.1.2.3", "10.200.0.9", "192.168.5.6", "192.168.7.255", "203.0.113.9", "8.8.8.8",
       "2001:db8::1", "2001:db8:0:1::5", "2001:db8:1:2::7", "fe80::1"]  # fmt: skip
PREFIXES = {4: [8, 16, 22, 24, 25, 30, 32], 6: [32, 48, 64, 120, 128]}


# -- the table ------------------------------------------------------------------------------

_plain = st.text(alphabet=st.sampled_from(CHARS), max_size=5)
texts = st.one_of(_plain, st.tuples(_plain, st.sampled_from(FRAGMENTS), _plain).map("".join))
maybe_texts = st.one_of(st.none(), texts)
numeric_texts = st.sampled_from(NUMERIC_TEXTS)


@st.composite
def rows(draw: st.DrawFn, record_id: str) -> dict[str, Any]:
    forward = draw(maybe_texts)
    return {
        "record_id": record_id,
        "time": T0,
        "tenant_id": TENANT,
        "source": UAL,
        "workload": "Exchange",
        "operation": draw(maybe_texts),
        "user_agent": draw(maybe_texts),
        "object_id": draw(st.one_of(maybe_texts, numeric_texts, numeric_texts)),
        "result": draw(
            st.one_of(st.none(), st.sampled_from(["Succeeded", "failed", "\u03a3\u0391\u03a3"]))
        ),
        "client_ip": draw(st.one_of(st.none(), st.sampled_from(IPS))),
        "record_type": draw(st.one_of(st.none(), st.integers(-3, 60))),
        "parameters": None if forward is None else [{"name": "ForwardTo", "value": forward}],
    }


def record(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the Sigma record the reference matcher reads."""
    return {name: field_value(SOURCE, name, row) for name in (*TEXT_FIELDS, *COLUMNS)}


# -- values ---------------------------------------------------------------------------------


def _sigma_escaped(text: str) -> str:
    """Plain text as a Sigma value: its ``*``, ``?`` and backslashes escaped."""
    return re.sub(r"([*?\\])", r"\\\1", text)


@st.composite
def string_values(draw: st.DrawFn, table: list[dict[str, Any]], field: str) -> str:
    """A Sigma string value: cut from the table's values of ``field`` or drawn afresh, its
    case maybe changed, wildcards maybe put in, escapes as Sigma writes them."""
    known = [v for v in (record(r)[field] for r in table) if isinstance(v, str)]
    if known and draw(st.integers(0, 3)):
        text = draw(st.sampled_from(known))
        start = draw(st.integers(0, len(text)))
        text = text[start : draw(st.integers(start, len(text)))]
    else:
        text = draw(texts)
    text = draw(st.sampled_from([text, text.upper(), text.lower(), text.swapcase()]))
    pieces = [_sigma_escaped(c) if draw(st.booleans()) else c for c in text]
    for _ in range(draw(st.integers(0, 2))):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(["*", "?"])))
    return "".join(pieces)


REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def _regex_literal(text: str) -> str:
    return "".join("\\" + c if c in REGEX_SPECIAL else c for c in text)


@st.composite
def regexes(draw: st.DrawFn, table: list[dict[str, Any]], field: str) -> str:
    """A pattern of literal pieces (cut from the table or fresh), ``.``, classes,
    alternatives and quantifiers, maybe anchored; no class shorthands."""
    known = [v for v in (record(r)[field] for r in table) if isinstance(v, str) and v]
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["known", "fresh", "dot", "class", "alt"]))
        if kind == "known" and known:
            text = draw(st.sampled_from(known))
            start = draw(st.integers(0, len(text) - 1))
            pieces.append(_regex_literal(text[start : start + draw(st.integers(1, 4))]))
        elif kind in ("known", "fresh"):
            pieces.append(_regex_literal(draw(texts)))
        elif kind == "dot":
            pieces.append(".")
        elif kind == "class":
            pieces.append(draw(st.sampled_from(["[a-z]", "[^a]", "[0-9]", "[%_']", "[\\\\]"])))
        else:
            pieces.append("(" + _regex_literal(draw(texts)) + "|a)")
        if draw(st.booleans()):
            pieces[-1] = f"(?:{pieces[-1]}){draw(st.sampled_from(['?', '*', '+', '{1,2}']))}"
    pattern = "".join(pieces)
    if draw(st.booleans()):
        pattern = "^" + pattern
    if draw(st.booleans()):
        pattern += "$"
    return pattern


@st.composite
def networks(draw: st.DrawFn) -> str:
    address = ipaddress.ip_address(draw(st.sampled_from(IPS)))
    prefix = draw(st.sampled_from(PREFIXES[address.version]))
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@st.composite
def items(draw: st.DrawFn, table: list[dict[str, Any]]) -> tuple[str, Any]:  # noqa: PLR0911
    """One detection item: ``field|modifiers`` and its value(s)."""
    kind = draw(
        st.sampled_from(
            [
                "eq",
                "contains",
                "startswith",
                "endswith",
                "all",
                "cased",
                "re",
                "cidr",
                "compare",
                "compare",
                "exists",
                "null",
                "number",
            ]
        )
    )
    field = draw(st.sampled_from(TEXT_FIELDS))
    if kind == "re":
        flags = draw(st.lists(st.sampled_from(["i", "m", "s"]), unique=True, max_size=2))
        return "|".join([field, "re", *flags]), draw(regexes(table, field))
    if kind == "cidr":
        return "ClientIP|cidr", draw(st.lists(networks(), min_size=1, max_size=2))
    if kind == "compare":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
        bound = draw(st.sampled_from([-1, 0, 5, 7, 50, 2.5, 1000]))
        return f"{draw(st.sampled_from(['RecordType', 'ObjectId']))}|{op}", bound
    if kind == "exists":
        return f"{draw(st.sampled_from([*TEXT_FIELDS, 'ClientIP']))}|exists", draw(st.booleans())
    if kind == "null":
        return field, None
    if kind == "number":
        return draw(st.sampled_from(["RecordType", "ObjectId"])), draw(st.sampled_from([5, 0, 50]))
    values = draw(st.lists(string_values(table, field), min_size=1, max_size=3))
    if kind == "all":
        match = draw(st.sampled_from(["contains", "startswith", "endswith"]))
        return f"{field}|{match}|all", values
    if kind == "cased":
        match = draw(st.sampled_from(["", "|contains", "|startswith"]))
        return f"{field}{match}|cased", values if len(values) > 1 else values[0]
    modifier = "" if kind == "eq" else f"|{kind}"
    return f"{field}{modifier}", values if len(values) > 1 else values[0]


@st.composite
def selections(draw: st.DrawFn, table: list[dict[str, Any]]) -> Any:
    def one_map() -> dict[str, Any]:
        return dict(draw(st.lists(items(table), min_size=1, max_size=2)))

    if draw(st.integers(0, 4)) == 0:
        return [one_map(), one_map()]
    return one_map()


@st.composite
def conditions(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    kinds = ["name", "not", "not", "and", "or", "of"] if depth < 3 else ["name"]
    kind = draw(st.sampled_from(kinds))
    if kind == "name":
        return draw(st.sampled_from(names))
    if kind == "not":
        return "not " + draw(conditions(names, depth + 1))
    if kind == "of":
        quantity = draw(st.sampled_from(["1", "all"]))
        return f"{quantity} of {draw(st.sampled_from(['sel*', 'them', 'filter*']))}"
    left, right = draw(conditions(names, depth + 1)), draw(conditions(names, depth + 1))
    return f"({left} {kind} {right})"


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    count = draw(st.integers(1, 6))
    table = [draw(rows(f"r{i}")) for i in range(count)]
    names = ["sel", "sel2", "filter_a"][: draw(st.integers(1, 3))]
    if "filter_a" not in names:
        names = [n if n != "sel2" else "filter_a" for n in names]
    detection = {name: draw(selections(table)) for name in names}
    condition = draw(conditions(names))
    if "filter*" in condition and "filter_a" not in names:
        condition = condition.replace("filter*", "sel*")
    detection["condition"] = condition
    return table, detection


# -- the test -------------------------------------------------------------------------------


# The columns the rules read, typed as the store's events table.
NARROW = ("record_id", "source", "operation", "user_agent", "object_id", "result", "client_ip",
          "record_type", "parameters")  # fmt: skip
Tables = tuple[duckdb.DuckDBPyConnection, Store, Path]
SETTINGS_TRIED = ("enable_external_access", "threads", "lock_configuration")


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tables]:
    """A small events table (the store's types, the rules' columns) on a connection that is
    not locked, the empty locked store rules are checked on, and a folder to watch."""
    types = {c.name: c.type for c in TABLES_BY_NAME["events"].columns}
    connection = duckdb.connect()
    columns = ", ".join(f"{quote_identifier(c)} {types[c]}" for c in NARROW)
    connection.execute(f"CREATE TABLE events ({columns})")
    with checking_store() as checking:
        yield connection, checking, tmp_path_factory.mktemp("injection")
    connection.close()


def _fill(connection: duckdb.DuckDBPyConnection, table: list[dict[str, Any]]) -> None:
    connection.execute("DELETE FROM events")
    marks = "(" + ", ".join("?" for _ in NARROW) + ")"
    connection.execute(
        f"INSERT INTO events VALUES {', '.join(marks for _ in table)}",
        [row[c] for row in table for c in NARROW],
    )


def _settings(connection: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return connection.execute("SELECT name, value FROM duckdb_settings() ORDER BY name").fetchall()


def _with_target(value: Any, target: str) -> Any:
    if isinstance(value, str):
        return value.replace(TARGET, target)
    if isinstance(value, list):
        return [_with_target(v, target) for v in value]
    if isinstance(value, dict):
        return {k: _with_target(v, target) for k, v in value.items()}
    return value


def compiled_query(detection: dict[str, Any], checking: Store) -> str:
    rule = SigmaRule.from_dict(
        {
            "title": "property",
            "id": "00000000-0000-4000-8000-000000000001",
            "logsource": {"product": "m365", "service": "audit"},
            "detection": detection,
        }
    )
    loaded = Loaded("property.yml", 1, str(rule.id), rule.title, rule=rule)
    compiled = compile_rule(loaded, checking)
    assert compiled.status == CONVERTED, (compiled.reason, detection)
    return compiled.query


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def _check_random_rules(tables: Tables, case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    connection, checking, folder = tables
    target = str(folder / "stolen")
    table, detection = _with_target(case[0], target), _with_target(case[1], target)
    tried = f"SELECT {', '.join(f'current_setting({name!r})' for name in SETTINGS_TRIED)}"
    before = connection.execute(tried).fetchall()
    _fill(connection, table)
    query = compiled_query(detection, checking)
    found = {row[0] for row in connection.execute(f"SELECT record_id FROM ({query})").fetchall()}
    expected = {row["record_id"] for row in table if matches(detection, record(row))}
    assert found == expected, query
    assert list(folder.iterdir()) == []
    assert connection.execute(tried).fetchall() == before


def test_random_rules_match_what_the_reference_says(tables: Tables) -> None:
    """Every example on the same unlocked connection; every setting as before at the end."""
    before = _settings(tables[0])
    _check_random_rules(tables)
    assert _settings(tables[0]) == before
