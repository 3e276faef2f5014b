"""What an exporter is: a ``--format`` name and, for each subject it can export (alerts,
incidents), one function turning what was read from the store into files.

A subject is declared once (:mod:`mailhunt.export.subjects`) with the function that reads it;
an exporter declares which subjects it supports by listing one :class:`Export` per subject.
Adding a subject to a format is one more :class:`Export` in that format's module; adding a
format is one module in this package exposing ``EXPORTER``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mailhunt.store.db import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Subject(Generic[T]):
    """What is exported (``--what``): its name and how it is read from the store."""

    name: str
    read: Callable[[Store], list[T]]
    help: str


@dataclass(frozen=True)
class ExportFile:
    """One file of an export: its name (used inside an output directory) and its text."""

    name: str
    text: str


@dataclass(frozen=True)
class Export(Generic[T]):
    """One subject as one format: the items read become one or several files."""

    subject: Subject[T]
    write: Callable[[list[T]], list[ExportFile]]


@dataclass(frozen=True)
class Exporter:
    """One ``--format`` of ``mailhunt export`` and the subjects it supports."""

    name: str
    help: str  # a few words for --help
    exports: tuple[Export[Any], ...]

    def supports(self, subject: str) -> bool:
        return any(e.subject.name == subject for e in self.exports)

    def export_of(self, subject: str) -> Export[Any] | None:
        return next((e for e in self.exports if e.subject.name == subject), None)
