"""A small Sigma matcher in plain Python: what a rule's detection means for one record, written
from the specification and nothing of the DuckDB backend, to check the backend against.

A record is a mapping of Sigma field names (any letter case) to values: text, numbers,
booleans, or None for a field the record does not have. Semantics, as decided for mailhunt
(``docs/sigma.md``, "Checked against the reference"):

- Strings compare without regard to case: both sides lower-cased one character at a time
  with Unicode's simple mapping (capital dotted I is ``i``; capital sigma is always the small
  sigma, never the final one; no case folding, so ``ß`` is not ``ss``), which is DuckDB's
  ``lower``. ``|cased``
  compares as is.
- A value's ``*`` is any text (newlines too), ``?`` one character; ``\\*``, ``\\?`` and
  ``\\\\`` are a literal ``*``, ``?`` and backslash; any other backslash is itself.
- ``contains``/``startswith``/``endswith`` add ``*`` around the value; ``all`` needs every value
  of the list, otherwise one is enough. Several fields of a selection must all match; a list of
  selections needs one.
- ``re``: a search with RE2's meaning (``$`` is the end of the text, not before a final
  newline); flags ``i``, ``m``, ``s``; case-sensitive without ``i``. Patterns given here use no
  class shorthands (``\\d``, ``\\w`` are ASCII in RE2, Unicode in Python).
- ``cidr``: the value is an IP address (as ``ipaddress`` reads it) inside the network.
- ``gt``/``gte``/``lt``/``lte``: numbers; text that is a decimal number (ASCII digits, sign,
  point, exponent, nothing around them) compares as that number, other text never matches.
- ``exists: true`` holds when the field has a value, ``false`` when it has none; ``null`` when
  it has none.
- A condition on a field the record lacks is false, and ``not`` makes it true.
- Conditions: ``and``, ``or``, ``not``, parentheses, ``1 of X``/``all of X`` (``X`` a name, a
  ``prefix*`` or ``them``).

Anything else (keywords, other modifiers) raises :class:`NotImplementedError`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

Record = Mapping[str, Any]
Test = Callable[[Record], bool]

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_STRING_MODIFIERS = {"contains", "startswith", "endswith", "cased", "all"}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_RE_FLAGS = {"i": "i", "ignorecase": "i", "m": "m", "multiline": "m", "s": "s", "dotall": "s"}


def fold(text: str) -> str:
    """Lower case, one character at a time, Unicode's simple mapping (DuckDB's ``lower``)."""
    out = []
    for char in text:
        lowered = char.lower()
        out.append(lowered if len(lowered) == 1 else "i" if char == "\u0130" else char)
    return "".join(out)


def _text(value: Any) -> str:
    """A value as the text a string comparison sees (numbers as written, booleans as words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lookup(record: Record, name: str) -> Any:
    folded = name.lower()
    for key, value in record.items():
        if key.lower() == folded:
            return value
    return None


# -- values ---------------------------------------------------------------------------------


def wildcard_regex(value: str) -> str:
    """The Python regex (full match) of a Sigma string with its wildcards and escapes."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return "".join(out)


def _string_test(value: str, modifiers: Sequence[str]) -> Callable[[Any], bool]:
    pattern = value
    if "contains" in modifiers or "startswith" in modifiers:
        pattern = pattern + "*"
    if "contains" in modifiers or "endswith" in modifiers:
        pattern = "*" + pattern
    cased = "cased" in modifiers
    regex = re.compile(wildcard_regex(pattern if cased else fold(pattern)), re.DOTALL)

    def test(subject: Any) -> bool:
        if subject is None:
            return False
        text = _text(subject)
        return regex.fullmatch(text if cased else fold(text)) is not None

    return test


def re2_pattern(pattern: str, flags: str) -> str:
    """A Python pattern meaning what RE2 reads in ``pattern``: without ``m``, a ``$`` outside a
    class is ``\\Z`` (Python's ``$`` also matches before a final newline)."""
    if "m" in flags:
        return pattern
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return "".join(out)


def _re_test(pattern: str, modifiers: Sequence[str]) -> Callable[[Any], bool]:
    flags = "".join(sorted({_RE_FLAGS[m] for m in modifiers if m in _RE_FLAGS}))
    regex = re.compile((f"(?{flags})" if flags else "") + re2_pattern(pattern, flags))

    def test(subject: Any) -> bool:
        return subject is not None and regex.search(_text(subject)) is not None

    return test


def _cidr_test(network: str) -> Callable[[Any], bool]:
    net = ipaddress.ip_network(network, strict=False)

    def test(subject: Any) -> bool:
        try:
            address = ipaddress.ip_address(_text(subject)) if subject is not None else None
        except ValueError:
            return False
        return address is not None and address.version == net.version and address in net

    return test


def number_of(value: Any) -> float | None:
    """The number a value compares as, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = _text(value)
    return float(text) if _NUMBER.fullmatch(text) else None


def _compare_test(op: str, bound: float) -> Callable[[Any], bool]:
    def test(subject: Any) -> bool:
        number = number_of(subject)
        return number is not None and _COMPARE[op](number, float(bound))

    return test


def _number_test(bound: int | float) -> Callable[[Any], bool]:
    def test(subject: Any) -> bool:
        if subject is None or isinstance(subject, bool):
            return False
        if isinstance(subject, int | float):
            return float(subject) == float(bound)
        return fold(_text(subject)) == str(bound).lower()

    return test


def _value_test(value: Any, modifiers: Sequence[str]) -> Callable[[Any], bool]:
    if "re" in modifiers:
        return _re_test(str(value), modifiers)
    if "cidr" in modifiers:
        return _cidr_test(str(value))
    compare = [m for m in modifiers if m in _COMPARE]
    if compare:
        return _compare_test(compare[0], float(value))
    unknown = set(modifiers) - _STRING_MODIFIERS
    if unknown:
        raise NotImplementedError(f"modifiers {sorted(unknown)}")
    if value is None:
        return lambda subject: subject is None
    if isinstance(value, bool):
        raise NotImplementedError("boolean values")
    if isinstance(value, int | float):
        return _number_test(value)
    return _string_test(str(value), modifiers)


def _item_test(key: str, value: Any) -> Test:
    name, *modifiers = key.split("|")
    if "exists" in modifiers:
        wanted = bool(value)
        return lambda record: (_lookup(record, name) is not None) == wanted
    values = value if isinstance(value, list) else [value]
    tests = [_value_test(v, modifiers) for v in values]
    every = "all" in modifiers and len(values) > 1

    def test(record: Record) -> bool:
        subject = _lookup(record, name)
        results = (t(subject) for t in tests)
        return all(results) if every else any(results)

    return test


def _selection_test(selection: Any) -> Test:
    if isinstance(selection, dict):
        items = [_item_test(k, v) for k, v in selection.items()]
        return lambda record: all(t(record) for t in items)
    if isinstance(selection, list) and all(isinstance(s, dict) for s in selection):
        maps = [_selection_test(s) for s in selection]
        return lambda record: any(t(record) for t in maps)
    raise NotImplementedError("keyword selections")


# -- conditions -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def _tokens(condition: str) -> list[str]:
    return [m.group(1) for m in _TOKEN.finditer(condition) if m.group(1)]


class _Parser:
    """Recursive descent over ``or`` < ``and`` < ``not`` < atoms."""

    def __init__(self, tokens: list[str], selections: Mapping[str, Test]) -> None:
        self.tokens = tokens
        self.at = 0
        self.selections = selections

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> Test:
        test = self.disjunction()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return test

    def disjunction(self) -> Test:
        parts = [self.conjunction()]
        while (self.peek() or "").lower() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _any(parts)

    def conjunction(self) -> Test:
        parts = [self.negation()]
        while (self.peek() or "").lower() == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else _all(parts)

    def negation(self) -> Test:
        if (self.peek() or "").lower() == "not":
            self.take()
            inner = self.negation()
            return lambda record: not inner(record)
        return self.atom()

    def atom(self) -> Test:
        word = self.take()
        if word == "(":
            test = self.disjunction()
            if self.take() != ")":
                raise ValueError("unbalanced parentheses")
            return test
        if word.lower() in ("1", "all") and (self.peek() or "").lower() == "of":
            self.take()
            chosen = list(self._named(self.take()))
            return _all(chosen) if word.lower() == "all" else _any(chosen)
        return self.selections[word]

    def _named(self, pattern: str) -> Iterator[Test]:
        if pattern == "them":
            yield from self.selections.values()
            return
        regex = re.compile(wildcard_regex(pattern))
        found = [t for name, t in self.selections.items() if regex.fullmatch(name)]
        if not found:
            raise ValueError(f"no selection matches {pattern!r}")
        yield from found


def _any(tests: list[Test]) -> Test:
    return lambda record: any(t(record) for t in tests)


def _all(tests: list[Test]) -> Test:
    return lambda record: all(t(record) for t in tests)


def compile_detection(detection: Mapping[str, Any]) -> Test:
    """The detection (selections and ``condition``) as a test of one record."""
    selections = {
        name: _selection_test(body) for name, body in detection.items() if name != "condition"
    }
    condition = detection["condition"]
    conditions = condition if isinstance(condition, list) else [condition]
    tests = [_Parser(_tokens(c), selections).parse() for c in conditions]
    return _any(tests)


def matches(detection: Mapping[str, Any], record: Record) -> bool:
    """Does the record match the detection?"""
    return compile_detection(detection)(record)
