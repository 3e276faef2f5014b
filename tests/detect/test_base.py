"""What an analytic declares beyond its SQL: every ATT&CK technique (technique first), and the
severity logic read from its docstring."""

from __future__ import annotations

import re

import pytest

from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import Analytic, severity_logic

TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")


def analytic(technique: str, techniques: tuple[str, ...] = (), doc: str = "") -> Analytic:
    return Analytic(
        id="a",
        title="t",
        severity="low",
        technique=technique,
        doc=doc,
        sql="SELECT 1",
        tables=(),
        techniques=techniques,
    )


def test_techniques_default_to_the_technique() -> None:
    assert analytic("T1114.002").techniques == ("T1114.002",)
    assert analytic("T1114.002", ("T1114.002", "T1550.001")).techniques == (
        "T1114.002",
        "T1550.001",
    )


@pytest.mark.parametrize("techniques", [("T1550.001", "T1114.002"), ("T1114.002", "T1114.002")])
def test_technique_comes_first_and_once(techniques: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="techniques must start with technique"):
        analytic("T1114.002", techniques)


def test_every_analytic_names_attack_techniques_and_its_severity_logic() -> None:
    for found in ANALYTICS.values():
        assert found.techniques[0] == found.technique
        assert all(TECHNIQUE.fullmatch(t) for t in found.techniques), found.id
        assert "Severity:" in found.doc, found.id
        assert "\n" not in found.severity_logic
        assert found.severity_logic.endswith((".", "!", "?")), found.id


DOC = """What it detects.

Severity: high when the token is forged (e.g. no sign-in issued it); low
otherwise. More words
in a second sentence.

Known false positives: none.
"""


def test_severity_logic_is_the_first_sentence_of_the_paragraph() -> None:
    assert severity_logic(DOC) == (
        "high when the token is forged (e.g. no sign-in issued it); low otherwise."
    )
    assert severity_logic("Severity: critical") == "critical"
    assert severity_logic("No such paragraph.") == ""
    assert analytic("T1114", doc="nothing").severity_logic == "low (no Severity: paragraph)"
