"""The store as the server uses it: one read-only connection for reads, kept open; a write
closes it and opens the store writable for itself only (DuckDB allows one configuration of
a file per process). One lock orders them: a DuckDB connection is not for several threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailhunt.investigate.incidents import build_incidents
from mailhunt.store.db import Store


class StoreAccess:
    """Reads and writes of one store file, one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reader: Store | None = None

    @contextmanager
    def read(self) -> Iterator[Store]:
        with self._lock:
            if self._reader is None:
                self._reader = Store.open(self.path, create=False, read_only=True)
            yield self._reader

    @contextmanager
    def write(self) -> Iterator[Store]:
        """The store writable for the block; incidents are rebuilt after when the alerts
        changed (a suppression), as the command line does before reading them."""
        with self._lock:
            self._close_reader()
            with Store.open(self.path, create=False) as store:
                yield store
                build_incidents(store, force=False)

    def prepare(self) -> None:
        """Before serving: the incidents built when the alerts changed since the last build."""
        with self.write():
            pass

    def close(self) -> None:
        with self._lock:
            self._close_reader()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
