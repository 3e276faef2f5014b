"""``mailhunt export``: alerts (and incidents) as files for other tools: JSON Lines, CSV, OCSF
Detection Findings, a STIX 2.1 bundle. One module per format exposing ``EXPORTER`` (see
:mod:`mailhunt.registry`), each listing the subjects it supports (:mod:`.base`); the subjects
and their readers are declared in :mod:`.subjects`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailhunt.errors import InputError
from mailhunt.export._files import write_export
from mailhunt.export.base import Exporter, ExportFile
from mailhunt.export.subjects import SUBJECTS
from mailhunt.registry import discover
from mailhunt.store.db import Store

EXPORTERS: dict[str, Exporter] = discover(
    __name__,
    __path__,
    "EXPORTER",
    Exporter,
    lambda e: e.name,
    not_extensions=frozenset({"base", "data", "subjects"}),
)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    format: str
    subject: str
    items: int  # alerts or incidents exported
    paths: list[Path]


def export_files(store: Store, format_name: str, subject: str) -> tuple[int, list[ExportFile]]:
    """The items of ``subject`` read from the store, as the files of ``format_name``
    (InputError for a format or subject unknown, or a subject the format does not support)."""
    exporter = EXPORTERS.get(format_name)
    if exporter is None:
        raise InputError(f"no export format {format_name!r} (one of {', '.join(EXPORTERS)})")
    export = exporter.export_of(subject)
    if export is None:
        supported = ", ".join(e.subject.name for e in exporter.exports)
        raise InputError(f"{format_name} exports {supported}, not {subject!r}")
    items = export.subject.read(store)
    return len(items), export.write(items)


def run_export(store: Store, format_name: str, subject: str, out: Path) -> ExportResult:
    """Read, render and write atomically to ``out`` (a file; a directory for several)."""
    count, files = export_files(store, format_name, subject)
    return ExportResult(format_name, subject, count, write_export(out, files))


__all__ = ["EXPORTERS", "SUBJECTS", "ExportResult", "export_files", "run_export"]
