"""The analytic registry: every analytic mailhunt runs, by id.

An analytic is one module in this package exposing ``ANALYTIC`` (see :mod:`mailhunt.registry`);
adding an analytic is adding its file.
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic
from mailhunt.registry import discover

ANALYTICS: dict[str, Analytic] = discover(__name__, __path__, "ANALYTIC", Analytic, lambda a: a.id)

__all__ = ["ANALYTICS", "Analytic"]
