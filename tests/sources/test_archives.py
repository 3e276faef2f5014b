"""gzip and zip inputs: members are ingested with `archive!member` provenance, keep their own
modification time, and their records' original bytes can be shown again."""

from __future__ import annotations

import gzip
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.sources.archives import expand
from mailhunt.store.db import Store
from tests.helpers import at, ual_record


def _lines(prefix: str, count: int) -> bytes:
    return b"".join(
        json.dumps(ual_record(f"{prefix}-{n}", at(0, 9, n))).encode() + b"\n" for n in range(count)
    )


def test_gzip_and_zip_members_are_ingested_with_provenance(store: Store, tmp_path: Path) -> None:
    gz = tmp_path / "day1.jsonl.gz"
    gz.write_bytes(gzip.compress(_lines("gz", 3)))
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a/day2.jsonl", _lines("zip", 2))
    summary = ingest(store, [tmp_path])
    shown = {str(f.path).replace(str(tmp_path) + "/", ""): f.records_new for f in summary.files}
    assert shown == {"day1.jsonl.gz!day1.jsonl": 3, "export.zip!a/day2.jsonl": 2}
    [(ref,)] = store.query("SELECT source_ref FROM events WHERE record_id = 'zip-1'")
    assert ref == f"{zipped}!a/day2.jsonl:2"
    assert original_bytes(store, "zip-1").data == _lines("zip", 2).splitlines()[1]
    assert original_bytes(store, "gz-0").data == _lines("gz", 3).splitlines()[0]


def test_members_keep_their_own_modification_time(tmp_path: Path) -> None:
    zipped = tmp_path / "old.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mail.log", date_time=(2024, 12, 31, 23, 0, 0)), b"x\n")
    gz = tmp_path / "mail.log.1.gz"
    with gzip.GzipFile(gz, "wb", mtime=datetime(2023, 6, 1, tzinfo=UTC).timestamp()) as out:
        out.write(b"y\n")
    work = tmp_path / "work"
    work.mkdir()
    [from_zip] = expand(zipped, work)
    [from_gz] = expand(gz, work)
    assert datetime.fromtimestamp(from_zip.physical.stat().st_mtime, UTC).year == 2024
    assert datetime.fromtimestamp(from_gz.physical.stat().st_mtime, UTC).year == 2023


def test_a_corrupt_archive_fails_that_file_only(store: Store, tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "good.jsonl").write_bytes(_lines("ok", 1))
    summary = ingest(store, [tmp_path])
    statuses = {f.path.name: f.status for f in summary.files}
    assert statuses == {"broken.zip": "failed", "good.jsonl": "ingested"}


def test_utf16_file_is_read_as_utf8_and_shown_again(store: Store, tmp_path: Path) -> None:
    """Windows PowerShell 5.1's Out-File and `>` write UTF-16 with a BOM."""
    path = tmp_path / "ual.jsonl"
    path.write_bytes(_lines("u16", 2).decode().encode("utf-16"))
    summary = ingest(store, [path])
    [result] = summary.files
    assert (result.status, result.records_new) == ("ingested", 2)
    assert str(result.path) == f"{path}!(as UTF-8)"
    assert original_bytes(store, "u16-1").data == _lines("u16", 2).splitlines()[1]
