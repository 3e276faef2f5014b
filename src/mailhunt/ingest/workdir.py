"""The work folder of an ingest run: decompressed archive members, re-encoded files and the
work copies readers write, in one temporary folder removed when the run ends.

A run that ends normally or by an exception (Ctrl-C included) removes its folder; one killed
outright (SIGKILL, the machine stopping) cannot, and its copies (whole decompressed archives)
would stay in the temp folder for good. So each folder holds a marker naming its host and
process, and every run first removes the folders of runs that are gone: a marker of this host
naming no live process, or a folder older than STALE_AFTER_HOURS whose marker is missing or
from another host (a run there cannot be checked). Only folders with this module's prefix,
owned by this user, are looked at.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "mailhunt-work-"
MARKER = "owner"
STALE_AFTER_HOURS = 24


@contextmanager
def work_folder(root: Path | None = None) -> Iterator[Path]:
    """A fresh work folder for one run (stale ones swept first), removed when the block ends."""
    root = root or Path(tempfile.gettempdir())
    sweep_stale(root)
    with tempfile.TemporaryDirectory(prefix=PREFIX, dir=root) as work:
        (Path(work) / MARKER).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        yield Path(work)


def sweep_stale(root: Path, *, now: float | None = None) -> list[Path]:
    """Remove the work folders of runs that are gone (see the module's docstring)."""
    removed = []
    for folder in sorted(root.glob(PREFIX + "*")):
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            if _stale(folder, time.time() if now is None else now):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue
    if removed:
        log.info("removed %d work folder(s) left by runs that were killed", len(removed))
    return removed


def _stale(folder: Path, now: float) -> bool:
    host, pid = _owner(folder)
    if host == socket.gethostname() and pid is not None:
        return not _alive(pid)
    return now - folder.stat().st_mtime > STALE_AFTER_HOURS * 3600


def _owner(folder: Path) -> tuple[str | None, int | None]:
    try:
        host, pid = (folder / MARKER).read_text().split()
        return host, int(pid)
    except (OSError, ValueError):
        return None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
