"""Compiled Sigma rules cached between runs: converting a rule (pySigma's parse, the
pipeline, the backend, sqlglot and the trial run on an empty locked store) costs ~6 ms a
rule, more than evaluating it over a million records in a shared scan.

The cache is one JSON file, ``$XDG_CACHE_HOME/mailhunt/sigma-rules.json`` (``~/.cache`` when
the variable is unset). It maps the SHA-256 of a rule file's bytes to what compiling that
file gave (each rule's status, reason, table, SQL, level, tags, description; not the pySigma
object), under a *fingerprint* of everything else a conversion depends on: this module's
format, mailhunt's, pySigma's, DuckDB's and sqlglot's versions, and the source text of the
modules that load, map and convert rules (a pipeline change recompiles every rule, even in a
development tree whose version does not move). A changed file has another hash and is
recompiled; a file moved or renamed is not. Files holding a correlation rule are not cached
(what they compile to may depend on other files).

A cache that cannot be read, is not JSON or not of the expected shape is ignored with a
warning in the log (never an error: it is only a cache) and rewritten; one that cannot be
written is a warning too. It is written whole to a temporary file and renamed, so a run
interrupted or two runs at once leave one or the other, never a mix. What it holds is
checked again before it runs: the shared scan's query is parsed by sqlglot on every run
(sigma/analytic.py) and runs on the locked connection.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

from sigma.correlations import SigmaCorrelationRule

from mailhunt.sigma import backend, compiler, loader, pipelines, sqltext
from mailhunt.sigma.compiler import (
    STATUSES,
    Compiled,
    checking_store,
    compile_rule,
    compile_rules,
)
from mailhunt.sigma.loader import load_file, rule_files
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

FORMAT = 1
FILE_NAME = "sigma-rules.json"
# Compiled's fields kept (``path`` is the file's where it is found now, ``rule`` is dropped)
_TEXT = ("rule_id", "title", "status", "reason", "table", "predicate", "scope", "condition")
_OPTIONAL_TEXT = ("level", "description")
_SOURCES = (backend, compiler, loader, pipelines, sqltext)


def cache_path() -> Path:
    """Where the cache file is (it may not exist)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailhunt" / FILE_NAME


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def fingerprint() -> str:
    """What a conversion depends on besides the rule file, hashed."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for package in ("mailhunt", "pysigma", "duckdb", "sqlglot"):
        digest.update(f"\n{package} {_version(package)}".encode())
    for module in _SOURCES:
        digest.update(b"\n" + Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def _entry(compiled: Compiled) -> dict[str, Any]:
    entry: dict[str, Any] = {name: getattr(compiled, name) for name in _TEXT + _OPTIONAL_TEXT}
    entry["line"] = compiled.line
    entry["tags"] = list(compiled.tags)
    return entry


def _compiled(path: str, entry: Any) -> Compiled:
    """The entry as a Compiled of ``path``; ValueError if it is not of the expected shape."""
    ok = (
        isinstance(entry, dict)
        and all(isinstance(entry.get(name), str) for name in _TEXT)
        and all(entry.get(name) is None or isinstance(entry[name], str) for name in _OPTIONAL_TEXT)
        and (entry.get("line") is None or type(entry["line"]) is int)
        and isinstance(entry.get("tags"), list)
        and all(isinstance(tag, str) for tag in entry["tags"])
        and entry["status"] in STATUSES
    )
    if not ok:
        raise ValueError("an entry is not of the expected shape")
    values = {name: entry[name] for name in (*_TEXT, *_OPTIONAL_TEXT, "line")}
    return Compiled(path=path, tags=tuple(entry["tags"]), **values)


class RuleCache:
    """The cache file's entries (file hash -> its rules' entries) for this fingerprint."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = cache_path() if path is None else path
        self.fingerprint = fingerprint()
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        self._read()

    def _read(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            log.warning("Sigma rule cache %s ignored: %s", self.path, error)
            return
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            log.warning("Sigma rule cache %s ignored: not of the expected shape", self.path)
            return
        if data.get("fingerprint") == self.fingerprint:
            self.entries = {
                key: value
                for key, value in data["entries"].items()
                if isinstance(key, str) and isinstance(value, list)
            }

    def get(self, digest: str, path: str) -> list[Compiled] | None:
        """The rules of a file with this content, as compiled before (None: not cached, or an
        entry of the wrong shape, which is then forgotten)."""
        found = self.entries.get(digest)
        if found is None:
            return None
        try:
            return [_compiled(path, entry) for entry in found]
        except ValueError as error:
            log.warning("Sigma rule cache %s: entry ignored: %s", self.path, error)
            del self.entries[digest]
            self.changed = True
            return None

    def put(self, digest: str, compiled: list[Compiled]) -> None:
        self.entries[digest] = [_entry(c) for c in compiled]
        self.changed = True

    def save(self) -> None:
        """Write the cache (whole, then renamed into place) if it changed; a failure is a
        warning."""
        if not self.changed:
            return
        data = {"format": FORMAT, "fingerprint": self.fingerprint, "entries": self.entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".sigma-rules-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out)
            Path(temporary).replace(self.path)
        except OSError as error:
            log.warning("Sigma rule cache %s not written: %s", self.path, error)
            with suppress(OSError, UnboundLocalError):
                Path(temporary).unlink(missing_ok=True)
        self.changed = False


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # load_file says why


def compile_path(path: Path, cache: RuleCache | None = None) -> list[Compiled]:
    """Every rule under ``path`` (a file or a folder) compiled, in file order, through the
    cache (the user's, when none is given); a file not in it is loaded and converted as
    :func:`mailhunt.sigma.compiler.compile_rules` does, and kept."""
    cache = RuleCache() if cache is None else cache
    files = rule_files(path)
    if any(_correlates(file, cache) for file in files):
        # a correlation may name a rule of any file: everything converted together, uncached
        return compile_rules([item for file in files for item in load_file(file)])
    out: list[Compiled] = []
    with ExitStack() as stack:
        checking: list[Store] = []  # opened at the first rule to convert
        for file in files:
            out.extend(_file(file, cache, lambda: _store(stack, checking)))
    cache.save()
    return out


_CORRELATION_KEY = re.compile(rb"^correlation\s*:", re.MULTILINE)


def _correlates(file: Path, cache: RuleCache) -> bool:
    """Whether the file may hold a correlation rule: a top-level ``correlation:`` key in its
    text (a cached file never does). Read as text, not parsed: parsing is most of the cost of
    converting; a key that is not a rule's only costs this run the cache."""
    digest = _digest(file)
    if digest is not None and cache.get(digest, str(file)) is not None:
        return False
    try:
        return _CORRELATION_KEY.search(file.read_bytes()) is not None
    except OSError:
        return False  # the loader says why, for this file alone


def _store(stack: ExitStack, checking: list[Store]) -> Store:
    if not checking:
        checking.append(stack.enter_context(checking_store()))
    return checking[0]


def _file(file: Path, cache: RuleCache, store: Callable[[], Store]) -> Iterator[Compiled]:
    digest = _digest(file)
    if digest is not None:
        cached = cache.get(digest, str(file))
        if cached is not None:
            yield from cached
            return
    loaded = load_file(file)
    compiled = [compile_rule(item, store()) for item in loaded]
    correlation = any(isinstance(item.rule, SigmaCorrelationRule) for item in loaded)
    if digest is not None and not correlation and _digest(file) == digest:
        cache.put(digest, compiled)
    yield from compiled
