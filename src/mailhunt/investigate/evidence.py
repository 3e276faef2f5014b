"""A record's original bytes, exactly as the source wrote them.

The store keeps, for every row, the input file's path and SHA-256 and the record's byte span;
the bytes themselves stay in the kept input file (writing 1M raw records into DuckDB cost ten
times the normalised columns). Retrieval checks the file is still the one ingested (its
SHA-256), or, told not to, that the bytes at the span still hold the record's id. Only a
regular file is read (a FIFO or a device put in the file's place would block or never end),
and only the span of it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mailhunt.errors import RecordNotFoundError
from mailhunt.sources.archives import SEPARATOR, read_member, split_member
from mailhunt.store.db import Store
from mailhunt.store.pairing import _holds_id

_FIND = """
SELECT r.source, NULL AS path, r.source_ref, r.file_sha256, s.byte_offset, s.byte_length
FROM (SELECT source, source_ref, file_sha256, record_ordinal FROM events WHERE record_id = ?
      UNION ALL
      SELECT source, source_ref, file_sha256, record_ordinal FROM signins WHERE record_id = ?) r
JOIN record_spans s ON s.file_sha256 = r.file_sha256 AND s.ordinal = r.record_ordinal
LIMIT 1
"""
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer


class EvidenceUnavailableError(RecordNotFoundError):
    """The record is stored, but its original bytes cannot be given: the file is gone, is not
    a regular file any more, has changed, or its bytes at the span do not hold the record."""


@dataclass(frozen=True)
class Evidence:
    """Where a record came from and its exact bytes."""

    record_id: str
    source: str
    source_ref: str
    path: Path
    sha256: str
    data: bytes


def _source_text(source_ref: str) -> str:
    """The file part of 'path:line' (paths may themselves contain colons), as stored: a zip
    member's name may hold '//' (`s3://b/k.json`), which a Path would make '/'."""
    return source_ref.rsplit(":", 1)[0]


def _is_file(path: Path) -> bool:
    """Path.is_file, False too where the name cannot be a file (over the system's limit: an
    archive's path with a long member name)."""
    try:
        return path.is_file()
    except OSError:
        return False


def original_bytes(store: Store, record_id: str, *, verify: bool = True) -> Evidence:
    """The record's original bytes; with verify, the file's SHA-256 is checked first, without,
    the bytes read must still hold the record's id."""
    rows = store.query(_FIND, [record_id, record_id])
    if not rows:
        raise RecordNotFoundError(f"no record with id {record_id!r} in the store")
    source, _, source_ref, sha256, offset, length = rows[0]
    display = _source_text(source_ref)
    path = Path(display)
    # `archive!member` names a member; an ordinary file's path may hold `!` too: the file
    # itself is read when there is one, else the archive a part of the path names
    if SEPARATOR in display and not _is_file(path) and split_member(display) is not None:
        return _from_archive(record_id, source, source_ref, display, sha256, offset, length)
    return _from_file(record_id, source, source_ref, path, sha256, (offset, length), verify)


def _from_file(  # noqa: PLR0917 - the stored row's fields, passed through
    record_id: str,
    source: str,
    source_ref: str,
    path: Path,
    sha256: str,
    span: tuple[int, int],
    verify: bool,
) -> Evidence:
    """Evidence from an ordinary file."""
    offset, length = span
    try:
        with _open_regular(path, sha256) as stream:
            if verify and _sha256(stream) != sha256:
                raise EvidenceUnavailableError(
                    f"{path} has changed since it was ingested (SHA-256 differs): "
                    "evidence unavailable"
                )
            stream.seek(offset)
            data = stream.read(length)
    except OSError as error:
        raise EvidenceUnavailableError(
            f"evidence file {path} cannot be read ({error.strerror}); it was ingested with "
            f"SHA-256 {sha256}"
        ) from None
    if not verify and not _holds_record(data, record_id):
        raise EvidenceUnavailableError(
            f"{path} has changed since it was ingested: the bytes at offset {offset} do not "
            f"hold record {record_id!r}"
        )
    return Evidence(record_id, source, source_ref, path, sha256, data)


def _open_regular(path: Path, sha256: str) -> BinaryIO:
    """The file opened for reading if it is a regular file (checked on the open file, so it
    cannot be swapped in between); EvidenceUnavailableError otherwise."""
    descriptor = os.open(path, os.O_RDONLY | _NONBLOCK)
    try:
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        os.close(descriptor)
        raise
    if not regular:
        os.close(descriptor)
        raise EvidenceUnavailableError(
            f"evidence file {path} is not a regular file any more; it was ingested with "
            f"SHA-256 {sha256}"
        )
    return os.fdopen(descriptor, "rb")


def _holds_record(data: bytes, record_id: str) -> bool:
    """Whether the bytes hold the record's id as the pairing check at ingest saw it (a
    composite id, '<source id>|<suffix>', by its source id)."""
    return _holds_id(data, record_id.split("|", 1)[0])


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(8 * 1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def _from_archive(  # noqa: PLR0917 - the stored row's fields, passed through
    record_id: str,
    source: str,
    source_ref: str,
    display: str,
    sha256: str,
    offset: int,
    length: int,
) -> Evidence:
    """Evidence from a member of a gzip or zip archive: the member is read again and checked."""
    found = split_member(display)
    try:
        if found is not None and not stat.S_ISREG(found[0].stat().st_mode):
            raise EvidenceUnavailableError(
                f"evidence archive {found[0]} is not a regular file any more"
            )
        member = read_member(display)
    except (OSError, KeyError, ValueError) as error:
        raise EvidenceUnavailableError(
            f"evidence archive {display} cannot be read ({error})"
        ) from None
    if hashlib.sha256(member).hexdigest() != sha256:
        raise EvidenceUnavailableError(
            f"{display} has changed since it was ingested (SHA-256 differs)"
        )
    return Evidence(
        record_id, source, source_ref, Path(display), sha256, member[offset : offset + length]
    )
