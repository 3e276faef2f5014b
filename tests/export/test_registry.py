"""The exporter registry: every format registered, documented, exporting alerts; unknown
formats and subjects are one clear InputError."""

from __future__ import annotations

import sys

import pytest

from mailhunt.errors import InputError
from mailhunt.export import EXPORTERS, SUBJECTS, export_files
from mailhunt.store.db import Store


def test_formats_and_subjects() -> None:
    assert set(EXPORTERS) == {"jsonl", "csv", "ocsf", "stix"}
    assert "alerts" in SUBJECTS
    for exporter in EXPORTERS.values():
        assert exporter.supports("alerts")
        assert exporter.help
        module = sys.modules[f"mailhunt.export.to_{exporter.name}"]
        assert module.__doc__
        assert len(module.__doc__) > 80


@pytest.mark.parametrize("name", sorted(EXPORTERS))
def test_empty_store_exports_something_valid(store: Store, name: str) -> None:
    count, files = export_files(store, name, "alerts")
    assert count == 0
    assert len(files) == 1


def test_unknown_format(world: Store) -> None:
    with pytest.raises(InputError, match="no export format 'xml'"):
        export_files(world, "xml", "alerts")


def test_unsupported_subject(world: Store) -> None:
    with pytest.raises(InputError, match="jsonl exports alerts, incidents, not 'nothing'"):
        export_files(world, "jsonl", "nothing")
