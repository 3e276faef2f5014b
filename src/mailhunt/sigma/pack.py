"""mailhunt's own Sigma rule pack for mail compromise (``sigma/rules/*.yml``, in the wheel).

``mailhunt detect`` runs the pack's ``stable`` and ``test`` rules by default (``--no-sigma-pack``
leaves them out); its ``experimental`` rules are generic signatures whose benign twin looks the
same in one record (any mailbox forwarding, any FullAccess grant, an application reading many
mailboxes): they run only when asked for, with ``--rules`` and the pack's folder
(``mailhunt rules list`` shows it). Every rule carries positive and negative samples that
``mailhunt rules test`` runs (see :mod:`mailhunt.sigma.ruletest`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mailhunt.sigma.compiler import Compiled, compile_rules
from mailhunt.sigma.loader import load_rules

PACK_DIR = Path(__file__).resolve().parent / "rules"
DEFAULT_STATUSES = frozenset({"stable", "test"})


def by_default(compiled: Compiled) -> bool:
    """Does ``detect`` run this pack rule without being asked (its status stable or test)?"""
    status = compiled.rule.status if compiled.rule is not None else None
    return status is not None and status.name.lower() in DEFAULT_STATUSES


def pack_rules() -> list[Compiled]:
    """Every rule of the pack, converted (experimental ones included)."""
    return compile_rules(load_rules(PACK_DIR))


def default_rules(compiled: Iterable[Compiled]) -> list[Compiled]:
    """The pack rules ``detect`` runs by default."""
    return [c for c in compiled if by_default(c)]
