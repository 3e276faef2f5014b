"""Rule sets of any size for the Sigma benchmark (bench/sigma_cost.py), derived from SigmaHQ's.

SigmaHQ's cloud rules that mailhunt converts are ~59; a set of N rules is those real rules,
unmodified, followed by *derived* rules until there are N: variant k of a real rule is the
same YAML (same log source, same fields, same modifiers, same condition) with new values —
each string value gets ``" v<k>"`` inserted before any trailing wildcard (``Add user`` ->
``Add user v3``, ``*azurehound*`` -> ``*azurehound v3*``), each number ``k`` added, regular
expressions kept as they are — and a new id (uuid5 of the real id and k) and title. The
derivation is deterministic: the same N gives the same files. Derived rules have the real
rules' shapes, so they cost what the real ones cost to convert and to evaluate; their new
values match nothing in the benchmark corpus (nor, mostly, do the real rules': the corpus is
mail access and sign-ins, the rules mostly watch administration).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SIGMAHQ = REPO.parent / "shared" / "data" / "sigma" / "rules" / "cloud"


def convertible(rules: Path = SIGMAHQ) -> list[Path]:
    """The SigmaHQ rule files mailhunt converts (each holds one rule), sorted."""
    from mailhunt.sigma.compiler import CONVERTED, compile_rules
    from mailhunt.sigma.loader import load_rules

    return sorted({Path(c.path) for c in compile_rules(load_rules(rules)) if c.status == CONVERTED})


def _vary(value: Any, k: int) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value + k
    if isinstance(value, str):
        stem = value.rstrip("*")
        return f"{stem} v{k}" + value[len(stem) :]
    if isinstance(value, list):
        return [_vary(v, k) for v in value]
    return value


def _vary_detection(node: Any, k: int) -> Any:
    """The detection's values varied; the keys (fields and modifiers) and condition kept."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "condition" or "|re" in str(key) or "|cidr" in str(key):
                out[key] = value
            elif isinstance(value, dict | list) and not (
                isinstance(value, list) and all(not isinstance(v, dict) for v in value)
            ):
                out[key] = _vary_detection(value, k)
            else:
                out[key] = _vary(value, k)
        return out
    if isinstance(node, list):
        return [_vary_detection(v, k) for v in node]
    return node


def variant(rule: dict[str, Any], k: int) -> dict[str, Any]:
    """Variant k of a rule (see the module docstring)."""
    out = dict(rule)
    out["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rule['id']}/{k}"))
    out["title"] = f"{rule['title']} (variant {k})"
    out["detection"] = _vary_detection(rule["detection"], k)
    return out


def write_set(count: int, folder: Path, real: list[Path]) -> Path:
    """``count`` rules in ``folder`` (created): the real ones first, then variants."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = [p.read_text("utf-8") for p in real]
    for n in range(count):
        base, k = n % len(real), n // len(real)
        if k == 0:
            text = texts[base]
        else:
            text = yaml.safe_dump(variant(yaml.safe_load(texts[base]), k), sort_keys=False)
        (folder / f"r{n:04d}_{real[base].stem}.yml").write_text(text, "utf-8")
    return folder
