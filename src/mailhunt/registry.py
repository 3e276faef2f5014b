"""One way to register an extension: a module in the extension's package that exposes one
named object (``FORMAT``, ``READER``, ``ANALYTIC``, ``RENDERER``). Each package builds its
registry once, at import, with :func:`discover`; adding an extension is adding its module.
Modules whose name starts with ``_``, and those named in ``not_extensions``
(``base``), are shared code, not extensions."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

T = TypeVar("T")


def discover(
    package: str,
    path: Iterable[str],
    attribute: str,
    kind: type[Any],
    key: Callable[[T], str],
    *,
    not_extensions: frozenset[str] = frozenset({"base"}),
) -> dict[str, T]:
    """The package's extensions by key, in module-name order (stable); a key used twice is
    a programming error and fails at import."""
    found: dict[str, T] = {}
    for module_info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if module_info.name in not_extensions or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{module_info.name}")
        extension = getattr(module, attribute, None)
        if isinstance(extension, kind):
            typed = cast("T", extension)
            name = key(typed)
            if name in found:
                raise RuntimeError(f"two {attribute.lower()}s named {name!r}")
            found[name] = typed
    return found
