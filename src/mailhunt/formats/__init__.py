"""The format registry: every format mailhunt reads, by name.

A format is one module in this package exposing ``FORMAT``. The registry is built once, here,
at import, from the modules found in the package (sorted by module name, so sniffing order is
stable); adding a format is adding its file, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from mailhunt.formats.base import Format, Sample

_NOT_FORMATS = {"base"}


def _discover() -> dict[str, Format]:
    found: dict[str, Format] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name in _NOT_FORMATS or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        fmt = getattr(module, "FORMAT", None)
        if isinstance(fmt, Format):
            if fmt.name in found:
                raise RuntimeError(f"two formats named {fmt.name!r}")
            found[fmt.name] = fmt
    return found


FORMATS: dict[str, Format] = _discover()


def sniff(sample: Sample) -> list[str]:
    """Names of the formats that claim this sample, in registry order."""
    return [name for name, fmt in FORMATS.items() if fmt.sniff(sample)]


__all__ = ["FORMATS", "Format", "Sample", "sniff"]
