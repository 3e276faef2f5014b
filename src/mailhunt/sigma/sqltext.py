"""SQL text for Sigma values: DuckDB string literals and LIKE patterns, written by one helper.

DuckDB string literals have no backslash escapes: inside ``'...'`` only a quote is special, and
it is doubled (``''``). A backslash is an ordinary character, so a Windows path or a regular
expression is written as it is. NUL, which a ``wide``/``utf16`` value holds between its
characters, is written as ``chr(0)`` between quoted pieces, so no literal carries a control
byte to the parser. Text that is not valid Unicode (a lone surrogate from a ``\\ud800`` escape
in YAML) cannot be sent to DuckDB at all: :class:`UnsafeValue` says so, and the rule is
unsupported rather than built from such text.

Reference: https://duckdb.org/docs/stable/sql/data_types/literal_types#string-literals,
https://duckdb.org/docs/stable/sql/functions/pattern_matching#like
"""

from __future__ import annotations

from collections.abc import Iterable

from sigma.types import Placeholder, SigmaString, SpecialChars

# The escape character of every LIKE pattern written here (ESCAPE '\').
LIKE_ESCAPE = "\\"
_LIKE_SPECIAL = ("\\", "%", "_")


class UnsafeValue(ValueError):
    """A value that cannot be written into SQL safely; the message says why."""


def sql_string(text: str) -> str:
    """A DuckDB string literal holding exactly ``text``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeValue(f"value {text!r} is not valid Unicode text") from None
    pieces = ["'" + piece.replace("'", "''") + "'" for piece in text.split("\x00")]
    if len(pieces) == 1:
        return pieces[0]
    return "(" + " || chr(0) || ".join(pieces) + ")"


def plain_parts(value: SigmaString) -> list[str | SpecialChars]:
    """The string's parts, plain text and wildcards; a placeholder (``%name%`` with the
    ``expand`` modifier, which no pipeline here fills) is unsupported."""
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise UnsafeValue(f"placeholder %{part.name}% is not expanded by any pipeline")
        parts.append(part)
    return parts


def joined(parts: Iterable[str | SpecialChars]) -> str:
    """Plain parts joined (the caller knows there is no wildcard among them)."""
    return "".join(part for part in parts if isinstance(part, str))


def _like_escaped(text: str) -> str:
    for char in _LIKE_SPECIAL:  # the escape character first
        text = text.replace(char, LIKE_ESCAPE + char)
    return text


def like_pattern(parts: Iterable[str | SpecialChars], *, fold: bool = False) -> str:
    """A LIKE pattern literal with its ESCAPE clause: ``%``, ``_`` and ``\\`` of the text
    escaped, Sigma's ``*`` and ``?`` as ``%`` and ``_``; ``fold``: lower-cased by DuckDB's
    ``lower`` (which leaves ``%``, ``_`` and ``\\`` as they are)."""
    out = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("%")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("_")
        elif isinstance(part, str):
            out.append(_like_escaped(part))
    literal = sql_string("".join(out))
    return f"{f'lower({literal})' if fold else literal} ESCAPE {sql_string(LIKE_ESCAPE)}"
