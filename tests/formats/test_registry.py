"""Registry-wide checks: every format and analytic is documented, sampled and well-formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES, Analytic
from mailhunt.formats import FORMATS
from mailhunt.formats.sniffing import sniff_file
from mailhunt.model.schema import TABLES_BY_NAME
from tests.helpers import FIXTURES, sniffed_as

TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")


def fixture_formats() -> dict[str, list[str]]:
    """Format name -> committed fixture files that sniff as it."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in FIXTURES.rglob("*") if p.is_file()):
        sniffed, _ = sniff_file(path)
        if sniffed:
            found.setdefault(sniffed.format.name, []).append(path.name)
    return found


def test_registries_are_not_empty() -> None:
    assert set(FORMATS) >= {"m365-ual-json", "entra-signins-graph"}
    assert "mailbox-first-seen-app" in ANALYTICS


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_is_documented_and_targets_a_source_table(name: str) -> None:
    fmt = FORMATS[name]
    assert fmt.name == name
    assert len(fmt.description) > 20
    assert fmt.table in ("events", "signins")
    columns = set(TABLES_BY_NAME[fmt.table].column_names)
    assert set(fmt.select) <= columns, set(fmt.select) - columns
    assert set(fmt.required) <= set(fmt.select)
    assert fmt.id_field.split(".")[0] in fmt.columns
    assert fmt.time_field.split(".")[0] in fmt.columns


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_has_a_committed_fixture(name: str) -> None:
    assert fixture_formats().get(name), f"no file under {FIXTURES} sniffs as {name}"


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (
            {
                "Id": "1",
                "CreationTime": "2024-01-01T00:00:00",
                "Operation": "Send",
                "Workload": "x",
            },
            "m365-ual-json",
        ),
        (
            {"id": "1", "createdDateTime": "2024-01-01T00:00:00Z", "appId": "a"},
            "entra-signins-graph",
        ),
        ({"hello": "world"}, None),
    ],
)
def test_each_record_shape_is_claimed_by_one_format(
    tmp_path: Path, record: dict[str, str], name: str | None
) -> None:
    assert sniffed_as(tmp_path, record) == name


def test_fixtures_sniff_as_exactly_one_format_each() -> None:
    found = fixture_formats()
    names = [n for files in found.values() for n in files]
    assert len(names) == len(set(names))
    assert sum(len(files) for files in found.values()) >= 6


@pytest.mark.parametrize("analytic_id", sorted(ANALYTICS))
def test_analytic_is_documented_and_well_formed(analytic_id: str) -> None:
    analytic = ANALYTICS[analytic_id]
    assert analytic.id == analytic_id
    assert analytic.title
    assert analytic.severity in SEVERITIES
    assert TECHNIQUE.fullmatch(analytic.technique), analytic.technique
    doc = analytic.doc.lower()
    assert len(doc) > 200
    for section in ("what it detects", "why", "false positives", "references"):
        assert section in doc, f"{analytic_id} docstring lacks {section!r}"
    assert "https://" in doc
    assert set(analytic.tables) <= set(TABLES_BY_NAME)


def test_analytic_refuses_an_unknown_severity() -> None:
    with pytest.raises(ValueError, match="unknown severity"):
        Analytic(
            id="x",
            title="x",
            severity="severe",
            technique="T1114",
            doc="x",
            sql="SELECT 1",
            tables=("events",),
        )
