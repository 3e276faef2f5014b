"""The format registry: every format mailhunt reads, by name.

A new format is one module in this package exposing ``FORMAT``; it is listed here once.
"""

from __future__ import annotations

from mailhunt.formats import entra_signins, m365_ual
from mailhunt.formats.base import Format, Record

FORMATS: dict[str, Format] = {
    module.FORMAT.name: module.FORMAT
    for module in (m365_ual, entra_signins)
}


def sniff(record: Record) -> list[str]:
    """Names of the formats that claim this record, in registry order."""
    return [name for name, fmt in FORMATS.items() if fmt.sniff(record)]


__all__ = ["FORMATS", "Format", "sniff"]
