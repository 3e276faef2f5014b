"""Benign behaviour that looks like an attack (the false-positive sources of the test bed), one
module each exposing ``NOISE``, by name.

Each noise source adds its records to the scene from its own ``Random`` and says in the ground
truth that it was planted; an alert on it is a false alert. The original benign cast (delegates,
a traveller, a new device, a Graph CLI admin, an archiver) lives in ``simulate/benign.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailhunt.registry import discover
from mailhunt.simulate.scene import Scene


@dataclass(frozen=True)
class NoiseKind:
    """One benign behaviour an analytic could mistake for an attack."""

    name: str
    summary: str
    plant: Callable[[Scene], None]


NOISES: dict[str, NoiseKind] = discover(__name__, __path__, "NOISE", NoiseKind, lambda n: n.name)

__all__ = ["NOISES", "NoiseKind"]
