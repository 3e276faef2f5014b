"""Analytic parameters as a user gives them: ``NAME=VALUE`` text checked against what the
analytics declare (:class:`mailhunt.detect.base.Parameter`), never against a second list."""

from __future__ import annotations

from collections.abc import Iterable

from mailhunt.detect.base import Analytic, Parameter, ParameterValue
from mailhunt.errors import InputError


def declared(analytics: Iterable[Analytic]) -> dict[str, Parameter]:
    """Every parameter the analytics declare, by name (first declaration, analytics' order).
    One name may be shared by several analytics (one value sets it for all), with one type."""
    found: dict[str, Parameter] = {}
    for analytic in analytics:
        for parameter in analytic.parameters:
            first = found.setdefault(parameter.name, parameter)
            if first.type is not parameter.type:
                raise RuntimeError(f"parameter {parameter.name} is declared with two types")
    return found


def parse_assignment(text: str, parameters: dict[str, Parameter]) -> tuple[str, ParameterValue]:
    """``name=value`` parsed and checked; InputError with one line saying what is wrong."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise InputError(f"expected NAME=VALUE, not {text!r}")
    parameter = parameters.get(name)
    if parameter is None:
        known = ", ".join(sorted(parameters)) or "none"
        raise InputError(f"unknown parameter {name!r} (known: {known})")
    try:
        return name, parameter.parse(value)
    except ValueError as error:
        raise InputError(str(error)) from None


def parse_assignments(
    texts: Iterable[str], analytics: Iterable[Analytic]
) -> dict[str, ParameterValue]:
    """Overrides for the runner from ``name=value`` texts (a later one wins)."""
    parameters = declared(analytics)
    return dict(parse_assignment(text, parameters) for text in texts)
