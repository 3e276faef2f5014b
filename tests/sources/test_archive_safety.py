"""What an archive does never costs the rest of it (issue 8, findings 1 and 6): a gzip file cut
short or corrupt keeps what decompressed, zip members of one name stay apart, unsafe member
names are read under safe ones with a note, and decompression is limited."""

from __future__ import annotations

import gzip
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.sources.archives import Limits, expand, read_member
from mailhunt.store.db import Store
from tests.helpers import at, ual_record


def _lines(prefix: str, count: int, pad: int = 0) -> bytes:
    return b"".join(
        json.dumps(ual_record(f"{prefix}-{n}", at(0, 9, n % 60), Pad="x" * pad)).encode() + b"\n"
        for n in range(count)
    )


def _ids(store: Store) -> list[str]:
    return [i for (i,) in store.query("SELECT record_id FROM events ORDER BY record_ordinal")]


def _readable_prefix(compressed: bytes) -> bytes:
    """What zlib itself gets out of a damaged gzip stream before it stops."""
    decompressor = zlib.decompressobj(wbits=31)
    out = b""
    for n in range(0, len(compressed), 1024):
        try:
            out += decompressor.decompress(compressed[n : n + 1024])
        except zlib.error:
            break
    return out


def test_a_gzip_file_cut_short_keeps_what_decompressed(store: Store, tmp_path: Path) -> None:
    data = _lines("gz", 2000)
    path = tmp_path / "day.jsonl.gz"
    compressed = gzip.compress(data)
    path.write_bytes(compressed[: len(compressed) * 9 // 10])
    kept = _readable_prefix(path.read_bytes())
    complete = kept.count(b"\n")
    assert 1000 < complete < 2000

    [result] = ingest(store, [path]).files

    assert (result.status, result.records_new) == ("ingested", complete)
    assert _ids(store) == [f"gz-{n}" for n in range(complete)]
    assert "archive_truncated" in result.detail
    assert store.query("SELECT reason, byte_offset FROM quarantine ORDER BY reason") == [
        ("archive_truncated", len(kept)),
        ("invalid_json", kept.rfind(b"\n") + 1),  # the line the cut went through
    ]
    # evidence reads the member again the same way: its SHA-256 still matches
    assert original_bytes(store, "gz-7").data == data.splitlines()[7]
    assert read_member(f"{path}!day.jsonl") == kept


def test_corrupt_gzip_data_keeps_what_came_before(store: Store, tmp_path: Path) -> None:
    """Deflate notices corruption some way after it: the records before the damaged bytes are
    stored, the member is flagged archive_corrupt where it stopped (what was decoded just
    before that may be damaged: such records are quarantined when they do not parse)."""
    data = _lines("cz", 2000)
    compressed = bytearray(gzip.compress(data))
    middle = len(compressed) // 2
    compressed[middle : middle + 64] = bytes(64)
    path = tmp_path / "day.jsonl.gz"
    path.write_bytes(bytes(compressed))
    intact = _readable_prefix(bytes(compressed[:middle])).count(b"\n")

    [result] = ingest(store, [path]).files

    assert result.status == "ingested"
    assert _ids(store)[:intact] == [f"cz-{n}" for n in range(intact)]
    assert ("archive_corrupt",) in store.query("SELECT reason FROM quarantine")
    assert "archive_corrupt" in result.detail


def test_gzip_members_and_zero_padding_are_read_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(_lines("a", 3)) + b"\0" * 10 + gzip.compress(_lines("b", 2)))
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_new, result.quarantined) == ("ingested", 5, 0)


def test_a_gzip_bomb_stops_at_the_default_ratio(tmp_path: Path) -> None:
    """256 MiB of zeros in a 256 KiB file: stopped just past RATIO_FROM_BYTES (64 MiB)."""
    path = tmp_path / "bomb.log.gz"
    with gzip.GzipFile(path, "wb", compresslevel=9) as out:
        for _ in range(256):
            out.write(bytes(1024 * 1024))
    work = tmp_path / "work"
    work.mkdir()
    [member] = expand(path, work)
    assert member.stop is not None
    assert member.stop.reason == "decompression_limit"
    assert 64 * 1024 * 1024 < member.physical.stat().st_size == member.stop.offset
    assert member.stop.offset < 66 * 1024 * 1024


def test_decompression_limits_are_quarantined_with_their_reason(
    store: Store, tmp_path: Path
) -> None:
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(_lines("r", 4000, pad=2000)))  # ~9 MB of very alike lines
    zipped = tmp_path / "two.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.jsonl", _lines("za", 100))
        archive.writestr("b.jsonl", _lines("zb", 5000))

    by_ratio = Limits(ratio=5, ratio_from=1024 * 1024)
    by_total = Limits(total=len(_lines("za", 100)) + 1024 * 1024)
    results = {
        f.path.name: f
        for f in [
            *ingest(store, [gz], limits=by_ratio).files,
            *ingest(store, [zipped], limits=by_total).files,
        ]
    }

    assert {name: r.status for name, r in results.items()} == {
        "big.jsonl.gz!big.jsonl": "ingested",
        "two.zip!a.jsonl": "ingested",
        "two.zip!b.jsonl": "ingested",
    }
    assert 0 < results["big.jsonl.gz!big.jsonl"].records_new < 4000
    assert results["two.zip!a.jsonl"].records_new == 100
    assert 0 < results["two.zip!b.jsonl"].records_new < 5000
    reasons = store.query("SELECT source_path, reason FROM quarantine WHERE line = 0 ORDER BY 1")
    assert [(Path(p).name, r) for p, r in reasons] == [
        ("big.jsonl.gz!big.jsonl", "decompression_limit"),
        ("two.zip!b.jsonl", "decompression_limit"),
    ]
    assert "times its compressed size" in results["big.jsonl.gz!big.jsonl"].detail
    assert "archive expanded past" in results["two.zip!b.jsonl"].detail


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_zip_members_with_one_name_are_kept_apart(store: Store, tmp_path: Path) -> None:
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("ual.jsonl", _lines("first", 2))
        archive.writestr("ual.jsonl", _lines("second", 3))
        archive.writestr("ual.jsonl (copy 2)", _lines("third", 1))  # the name a copy would take

    results = {f.path.name: f for f in ingest(store, [zipped]).files}

    assert {name: (r.status, r.records_new) for name, r in results.items()} == {
        "export.zip!ual.jsonl": ("ingested", 2),
        "export.zip!ual.jsonl (copy 3)": ("ingested", 3),
        "export.zip!ual.jsonl (copy 2)": ("ingested", 1),
    }
    for record_id, line in (("first-1", 1), ("second-2", 2), ("third-0", 0)):
        prefix = record_id.split("-")[0]
        count = {"first": 2, "second": 3, "third": 1}[prefix]
        assert original_bytes(store, record_id).data == _lines(prefix, count).splitlines()[line]


def test_unsafe_member_names_are_read_under_safe_ones_with_a_note(
    store: Store, tmp_path: Path
) -> None:
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("../../evil.jsonl", _lines("up", 1))
        archive.writestr("/etc/abs.jsonl", _lines("abs", 1))
        archive.writestr("C:/win/drive.jsonl", _lines("drive", 1))
    work = tmp_path / "work"
    work.mkdir()
    members = expand(zipped, work)
    assert all(m.physical.resolve().is_relative_to(work.resolve()) for m in members)

    results = ingest(store, [zipped]).files

    assert sorted((str(f.path).split("!")[1], f.status, f.records_new) for f in results) == [
        ("../../evil.jsonl", "ingested", 1),
        ("/etc/abs.jsonl", "ingested", 1),
        ("C:/win/drive.jsonl", "ingested", 1),
    ]
    notes = sorted(f.detail for f in results)
    assert notes == [
        "unsafe member name (absolute or with ..), read as etc/abs.jsonl",
        "unsafe member name (absolute or with ..), read as evil.jsonl",
        "unsafe member name (absolute or with ..), read as win/drive.jsonl",
    ]
    assert original_bytes(store, "up-0").data == _lines("up", 1).strip()


def test_a_member_failing_its_crc_is_kept_and_flagged(store: Store, tmp_path: Path) -> None:
    data = _lines("crc", 5)
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("ual.jsonl", data)
    raw = zipped.read_bytes()
    zipped.write_bytes(raw.replace(b'"crc-4"', b'"crc-X"'))

    [result] = ingest(store, [zipped]).files

    assert (result.status, result.records_new) == ("ingested", 5)
    assert _ids(store)[-1] == "crc-X"
    assert store.query("SELECT reason FROM quarantine") == [("archive_corrupt",)]


def test_an_encrypted_member_fails_alone(store: Store, tmp_path: Path) -> None:
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a-secret.jsonl", _lines("enc", 1))
        archive.writestr("b-open.jsonl", _lines("open", 2))
    raw = bytearray(zipped.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        first = raw.find(signature)  # the first member's headers: mark it encrypted
        raw[first + flags_at] |= 1
    zipped.write_bytes(bytes(raw))

    results = {f.path.name: f for f in ingest(store, [zipped]).files}

    assert results["export.zip!a-secret.jsonl"].status == "failed"
    assert "encrypted" in results["export.zip!a-secret.jsonl"].detail
    assert (
        results["export.zip!b-open.jsonl"].status,
        results["export.zip!b-open.jsonl"].records_new,
    ) == ("ingested", 2)


def _cut_zip(path: Path, members: dict[str, bytes], keep: float) -> bytes:
    """A zip of `members` cut inside the last one's compressed data (no central directory
    left, as when a download or a copy stops); what zlib gets out of the last one's part."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        last = archive.infolist()[-1]
    start = last.header_offset + 30 + len(last.filename.encode()) + len(last.extra)
    cut = start + int(last.compress_size * keep)
    path.write_bytes(raw[:cut])
    return zlib.decompressobj(-15).decompress(raw[start:cut])


def test_a_zip_cut_short_keeps_its_whole_members_and_the_cut_ones_start(
    store: Store, tmp_path: Path
) -> None:
    """Without its central directory (written last, so lost first) a zip was refused whole:
    its members are found by their local headers instead."""
    path = tmp_path / "export.zip"
    first, second = _lines("a", 300), _lines("b", 3000)
    kept = _cut_zip(path, {"a.jsonl": first, "b.jsonl": second}, 0.6)
    complete = kept.count(b"\n")
    assert 0 < complete < 3000

    results = {f.path.name: f for f in ingest(store, [path]).files}

    a, b = results["export.zip!a.jsonl"], results["export.zip!b.jsonl"]
    assert (a.status, a.records_new, a.quarantined) == ("ingested", 300, 0)
    assert (b.status, b.records_new) == ("ingested", complete)
    assert "no central directory" in a.detail
    assert store.query(
        "SELECT source_path, line, byte_offset, reason FROM quarantine ORDER BY line"
    ) == [
        (f"{path}!b.jsonl", 0, len(kept), "archive_truncated"),
        (f"{path}!b.jsonl", complete + 1, kept.rfind(b"\n") + 1, "invalid_json"),
    ]
    expected = [f"a-{n}" for n in range(300)] + [f"b-{n}" for n in range(complete)]
    assert sorted(_ids(store)) == sorted(expected)
    # evidence reads the members again the same way
    assert original_bytes(store, "a-299").data == first.splitlines()[299]
    assert original_bytes(store, "b-7").data == second.splitlines()[7]
    assert read_member(f"{path}!b.jsonl") == kept


def test_a_zip_cut_inside_its_central_directory_keeps_every_member(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.jsonl", _lines("a", 3))
        archive.writestr("b.jsonl", _lines("b", 4))
    path.write_bytes(path.read_bytes()[:-30])

    results = ingest(store, [path]).files

    assert sorted((f.path.name, f.status, f.records_new) for f in results) == [
        ("export.zip!a.jsonl", "ingested", 3),
        ("export.zip!b.jsonl", "ingested", 4),
    ]
    assert store.count("quarantine") == 0


def test_a_zip_streamed_with_data_descriptors_and_cut_is_read_from_local_headers(
    store: Store, tmp_path: Path
) -> None:
    """Members written to a stream carry their sizes after the data (a data descriptor)."""
    path = tmp_path / "export.zip"
    with path.open("wb") as raw, zipfile.ZipFile(_Unseekable(raw), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.jsonl", _lines("a", 5))
        z.writestr("b.jsonl", _lines("b", 6))
    data = path.read_bytes()
    path.write_bytes(data[: data.find(b"PK\x01\x02")])  # the central directory gone

    results = ingest(store, [path]).files

    assert sorted((f.path.name, f.status, f.records_new) for f in results) == [
        ("export.zip!a.jsonl", "ingested", 5),
        ("export.zip!b.jsonl", "ingested", 6),
    ]
    assert store.count("quarantine") == 0


class _Unseekable:
    """A write-only stream zipfile cannot seek in (it then writes data descriptors)."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def write(self, data: bytes) -> int:
        return int(self._out.write(data))

    def flush(self) -> None:
        self._out.flush()
