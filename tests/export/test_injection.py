"""The CSV-injection corpus through every CSV output of ``mailhunt export``: each hostile
string in every attacker-controlled field of the world, and no cell (nor any part of one after
a separator) a spreadsheet would run, no control or bidi character left raw. The checks are
``tests/injection_world.py``'s, written independently of ``report.safe``; look-alikes
(full-width and small equals, plus, at: U+FF1D, U+FE66, U+FF0B, U+FF20) are added: a
spreadsheet does not run them, and they must come out unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mailhunt.export import EXPORTERS, SUBJECTS, export_files
from mailhunt.store.db import Store
from tests.export.world import build
from tests.injection_world import csv_effects, load_corpus, storable

LOOK_ALIKES = {
    "fullwidth_equals": "\uff1dcmd|' /C calc'!A0",
    "small_equals": '\ufe66HYPERLINK("http://evil.example")',
    "fullwidth_plus": "\uff0b1+1",
    "fullwidth_at": "\uff20SUM(A1)",
    "after_semicolon_fullwidth": "a;\uff1d1+1",
}
# a string DuckDB cannot hold (a lone surrogate) never reaches a store: ingest refuses it
CORPUS = {k: v for k, v in {**load_corpus("terminal_csv"), **LOOK_ALIKES}.items() if storable(v)}
CSV_EXPORTS = [
    (exporter.name, subject)
    for exporter in EXPORTERS.values()
    for subject in SUBJECTS
    if exporter.supports(subject) and exporter.name == "csv"
]


@pytest.fixture(scope="module")
def hostile_world() -> Iterator[Callable[[str], Store]]:
    """The world holding one corpus string, built once for every CSV subject (exports only read
    the store; the tests run string by string, so one store is kept at a time)."""
    held: dict[str, Store] = {}

    def world(key: str) -> Store:
        if key not in held:
            for store in held.values():
                store.close()
            held.clear()
            held[key] = Store.open(None)
            build(held[key], hostile=CORPUS[key])
        return held[key]

    yield world
    for store in held.values():
        store.close()


@pytest.mark.parametrize(("name", "subject"), CSV_EXPORTS)
@pytest.mark.parametrize("key", sorted(CORPUS))
def test_no_cell_left_live(
    hostile_world: Callable[[str], Store], name: str, subject: str, key: str
) -> None:
    count, files = export_files(hostile_world(key), name, subject)
    assert count
    for file in files:
        assert csv_effects(file.text) == [], (key, file.name)
        if key in LOOK_ALIKES:
            assert CORPUS[key].split(";")[-1][:4] in file.text  # kept as written
