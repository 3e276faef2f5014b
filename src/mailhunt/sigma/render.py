"""``mailhunt rules check`` output: one line per rule.

JSON Lines is a **stable contract**: one object per rule with exactly the keys ``path``,
``rule_id``, ``title``, ``status`` (converted, unsupported or error) and ``reason``, in that
order (keys may be added after them, never renamed or reordered). The table is for people:
every text from a rule file goes through the terminal sanitiser.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mailhunt.report.encode import jsonl
from mailhunt.report.safe import terminal
from mailhunt.sigma.compiler import STATUSES, Compiled

CHECK_KEYS = ("path", "rule_id", "title", "status", "reason")


def check_record(compiled: Compiled) -> dict[str, Any]:
    """The contract's object for one rule."""
    return {
        "path": compiled.path,
        "rule_id": compiled.rule_id,
        "title": compiled.title,
        "status": compiled.status,
        "reason": compiled.reason,
    }


def check_jsonl(results: Iterable[Compiled]) -> str:
    return jsonl(check_record(c) for c in results)


def check_table(results: list[Compiled]) -> Group:
    table = Table("status", "rule id", "title", "reason", "path", show_lines=False)
    for c in results:
        where = c.path + (f":{c.line}" if c.line else "")
        table.add_row(
            terminal(c.status),
            terminal(c.rule_id),
            terminal(c.title),
            terminal(c.reason),
            terminal(where),
        )
    counts = Counter(c.status for c in results)
    line = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    return Group(table, Text(f"{len(results)} rule(s): {line}"))


def summary_line(results: Iterable[Compiled]) -> str:
    counts = Counter(c.status for c in results)
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
