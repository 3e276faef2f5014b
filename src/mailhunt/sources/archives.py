"""Inputs inside gzip and zip files (and UTF-16 files, re-encoded): expanded into the work
folder, named `archive!member`.

Each member becomes its own input with its own format, spans and SHA-256 (of the member's
bytes). Its provenance names the archive and the member, so evidence can be re-read from the
archive later (see investigate/evidence.py).
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Windows PowerShell 5.1's Out-File and `>` write these
UTF8_MEMBER = "(as UTF-8)"  # the member name of a UTF-16 file re-encoded
SEPARATOR = "!"


@dataclass(frozen=True)
class InputFile:
    """A file to ingest: where its bytes are now, and the name provenance gives it."""

    physical: Path
    display: str


class ArchiveError(ValueError):
    """An archive that cannot be read (corrupt, truncated, unsafe member names)."""


def expand(path: Path, work: Path) -> list[InputFile]:
    """The inputs a file stands for: itself, or the members of the archive it is."""
    with path.open("rb") as stream:
        magic = stream.read(4)
    try:
        if magic.startswith(GZIP_MAGIC):
            return [_gunzip(path, work)]
        if magic == ZIP_MAGIC:
            return _unzip(path, work)
        if magic[:2] in UTF16_BOMS:
            return [_as_utf8(path, work)]
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, UnicodeError) as error:
        raise ArchiveError(f"cannot read archive {path.name}: {error}") from None
    return [InputFile(path, str(path))]


def _gunzip(path: Path, work: Path) -> InputFile:
    member = path.name[:-3] if path.name.endswith(".gz") else path.name + ".out"
    target = _fresh(work, path) / member
    with gzip.open(path, "rb") as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
        stamp = source.mtime  # the member's own time, from the gzip header (0 when absent)
    _keep_time(target, stamp or path.stat().st_mtime)
    return InputFile(target, f"{path}{SEPARATOR}{member}")


def _as_utf8(path: Path, work: Path) -> InputFile:
    """A UTF-16 file re-encoded as UTF-8 (every reader and offset works on UTF-8)."""
    target = _fresh(work, path) / path.name
    target.write_bytes(_utf8_of(path.read_bytes()))
    _keep_time(target, path.stat().st_mtime)
    return InputFile(target, f"{path}{SEPARATOR}{UTF8_MEMBER}")


def _utf8_of(data: bytes) -> bytes:
    return data.decode("utf-16").encode("utf-8")


def _unzip(path: Path, work: Path) -> list[InputFile]:
    folder = _fresh(work, path)
    inputs = []
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            name = PurePosixPath(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            target = folder / Path(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            _keep_time(target, _zip_time(info) or path.stat().st_mtime)
            inputs.append(InputFile(target, f"{path}{SEPARATOR}{info.filename}"))
    return inputs


def _keep_time(target: Path, timestamp: float) -> None:
    """Give an extracted member its original modification time: formats whose timestamps carry
    no year (syslog) take the year from it."""
    os.utime(target, (timestamp, timestamp))


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    """A zip entry's date (stored without a zone: read as UTC)."""
    try:
        return datetime(*info.date_time, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _fresh(work: Path, path: Path) -> Path:
    folder = work / f"{len(list(work.iterdir()))}-{path.name}"
    folder.mkdir()
    return folder


def read_member(display: str) -> bytes:
    """The bytes of `archive!member` (for evidence retrieval)."""
    archive, member = display.rsplit(SEPARATOR, 1)
    path = Path(archive)
    if member == UTF8_MEMBER:
        return _utf8_of(path.read_bytes())
    with path.open("rb") as stream:
        magic = stream.read(4)
    if magic.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as source:
            return source.read()
    with zipfile.ZipFile(path) as zipped:
        return zipped.read(member)
