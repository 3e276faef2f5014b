"""Analytic parameters declared once: checked and parsed from their declaration, discovered
with the analytics, and matching the $names each analytic's SQL uses."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from mailhunt.alerts.query import list_alerts
from mailhunt.detect import analytics as analytics_package
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES, SEVERITY_RANK, Analytic, Parameter
from mailhunt.detect.parameters import declared, parse_assignment, parse_assignments
from mailhunt.errors import InputError
from mailhunt.store.db import Store

DAYS = Parameter("days", int, 14, "Days.", minimum=1)
RATIO = Parameter("ratio", float, 0.5, "A ratio.", minimum=0)
LABEL = Parameter("label", str, "x", "A label.")


def analytic(*parameters: Parameter, analytic_id: str = "a") -> Analytic:
    return Analytic(
        id=analytic_id,
        title="t",
        severity="low",
        technique="T1114",
        doc="d",
        sql="SELECT 1",
        tables=("events",),
        parameters=parameters,
    )


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [(DAYS, 3, 3), (DAYS, 1, 1), (RATIO, 2, 2.0), (RATIO, 0.25, 0.25), (LABEL, "y", "y")],
)
def test_check_accepts_values_of_the_declared_type(
    parameter: Parameter, value: object, expected: object
) -> None:
    checked = parameter.check(value)
    assert checked == expected
    assert type(checked) is parameter.type


@pytest.mark.parametrize(
    ("parameter", "value"),
    [(DAYS, 0), (DAYS, "3"), (DAYS, 1.5), (DAYS, True), (DAYS, None), (RATIO, -0.1), (LABEL, 1)],
)
def test_check_refuses_other_values(parameter: Parameter, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{parameter.name} must be {parameter.expects}$"):
        parameter.check(value)


def test_parse_reads_command_line_text() -> None:
    assert DAYS.parse("21") == 21
    assert DAYS.parse(" 21 ") == 21
    assert RATIO.parse("0.75") == 0.75
    assert LABEL.parse(" keep spaces ") == " keep spaces "
    for bad in ("abc", "1.5", "0", ""):
        with pytest.raises(ValueError, match=f"days must be a whole number >= 1, not '{bad}'"):
            DAYS.parse(bad)


def test_expects_in_words() -> None:
    assert DAYS.expects == "a whole number >= 1"
    assert RATIO.expects == "a number >= 0"
    assert LABEL.expects == "text"


def test_a_default_must_be_valid() -> None:
    with pytest.raises(ValueError, match="days must be a whole number >= 1"):
        Parameter("days", int, 0, "Days.", minimum=1)
    with pytest.raises(TypeError, match="unsupported type"):
        Parameter("when", bytes, b"", "No.")  # type: ignore[arg-type]


def test_an_analytic_declares_a_name_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        analytic(DAYS, DAYS)
    assert analytic(DAYS, RATIO).defaults == {"days": 14, "ratio": 0.5}


def test_declared_merges_the_analytics_parameters() -> None:
    found = declared([analytic(DAYS), analytic(DAYS, LABEL, analytic_id="b")])
    assert list(found) == ["days", "label"]
    clash = Parameter("days", float, 1.0, "Days, fractional.")
    with pytest.raises(RuntimeError, match="days is declared with two types"):
        declared([analytic(DAYS), analytic(clash, analytic_id="b")])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("days", "expected NAME=VALUE, not 'days'"),
        ("=3", "expected NAME=VALUE, not '=3'"),
        ("weeks=2", "unknown parameter 'weeks' (known: days, ratio)"),
        ("days=two", "days must be a whole number >= 1, not 'two'"),
        ("days=0", "days must be a whole number >= 1, not '0'"),
    ],
)
def test_parse_assignment_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_assignment(text, {"days": DAYS, "ratio": RATIO})
    assert str(raised.value) == message


def test_parse_assignments_later_wins() -> None:
    overrides = parse_assignments(["days=3", "ratio=1", "days=5"], [analytic(DAYS, RATIO)])
    assert overrides == {"days": 5, "ratio": 1.0}


def test_every_analytic_module_is_registered() -> None:
    names = [m.name for m in pkgutil.iter_modules(analytics_package.__path__)]
    modules = [importlib.import_module(f"{analytics_package.__name__}.{n}") for n in names]
    assert {m.ANALYTIC.id for m in modules if not m.__name__.split(".")[-1].startswith("_")} == set(
        ANALYTICS
    )


@pytest.mark.parametrize("analytic_id", sorted(ANALYTICS))
def test_declared_parameters_are_the_sql_parameters(analytic_id: str) -> None:
    found = ANALYTICS[analytic_id]
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", found.sql))
    assert used == {p.name for p in found.parameters}
    assert all(p.help and "\n" not in p.help for p in found.parameters)


def test_severities_have_one_declaration_lowest_first() -> None:
    assert SEVERITIES == ("informational", "low", "medium", "high", "critical")
    assert [SEVERITY_RANK[s] for s in SEVERITIES] == list(range(len(SEVERITIES)))


def test_unknown_min_severity_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="unknown severity 'severe'"):
        list_alerts(store, min_severity="severe")
    assert list_alerts(store, min_severity="critical") == []
