"""Raw content landed on disk before it is ingested: gzip, one file per content id.

The landed files are the evidence files: ingest reads the gzip member and records its
SHA-256, and ``mailhunt show`` re-reads the record's bytes from the member (archives are read
as streams, ``sources/archives.py``), so nothing needs landing uncompressed. A file is written
to a temporary name and renamed, so a crash never leaves half a blob under a content id.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9$_.=-]{0,159}")


@dataclass(frozen=True)
class Landed:
    """A landed content: where it is, the content id it is kept under, when it was published."""

    path: Path
    content_id: str
    created: datetime | None


def file_name(content_id: str) -> str:
    """The content id when it is a safe file name (service ids are), else its hash."""
    if _SAFE.fullmatch(content_id):
        return content_id
    return hashlib.sha256(content_id.encode()).hexdigest()[:40]


def land(folder: Path, content_id: str, body: bytes, created: datetime | None) -> Landed:
    """Write `body` gzip-compressed under `folder` by content id (same bytes there: kept; other
    bytes: a second file beside it, never overwriting evidence)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(body, compresslevel=6, mtime=0)
    path = folder / f"{file_name(content_id)}.json.gz"
    if path.exists():
        if path.read_bytes() == data:
            return Landed(path.resolve(), content_id, created)
        digest = hashlib.sha256(body).hexdigest()[:12]
        path = folder / f"{file_name(content_id)}.{digest}.json.gz"
    temporary = path.with_name(path.name + ".part")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)
    return Landed(path.resolve(), content_id, created)
