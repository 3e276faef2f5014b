"""PowerShell commands built from values an attacker may have chosen (a rule name, a UPN).

A value goes into a command only as a single-quoted string literal, where PowerShell expands
nothing (no ``$``, no sub-expression, no backtick escape) and the only special characters are
the quotes themselves. PowerShell takes four characters besides ``'`` as a single quote
(U+2018, U+2019, U+201A, U+201B: a word processor's "smart quotes"), and a quote is written
inside a literal by doubling it, so each of the five is doubled (about_Quoting_Rules,
"Including quote characters in a string"; the tokenizer's ``SpecialChars.IsSingleQuote``).

A value that cannot be shown safely in a command someone copies into a console is refused:
empty, holding something a viewer would turn into a link (``://``, ``www.``, ``mailto:``: a
notice has no links), or holding a line break or any control, format (bidi, zero-width) or
other unsafe character (``report.safe.unsafe``): a pasted newline would run what follows it,
and a bidi override makes the command read differently from what runs. Such a value is shown
as data in the notice and its command omitted (:class:`Command` with ``text`` None).

A value that must be of a known shape (an application id, an address, a permission name) is
checked against that shape instead (:func:`guid`, :func:`address`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from mailhunt.report.safe import unsafe

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# A scheme with "//" or a known link scheme, or a "www." host: what viewers autolink.
_LINK = re.compile(r"(?i)(://|\b(?:mailto|javascript|data|file|tel|sms):|\bwww\.)")


class Unquotable(ValueError):
    """A value that cannot be written safely into a command."""


def quotable(value: str | None) -> bool:
    """Whether ``value`` can be written as a single-quoted PowerShell literal safely (and
    holds nothing a reader could take for a link: a notice has none)."""
    if not value or linkish(value):
        return False
    return not any(unsafe(c) or not c.isprintable() for c in value)


def linkish(value: str) -> bool:
    """Whether text holds something a mail client or Markdown viewer may turn into a link."""
    return _LINK.search(value) is not None


def quote(value: str | None) -> str:
    """``value`` as a single-quoted PowerShell string literal; Unquotable when it cannot be."""
    if value is None or not quotable(value):
        raise Unquotable(repr(value))
    return "'" + "".join(c + c if c in SINGLE_QUOTES else c for c in value) + "'"


def guid(value: str | None) -> str | None:
    """The value when it is a GUID (an application or object id), else None."""
    return value if value is not None and _GUID.match(value) else None


def address(value: str | None) -> str | None:
    """The value as a normalised IP address, else None."""
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


@dataclass(frozen=True)
class Command:
    """One command of a step; ``text`` None when a value it needs could not be quoted (the
    step then shows the values as data and asks for the command to be written by hand)."""

    text: str | None
    values: tuple[str, ...] = ()  # the evidence values the command acts on, shown as data


def command(template: str, **values: str | None) -> Command:
    """``template`` (``str.format`` fields) filled with each value quoted; a Command without
    text when one of them cannot be quoted."""
    shown = tuple(v or "" for v in values.values())
    try:
        quoted = {name: quote(value) for name, value in values.items()}
    except Unquotable:
        return Command(None, shown)
    return Command(template.format(**quoted), shown)
