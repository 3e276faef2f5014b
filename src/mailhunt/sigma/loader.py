"""Sigma rule files loaded with pySigma: a file, or every ``*.yml``/``*.yaml`` under a folder,
each holding one rule or several YAML documents (a collection, with ``action: global`` /
``reset`` / ``repeat``, or correlation rules).

Problems are data: a file that is not UTF-8 or not YAML, or a rule pySigma refuses, becomes a
:class:`Loaded` with its ``error`` (file, line where YAML or the document tells it, rule id and
title where the rule got that far) and the other rules of the file and of the folder load as
before. Lines are those of the YAML document a rule starts at (pySigma keeps none).

References: https://sigmahq.io/docs/basics/rules.html,
https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-rules-specification.md
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRegularExpressionError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

RULE_SUFFIXES = (".yml", ".yaml")
MAX_RULE_FILE = 4 * 1024 * 1024  # bytes; a rule file is a few KiB


@dataclass(frozen=True)
class Loaded:
    """One rule as loaded (``rule``), or why it could not be (``error``)."""

    path: str
    line: int | None
    rule_id: str
    title: str
    rule: SigmaRule | SigmaCorrelationRule | None = None
    error: str | None = None
    # the error is what the backend cannot take rather than a broken rule (a regular
    # expression RE2, DuckDB's engine, refuses: lookarounds, backreferences)
    unsupported: bool = False


def rule_files(path: Path) -> list[Path]:
    """The rule files at ``path``: the file itself, or a folder's, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
    return [path]


def load_rules(path: Path) -> list[Loaded]:
    """Every rule under ``path`` (a file or a folder), in file order."""
    return [loaded for file in rule_files(path) for loaded in load_file(file)]


# libyaml's safe loader where PyYAML was built with it: the pure-Python one spent ~80% of
# converting 500 rules (parsing each file twice: the documents, then their lines).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parsed(text: str) -> tuple[list[Any], list[int]]:
    """The YAML documents of ``text`` and the line each starts on. A text libyaml refuses is
    parsed again by PyYAML's own loader, whose verdict (and words) stand: the two differ on a
    few texts (escapes of lone surrogates), and the reasons `rules check` prints are PyYAML's."""
    for loader in dict.fromkeys((_FAST_LOADER, yaml.SafeLoader)):
        try:
            documents = list(yaml.load_all(text, Loader=loader))
            lines = [node.start_mark.line + 1 for node in yaml.compose_all(text, Loader=loader)]
        except yaml.YAMLError:
            if loader is yaml.SafeLoader:
                raise
            continue
        return documents, lines
    raise AssertionError("unreachable")  # pragma: no cover


def load_file(path: Path) -> list[Loaded]:
    """The rules of one file; a file that cannot be read is one Loaded with its error."""
    shown = str(path)
    try:
        data = path.read_bytes()[: MAX_RULE_FILE + 1]
    except OSError as error:
        return [Loaded(shown, None, "", "", error=f"cannot read: {error.strerror}")]
    if len(data) > MAX_RULE_FILE:
        return [Loaded(shown, None, "", "", error=f"larger than {MAX_RULE_FILE} bytes")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [Loaded(shown, None, "", "", error=f"not UTF-8 (byte {error.start})")]
    try:
        documents, lines = _parsed(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [Loaded(shown, line, "", "", error=f"invalid YAML: {reason}")]
    return list(_rules(shown, documents, lines))


def _rule_lines(documents: list[Any], lines: list[int]) -> list[int | None]:
    """The line of each document that becomes a rule (those without an ``action``)."""
    return [
        line
        for document, line in zip(documents, lines, strict=False)
        if isinstance(document, dict) and document.get("action") in (None, "repeat")
    ]


def _rules(path: str, documents: list[Any], lines: list[int]) -> Iterator[Loaded]:
    if not all(d is None or isinstance(d, dict) for d in documents):
        yield Loaded(path, None, "", "", error="a YAML document is not a mapping")
        return
    try:
        collection = SigmaCollection.from_dicts(
            [d for d in documents if d is not None],
            collect_errors=True,
            source=SigmaRuleLocation(Path(path)),
            # references are resolved over every file loaded (mailhunt.sigma.correlation), so a
            # correlation may name a rule of another file; and the rules keep document order
            resolve_references=False,
        )
    except SigmaError as error:  # what collect_errors still raises
        yield Loaded(path, None, "", "", error=_message(error))
        return
    rule_lines = _rule_lines(documents, lines)
    rules = [r for r in collection.rules if not isinstance(r, SigmaFilter)]
    for n, rule in enumerate(rules):
        line = rule_lines[n] if n < len(rule_lines) else None
        rule_id = str(rule.id) if rule.id else ""
        errors = list(rule.errors)
        yield Loaded(
            path,
            line,
            rule_id,
            rule.title or "",
            rule=None if errors else rule,
            error=_message(errors[0]) if errors else None,
            unsupported=bool(errors) and isinstance(errors[0], SigmaRegularExpressionError),
        )
    attached = {id(e) for r in rules for e in r.errors}
    for problem in collection.errors:
        if id(problem) not in attached:
            yield Loaded(path, None, "", "", error=_message(problem))


def _message(error: SigmaError) -> str:
    """The error's own words, without pySigma's appended location (we report the path)."""
    text = error.args[0] if error.args else type(error).__name__
    return str(text).splitlines()[0] if str(text) else type(error).__name__
