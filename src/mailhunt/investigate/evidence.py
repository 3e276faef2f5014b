"""A record's original bytes, exactly as the source wrote them.

The store keeps, for every row, the input file's path and SHA-256 and the record's byte span;
the bytes themselves stay in the kept input file (writing 1M raw records into DuckDB cost ten
times the normalised columns). Retrieval checks the file is still the one ingested.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mailhunt.errors import RecordNotFoundError
from mailhunt.sources.archives import SEPARATOR, read_member
from mailhunt.store.db import Store

_FIND = """
SELECT r.source, NULL AS path, r.source_ref, r.file_sha256, s.byte_offset, s.byte_length
FROM (SELECT source, source_ref, file_sha256, record_ordinal FROM events WHERE record_id = ?
      UNION ALL
      SELECT source, source_ref, file_sha256, record_ordinal FROM signins WHERE record_id = ?) r
JOIN record_spans s ON s.file_sha256 = r.file_sha256 AND s.ordinal = r.record_ordinal
LIMIT 1
"""


@dataclass(frozen=True)
class Evidence:
    """Where a record came from and its exact bytes."""

    record_id: str
    source: str
    source_ref: str
    path: Path
    sha256: str
    data: bytes


def _source_path(source_ref: str) -> Path:
    """The file part of 'path:line' (paths may themselves contain colons)."""
    return Path(source_ref.rsplit(":", 1)[0])


def original_bytes(store: Store, record_id: str, *, verify: bool = True) -> Evidence:
    """The record's original bytes; with verify, the file's SHA-256 is checked first."""
    rows = store.query(_FIND, [record_id, record_id])
    if not rows:
        raise RecordNotFoundError(f"no record with id {record_id!r} in the store")
    source, _, source_ref, sha256, offset, length = rows[0]
    path = _source_path(source_ref)
    if SEPARATOR in str(path):
        return _from_archive(record_id, source, source_ref, str(path), sha256, offset, length)
    try:
        if verify and _sha256(path) != sha256:
            raise RecordNotFoundError(
                f"{path} has changed since it was ingested (SHA-256 differs): evidence unavailable"
            )
        with path.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
    except OSError as error:
        raise RecordNotFoundError(
            f"evidence file {path} cannot be read ({error.strerror}); it was ingested with "
            f"SHA-256 {sha256}"
        ) from None
    return Evidence(record_id, source, source_ref, path, sha256, data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
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
    try:
        member = read_member(display)
    except (OSError, KeyError, ValueError) as error:
        raise RecordNotFoundError(f"evidence archive {display} cannot be read ({error})") from None
    if hashlib.sha256(member).hexdigest() != sha256:
        raise RecordNotFoundError(f"{display} has changed since it was ingested (SHA-256 differs)")
    return Evidence(
        record_id, source, source_ref, Path(display), sha256, member[offset : offset + length]
    )
