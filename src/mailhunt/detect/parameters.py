"""Analytic parameters as a user gives them: ``NAME=VALUE`` text on the command line and
``[analytics.<id>]`` tables of ``mailhunt.toml``, checked against what the analytics declare
(:class:`mailhunt.detect.base.Parameter`), never against a second list.

The file (``--config PATH``, else ``mailhunt.toml`` in the current directory)::

    [analytics.mailbox-first-seen-app]
    baseline_days = 21          # for this analytic only

    [detect]
    geoip = ["GeoLite2-ASN.mmdb", "GeoLite2-City.mmdb"]   # relative to the file

A value set there applies to that analytic; ``--param NAME=VALUE`` wins over it, for every
analytic declaring the name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


# -- the configuration file -----------------------------------------------------------------------

CONFIG_NAME = "mailhunt.toml"
# [detect] settings: name -> what it is. Paths are relative to the file's folder.
DETECT_SETTINGS: dict[str, str] = {
    "geoip": "MaxMind-format .mmdb files (GeoLite2, DB-IP Lite): a path or a list of paths",
}


@dataclass(frozen=True)
class DetectConfig:
    """What ``mailhunt.toml`` sets, checked: per analytic id, its parameters' values
    (``[analytics.<id>]``), and the ``[detect]`` settings. Empty when there is no file.

    Precedence, lowest first: a parameter's declared default, the file's value for that
    analytic, then ``--param NAME=VALUE`` (or its alias, ``--baseline-days``), which sets the
    name for every analytic declaring it."""

    path: Path | None = None
    analytics: dict[str, dict[str, ParameterValue]] = field(default_factory=dict)
    geoip: tuple[Path, ...] = ()


def find_config(given: Path | None, folder: Path) -> Path | None:
    """The configuration file: the one given (``--config``: it must exist), else
    ``mailhunt.toml`` in `folder` (the current directory) when there is one."""
    if given is not None:
        if not given.is_file():
            raise InputError(f"no configuration file {given}")
        return given
    found = folder / CONFIG_NAME
    return found if found.is_file() else None


def load_config(path: Path | None, analytics: Iterable[Analytic]) -> DetectConfig:
    """The file read and checked against what the analytics declare: an unknown section,
    analytic, parameter or setting, or a bad value, is an InputError in one line naming the
    file and where."""
    if path is None:
        return DetectConfig()
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read: {error.strerror}") from None
    known = {a.id: a for a in analytics}
    unknown = sorted(set(document) - {"analytics", "detect", "collect"})  # collect: collect/
    if unknown:
        raise InputError(
            f"{path}: unknown section [{unknown[0]}] (known: analytics, collect, detect)"
        )
    values = {
        analytic_id: _analytic_values(path, analytic_id, table, known)
        for analytic_id, table in _table(path, "analytics", document.get("analytics", {})).items()
    }
    detect = _table(path, "detect", document.get("detect", {}))
    strange = sorted(set(detect) - set(DETECT_SETTINGS))
    if strange:
        raise InputError(
            f"{path}: [detect] {strange[0]}: unknown setting "
            f"(known: {', '.join(sorted(DETECT_SETTINGS))})"
        )
    return DetectConfig(path, values, _paths(path, "geoip", detect.get("geoip", [])))


def _table(path: Path, where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{path}: {where} must be a table ([{where}])")
    return value


def _analytic_values(
    path: Path, analytic_id: str, table: object, known: dict[str, Analytic]
) -> dict[str, ParameterValue]:
    where = f"[analytics.{analytic_id}]"
    if not isinstance(table, dict):
        raise InputError(
            f"{path}: [analytics] {analytic_id}: parameters go in a section per analytic, "
            "[analytics.<id>]"
        )
    analytic = known.get(analytic_id)
    if analytic is None:
        raise InputError(
            f"{path}: {where}: unknown analytic (known: {', '.join(sorted(known)) or 'none'})"
        )
    declared_here = {p.name: p for p in analytic.parameters}
    checked: dict[str, ParameterValue] = {}
    for name, value in table.items():
        parameter = declared_here.get(name)
        if parameter is None:
            names = ", ".join(sorted(declared_here)) or "none"
            raise InputError(f"{path}: {where} {name}: unknown parameter (known: {names})")
        try:
            checked[name] = parameter.check(value)
        except ValueError as error:
            raise InputError(f"{path}: {where} {error}, not {value!r}") from None
    return checked


def _paths(path: Path, name: str, value: object) -> tuple[Path, ...]:
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
        raise InputError(f"{path}: [detect] {name} must be a path or a list of paths")
    found = tuple(path.parent / item for item in listed)
    for item in found:
        if not item.is_file():
            raise InputError(f"{path}: [detect] {name}: no file {item}")
    return found


@dataclass(frozen=True)
class AnalyticsListing:
    """The analytics as ``mailhunt analytics`` / ``rules list`` show them: each parameter with
    its default and the value in effect from the configuration file."""

    analytics: list[Analytic]
    config: DetectConfig = field(default_factory=DetectConfig)

    def in_effect(self, analytic: Analytic, parameter: Parameter) -> ParameterValue:
        """The value `detect` uses without --param: the file's, else the default."""
        return self.config.analytics.get(analytic.id, {}).get(parameter.name, parameter.default)

    def set_by(self, analytic: Analytic, parameter: Parameter) -> str:
        """Where that value comes from: 'default' or the configuration file's name."""
        configured = parameter.name in self.config.analytics.get(analytic.id, {})
        return self.config.path.name if configured and self.config.path else "default"
