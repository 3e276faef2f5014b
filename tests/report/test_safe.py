"""Attacker-controlled text made safe: spreadsheet formulas and terminal control characters."""

from __future__ import annotations

import pytest

from mailhunt.report.safe import csv_cell, terminal_text


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\n=1"],
)
def test_formula_cells_get_a_leading_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["alice@contoso.com", "a=b", " =1", "", 42, None, 1.5])
def test_other_cells_are_unchanged(value: object) -> None:
    assert csv_cell(value) == value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("bell\x07", "bell\\x07"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("csi\x9b31m", "csi\\x9b31m"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("two\nlines\r", "two\\x0alines\\x0d"),
    ],
)
def test_terminal_text_shows_control_characters(text: str, shown: str) -> None:
    assert terminal_text(text) == shown


def test_terminal_text_keeps_printable_unicode_and_converts_values() -> None:
    assert terminal_text("Boîte de réception — 受信トレイ") == "Boîte de réception — 受信トレイ"
    assert terminal_text(None) == ""
    assert terminal_text(42) == "42"
    assert terminal_text("[bold red]x[/]") == "[bold red]x[/]"
