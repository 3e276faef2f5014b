"""Attacker-controlled text made safe: spreadsheet formulas, terminal control characters, JSON."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata

import pytest

from mailhunt.report.safe import (
    TerminalLogFormatter,
    csv_cell,
    json_text,
    terminal,
    terminal_text,
    unsafe,
)


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"],
)
def test_formula_cells_get_a_leading_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("\tx", "\\x09x"),
        ("\rx", "\\x0dx"),
        ("\n=1", "\\x0a=1"),
        ("a\x1b[2J\x9b\u202e", "a\\x1b[2J\\x9b\\u202e"),
    ],
)
def test_control_characters_in_cells_are_escaped(value: str, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (["a", '=HYPERLINK("http://x")'], 'a;\'=HYPERLINK("http://x")'),
        (["=1", "+2", "-3", "@4", "ok"], "'=1;'+2;'-3;'@4;ok"),
        (("bob@contoso.com", "@x"), "bob@contoso.com;'@x"),
        (["a", '"=1"'], 'a;\'"=1"'),
        ('a;=HYPERLINK("http://x")', 'a;\'=HYPERLINK("http://x")'),
        ([], ""),
        (["\t=1"], "\\x09=1"),
    ],
)
def test_every_element_of_a_list_cell_is_guarded(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    "value", ["alice@contoso.com", "a=b", " =1", "", 42, -5, None, 1.5, "a; -1", "x;y"]
)
def test_other_cells_are_unchanged(value: object) -> None:
    assert csv_cell(value) == value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("bell\x07", "bell\\x07"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("\u2066iso\u2069", "\\u2066iso\\u2069"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("csi\x9b31m", "csi\\x9b31m"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("two\nlines\r", "two\\x0alines\\x0d"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("bad\udc80byte", "bad\\udc80byte"),
        ("private\ue000", "private\\ue000"),
    ],
)
def test_terminal_text_shows_control_characters(text: str, shown: str) -> None:
    assert terminal_text(text) == shown


def test_terminal_text_keeps_printable_unicode_and_converts_values() -> None:
    kept = "Boîte de réception — 受信トレイ\u00a0😀 e\u0301"
    assert terminal_text(kept) == kept
    assert terminal_text(None) == ""
    assert terminal_text(42) == "42"
    assert terminal_text("[bold red]x[/]") == "[bold red]x[/]"


def test_every_control_format_and_separator_character_is_escaped() -> None:
    obeyed = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        escaped = unicodedata.category(char) in obeyed
        assert unsafe(char) is escaped
        if escaped:
            assert terminal_text(char).startswith("\\")
    sample = "".join(chr(c) for c in range(0x10000) if unsafe(chr(c)))
    assert not [c for c in terminal_text(sample) if unsafe(c)]


def test_terminal_is_text_never_markup() -> None:
    text = terminal("[bold red]x[/] [link=http://evil.example]y[/link]\x1b")
    assert text.plain == "[bold red]x[/] [link=http://evil.example]y[/link]\\x1b"
    assert text.spans == []


def test_json_text_escapes_unsafe_characters_losslessly() -> None:
    value = "a\x7f\x9b\u202e\u2028\U000e0041\ue000 é 😀"
    encoded = json_text(json.dumps(value, ensure_ascii=False))
    assert encoded == '"a\\u007f\\u009b\\u202e\\u2028\\udb40\\udc41\\ue000 é 😀"'
    assert json.loads(encoded) == value


def test_log_formatter_escapes_message_and_arguments() -> None:
    formatter = TerminalLogFormatter("%(levelname)s:%(message)s")
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "%s: %s", ("f\x1b]0;t\x07\n.json", "e\u202e"), None
    )
    assert formatter.format(record) == "WARNING:f\\x1b]0;t\\x07\\x0a.json: e\\u202e"
