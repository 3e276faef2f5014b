"""The reader registry: every layout of records mailhunt reads (one module each, exposing
``READER``), in sampling order."""

from __future__ import annotations

from mailhunt.readers.base import Layout, Reader
from mailhunt.registry import discover

READERS: dict[str, Reader] = dict(
    sorted(
        discover(__name__, __path__, "READER", Reader, lambda r: r.name).items(),
        key=lambda item: item[1].order,
    )
)

__all__ = ["READERS", "Layout", "Reader"]
