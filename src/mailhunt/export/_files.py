"""Writing an export: each file atomically (a temp file beside it, flushed to disk, then
renamed over the target), so a reader never sees half an export and a failed export leaves
what was there before. One file goes to ``--out`` itself; several go into ``--out`` as a
directory (created when missing)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mailhunt.errors import InputError
from mailhunt.export.base import ExportFile


def write_export(out: Path, files: list[ExportFile]) -> list[Path]:
    """The files written, in order; InputError (one line) when ``out`` cannot take them."""
    try:
        if len(files) == 1:
            return [_write_atomic(out, files[0].text)]
        out.mkdir(parents=True, exist_ok=True)
        return [_write_atomic(out / f.name, f.text) for f in files]
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(f"cannot write {out}: {reason}") from None


def _write_atomic(path: Path, text: str) -> Path:
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory", str(path))
    data = text.encode("utf-8")  # outputs escape surrogates: strict UTF-8 always holds
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        Path(temp).chmod(_mode(path))
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise
    return path


def _mode(path: Path) -> int:
    """The target's permissions when it exists, else those a new file gets (umask applied;
    mkstemp's own 0600 would hide an export from the group that reads it)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
