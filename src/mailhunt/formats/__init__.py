"""The format registry: every format mailhunt reads, by name.

A format is one module in this package exposing ``FORMAT`` (see :mod:`mailhunt.registry`);
adding a format is adding its file. Which format a file is goes by its content
(:mod:`mailhunt.formats.sniffing`): when several claim a sample, declared specificity decides.
"""

from __future__ import annotations

from mailhunt.formats.base import Format, Sample
from mailhunt.registry import discover

FORMATS: dict[str, Format] = discover(
    __name__,
    __path__,
    "FORMAT",
    Format,
    lambda f: f.name,
    not_extensions=frozenset({"base", "sniffing"}),
)


def claimants(sample: Sample) -> list[Format]:
    """The formats that claim this sample, most specific first (registry order within)."""
    found = [fmt for fmt in FORMATS.values() if fmt.reader == sample.kind and fmt.sniff(sample)]
    return sorted(found, key=lambda fmt: -fmt.specificity)


def sniff(sample: Sample) -> list[str]:
    """Names of the formats that claim this sample, most specific first."""
    return [fmt.name for fmt in claimants(sample)]


__all__ = ["FORMATS", "Format", "Sample", "claimants", "sniff"]
