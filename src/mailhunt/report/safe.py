"""Text from logs made safe for where it is shown: one sanitiser per medium.

Which characters are unsafe is decided once (:func:`unsafe`): control characters (C0, DEL, C1:
ESC starts ANSI CSI/OSC sequences, 0x9b is a one-byte CSI, BEL ends an OSC, NUL), format
characters (bidi overrides and isolates such as U+202E and U+2066, zero-width characters, tag
characters), line and paragraph separators, surrogates (a non-UTF-8 file name) and private use.

- **Terminal** (:func:`terminal_text`, :func:`terminal`, :func:`terminal_lines`,
  :class:`TerminalLogFormatter`): each
  unsafe character is shown as ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN`` instead of being obeyed;
  a newline in a value is shown, so a value never forges a line. The text is never read as Rich
  markup: :func:`terminal` returns a Rich ``Text`` (which does not parse markup); a plain string
  from :func:`terminal_text` goes only where no markup is parsed (a log stream, a ``Text``, a
  ``TextColumn(markup=False)``). The escape is for reading, not reversible (a backslash in the
  data is not doubled): the JSON Lines output is the exact one.
- **CSV** (:func:`csv_cell`): unsafe characters escaped as for the terminal, then every cell a
  spreadsheet could run as a formula (OWASP CSV injection: a leading ``= + - @``, tab, CR, LF)
  gets a leading ``'``. Not only the cell's start: a list cell is its elements joined with ``;``
  and a spreadsheet whose locale separates fields (or formula arguments) with ``;`` splits the cell
  there, so every part after a ``;`` is guarded too (also against a leading ``"``, which would
  open a quoted field mid-row); so is every part after a ``,`` that starts a formula, quoted or
  not (OWASP: a separator in the data can start a cell for a reader that ignores the quoting).
- **JSON Lines** (:func:`json_text`): lossless. JSON itself only requires C0 to be escaped, and
  orjson writes DEL, C1, bidi and the other unsafe characters raw; here each is written as its
  JSON escape (``\\u009b``, ``\\u202e``, a surrogate pair above U+FFFF), so a line shown with
  ``cat`` or ``less`` obeys nothing and any JSON parser reads back exactly the same strings.

See https://owasp.org/www-community/attacks/CSV_Injection and
https://www.unicode.org/reports/tr9/ (bidi controls), CVE-2021-42574 ("Trojan Source").
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from types import TracebackType

from rich.text import Text

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e]+")  # runs that may hold an unsafe character
_FORMULA_START = frozenset("=+-@\t\r\n")
# a part after ";" or "," a spreadsheet could run (after "," only through an opening quote:
# a "," inside a quoted cell ends no cell, and JSON text in a cell is full of ',"')
_SEGMENT = re.compile(r";(?=[=+\-@\t\r\n\"])|,(?=\"*[=+\-@\t\r\n])")
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def unsafe(char: str) -> bool:
    """Whether a character is obeyed (or hidden) by a terminal rather than shown."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escape_runs(text: str, escape: Callable[[int], str]) -> str:
    """``text`` with each unsafe character replaced by ``escape(code point)`` (fast when clean)."""
    if text.isascii() and text.isprintable():  # the common case, in C: nothing to replace
        return text

    def run(match: re.Match[str]) -> str:
        chars = match.group()
        if chars.isprintable():  # non-ASCII letters, marks, symbols: kept as they are
            return chars
        return "".join(escape(ord(c)) if unsafe(c) else c for c in chars)

    return _NOT_PLAIN_ASCII.sub(run, text)


def _shown(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escape(code: int) -> str:
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


# -- terminal --------------------------------------------------------------------------------


def terminal_text(value: object) -> str:
    """Text with unsafe characters (escape sequences, bidi overrides) shown, not obeyed.

    A plain string: show it only where no Rich markup is parsed (see :func:`terminal`)."""
    text = "" if value is None else str(value)
    return _escape_runs(text, _shown)


def terminal(value: object) -> Text:
    """Data for a Rich console: unsafe characters escaped, and never read as markup."""
    return Text(terminal_text(value))


class TerminalLogFormatter(logging.Formatter):
    """Log lines safe for a terminal: the message and its arguments (file names, first lines of
    errors) escaped as :func:`terminal_text`, a newline in them included (no forged lines);
    a traceback keeps its lines, each escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_text(super().formatMessage(record))

    def formatException(self, ei: _ExcInfo) -> str:
        return terminal_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return terminal_lines(super().formatStack(stack_info))


def terminal_lines(text: str) -> str:
    """Text of several lines (a traceback, a record's bytes) for a terminal: its newlines kept,
    each line escaped as :func:`terminal_text`."""
    return "\n".join(terminal_text(line) for line in text.split("\n"))


# -- CSV -------------------------------------------------------------------------------------


def csv_cell(value: object) -> object:
    """A CSV cell no spreadsheet runs: unsafe characters escaped, a list joined with ``;``, and
    the cell's start and every part after a ``;`` guarded with a leading ``'``. Numbers and
    ``None`` are returned as they are."""
    if isinstance(value, list | tuple):
        value = ";".join("" if v is None else str(v) for v in value)
    if not isinstance(value, str):
        return value
    text = _escape_runs(value, _shown)
    text = _SEGMENT.sub(r"\g<0>'", text)
    return "'" + text if text[:1] in _FORMULA_START else text


# -- JSON ------------------------------------------------------------------------------------


def json_text(encoded: str) -> str:
    """JSON text with every unsafe character written as its JSON escape (lossless: they occur
    only inside strings, where ``\\uNNNN`` means the same character)."""
    return _escape_runs(encoded, _json_escape)
