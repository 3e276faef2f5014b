"""The attack kinds the test bed injects, by name: one module each, exposing ``ATTACK``.

An attack writes its records into the scene (``Scene.add_ual`` / ``add_signin``) and returns the
ground truth of what it did (:class:`~mailhunt.simulate.model.Intrusion`): the record ids an
alert should cite as evidence, the mailboxes and messages it read. ``mailhunt evaluate`` scores
every registered kind; adding a kind is adding its module (see :mod:`mailhunt.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailhunt.registry import discover
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene


@dataclass(frozen=True)
class AttackKind:
    """One way mailbox espionage shows in the logs, as the test bed plays it."""

    name: str
    summary: str  # one line: what the attacker does
    inject: Callable[[Scene], Intrusion]
    # Analytics expected to catch it (documentation for the evaluation table, never scored).
    expected: tuple[str, ...] = ()
    # False when the kind needs something a single tenant cannot give (several tenants).
    single_tenant: bool = True


ATTACKS: dict[str, AttackKind] = discover(
    __name__, __path__, "ATTACK", AttackKind, lambda a: a.name
)

__all__ = ["ATTACKS", "AttackKind"]
