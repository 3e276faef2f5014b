"""Malformed soak (issue 8's acceptance): N records with 1% bad, every kind of malformation.

Run: python bench/soak.py [--records N] [--quick] [--keep]. Builds two input sets in a work
folder: MALFORMED (UAL JSON Lines, a gzip cut short, a zip cut short with no central directory,
a folder of JSON array content blobs (one cut short), a Purview CSV export and an Entra sign-ins
file; 1% of each file's records malformed, spread over every kind its layout can carry) and a
CLEAN control holding exactly the same good records. Each set is ingested with `mailhunt
ingest` in its own process into a new database. Checks, from the databases (never from the
figures printed): every injected bad record is quarantined where it was put (file, line, byte
offset) with the reason its kind must give, and nothing else is; per kind, quarantined ==
injected; every quarantine row has a reason and a place; the stored record ids are exactly the
good ids (none lost, none extra, none twice), in both sets; the malformed ingest's wall time
and peak RSS (its process's own high-water mark, VmHWM) within 1.5x of the clean one's. Where
a file's quarantine passed the per-file cap (Limits.quarantine) its rows are a sample: that file is
checked against its counted total (ingest_runs.records_quarantined) and the table says so.

Writes the 'Malformed soak' section of bench/RESULTS.md (other sections kept) and exits 1 when
a check fails.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import _mail_items_accessed
from results import replace_section

from mailhunt.sources.framing import MAX_RECORD_BYTES

HERE = Path(__file__).parent
SECTION = "## Malformed soak"
RATIO_LIMIT = 1.5
BAD_FRACTION = 100  # one record in this many is malformed
HEAD = 10  # the first records of every file are good (what sniffing samples)
OVERSIZED = MAX_RECORD_BYTES + 1  # the smallest record framing refuses as too large

Record = dict[str, Any]


# -- malformations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fields:
    """The id and time fields of a format's records."""

    id: str
    time: str


UAL = Fields("Id", "CreationTime")
SIGNIN = Fields("id", "createdDateTime")


def _dumps(record: object) -> bytes:
    return orjson.dumps(record)


def _without(record: Record, key: str) -> Record:
    return {k: v for k, v in record.items() if k != key}


def _latin1(record: Record) -> bytes:
    """The record with one character written in Latin-1: not UTF-8."""
    text = _dumps({**record, "_note": "JOS\u00c9"})
    return text.replace("JOS\u00c9".encode(), b"JOS\xc9")


def _deep(record: Record) -> bytes:
    return _dumps(record)[:-1] + b',"Extra":' + b"[" * 100 + b"]" * 100 + b"}"


# kind -> (reason the quarantine must give, the malformed record's bytes from a valid record).
# Every kind keeps brackets balanced (a JSON array's scanner must find the element's end).
JSON_KINDS: dict[str, tuple[str, Callable[[Record, Fields], bytes]]] = {
    "invalid_json": ("invalid_json", lambda r, f: _dumps(r).replace(b'":', b'" ', 1)),
    "garbage_text": (
        "invalid_json",
        lambda r, f: b"<Event><Id>" + str(r[f.id]).encode() + b"</Id>",
    ),
    "array_not_object": ("not_object", lambda r, f: _dumps([r])),
    "string_not_object": ("not_object", lambda r, f: _dumps(f"record {r[f.id]}")),
    "number_not_object": ("not_object", lambda r, f: b"12345"),
    "missing_id": ("missing_id", lambda r, f: _dumps(_without(r, f.id))),
    "empty_id": ("missing_id", lambda r, f: _dumps({**r, f.id: ""})),
    "missing_time": ("missing_time", lambda r, f: _dumps(_without(r, f.time))),
    "bad_time": ("bad_time", lambda r, f: _dumps({**r, f.time: "31/02/2024 25:61"})),
    "time_wrong_type": ("bad_time", lambda r, f: _dumps({**r, f.time: 1717200000})),
    "invalid_utf8": ("invalid_utf8", lambda r, f: _latin1(r)),
    "nesting_too_deep": ("nesting_too_deep", lambda r, f: _deep(r)),
}
# Only at the end of a JSON Lines file (it would unbalance an array): a line cut short.
CUT_LINE = ("invalid_json", lambda r, f: _dumps(r)[:-9])
OVERSIZED_KIND = (
    "record_too_large",
    lambda r, f: _dumps({**r, "Pad": "x" * OVERSIZED}),
)

PURVIEW_HEADER = [
    "RecordId",
    "CreationDate",
    "RecordType",
    "Operation",
    "UserId",
    "AuditData",
    "AssociatedAdminUnits",
    "AssociatedAdminUnitsNames",
]


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode()


def _purview_cells(record: Record, audit: str | None = None) -> list[str]:
    return [
        str(record.get("Id", "")),
        f"{record.get('CreationTime', '')}.0000000Z",
        "ExchangeItemAggregated",
        str(record.get("Operation", "")),
        str(record.get("UserId", "")),
        audit if audit is not None else _dumps(record).decode(),
        "",
        "",
    ]


def _purview_row(record: Record, audit: str | None = None) -> bytes:
    return _csv_line(_purview_cells(record, audit))


# CSV kinds: the record is JSON in AuditData, judged by that cell; or the row itself is bad.
CSV_KINDS: dict[str, tuple[str, Callable[[Record, Fields], bytes]]] = {
    "auditdata_invalid_json": (
        "invalid_json",
        lambda r, f: _purview_row(r, _dumps(r).decode().replace('":', '" ', 1)),
    ),
    "auditdata_not_object": ("not_object", lambda r, f: _purview_row(r, '"just text"')),
    "missing_id": ("missing_id", lambda r, f: _purview_row(r, _dumps(_without(r, "Id")).decode())),
    "missing_time": (
        "missing_time",
        lambda r, f: _purview_row(r, _dumps(_without(r, "CreationTime")).decode()),
    ),
    "bad_time": (
        "bad_time",
        lambda r, f: _purview_row(r, _dumps({**r, "CreationTime": "31/02/2024 25:61"}).decode()),
    ),
    "time_wrong_type": (
        "bad_time",
        lambda r, f: _purview_row(r, _dumps({**r, "CreationTime": 1717200000}).decode()),
    ),
    "invalid_utf8": (
        "invalid_utf8",
        lambda r, f: _purview_row(r).replace(b"Exchange", b"\xc9x", 1),
    ),
    "stray_quote": ("csv_quoting", lambda r, f: b'"' + _purview_row(r)),
    "extra_cell": ("csv_columns", lambda r, f: _purview_row(r) + b",extra"),
    "missing_cells": ("csv_columns", lambda r, f: _csv_line(_purview_cells(r)[:5])),
}
CSV_CUT_ROW = ("truncated_record", lambda r, f: _purview_row(r)[: len(_purview_row(r)) // 2])
CSV_OVERSIZED = (
    "record_too_large",
    lambda r, f: _purview_row(r, _dumps({**r, "Pad": "x" * OVERSIZED}).decode()),
)

# What a JSON array element may be (a line cut short would unbalance the array).
ARRAY_KINDS = JSON_KINDS


# -- good records -------------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


class Records:
    """Good records of one kind, deterministic from the seed."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind = kind
        self.fields = UAL if kind == "ual" else SIGNIN
        self._rng = random.Random(seed)
        self._tenants = [_uuid(self._rng) for _ in range(3)]
        self._users = [f"user{n}@contoso{n % 3}.onmicrosoft.com" for n in range(500)]
        self._start = datetime(2026, 6, 1, tzinfo=UTC)
        self._n = 0

    def next(self) -> Record:
        rng, n = self._rng, self._n
        self._n += 1
        user = rng.randrange(len(self._users))
        when = self._start + timedelta(seconds=n * 3)
        tenant = self._tenants[user % 3]
        if self.kind == "ual":
            return _mail_items_accessed(rng, when, tenant, self._users[user])
        return _signin(rng, when, tenant, self._users[user])


def _signin(rng: random.Random, when: datetime, tenant: str, user: str) -> Record:
    """An Entra ID sign-in as Graph's signIns API gives it (beta shape, abridged)."""
    return {
        "id": _uuid(rng),
        "createdDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userDisplayName": user.split("@")[0],
        "userPrincipalName": user,
        "userId": str(uuid.uuid5(uuid.NAMESPACE_DNS, user)),
        "appId": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "appDisplayName": "Microsoft Office",
        "ipAddress": f"198.51.100.{rng.randint(1, 254)}",
        "clientAppUsed": "Mobile Apps and Desktop clients",
        "correlationId": _uuid(rng),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": rng.random() < 0.3,
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "resourceTenantId": tenant,
        "homeTenantId": tenant,
        "sessionId": _uuid(rng),
        "uniqueTokenIdentifier": uuid.UUID(int=rng.getrandbits(128)).hex[:22],
        "tokenIssuerType": "AzureAD",
        "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge"},
        "location": {"city": "Seattle", "state": "Washington", "countryOrRegion": "US"},
    }


# -- the manifest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Injected:
    """One bad record as quarantine must show it."""

    source: str  # source_path as ingest names it (archive!member for a member)
    line: int
    offset: int
    reason: str
    kind: str


@dataclass
class Manifest:
    """What each set must give."""

    records: int = 0  # records written (the malformed set's, good and bad, lost ones too)
    good: set[str] = field(default_factory=set)  # record ids that must be stored
    injected: list[Injected] = field(default_factory=list)
    lost_after_cut: int = 0  # records of an archive past where it was cut: unreadable
    sources: dict[str, int] = field(default_factory=dict)  # file -> records written
    kinds: Counter[str] = field(default_factory=Counter)


@dataclass
class Content:
    """One file's records in order: (bytes, good id or None, kind, reason) each."""

    items: list[tuple[bytes, str | None, str, str]] = field(default_factory=list)

    def good(self, record: Record, fields: Fields) -> None:
        self.items.append((_dumps(record), str(record[fields.id]), "", ""))

    def bad(self, data: bytes, kind: str, reason: str) -> None:
        self.items.append((data, None, kind, reason))


def _plan(count: int, kinds: list[str], rng: random.Random) -> dict[int, str]:
    """Which positions of a file of `count` records are bad, and of which kind: 1%, spread
    at random past the head, kinds taken in turn so each is used about as often."""
    bad = count // BAD_FRACTION
    if count <= HEAD or not bad:
        return {}
    positions = sorted(rng.sample(range(HEAD, count), bad))
    order = (kinds * (bad // len(kinds) + 1))[:bad]  # each kind as often as the others, +-1
    rng.shuffle(order)
    return {p: order[n] for n, p in enumerate(positions)}


def _content(
    records: Records,
    count: int,
    kinds: dict[str, tuple[str, Callable[[Record, Fields], bytes]]],
    rng: random.Random,
    *,
    row: Callable[[Record], bytes] | None = None,
    extra: dict[int, tuple[str, tuple[str, Callable[[Record, Fields], bytes]]]] | None = None,
) -> Content:
    """`count` records, 1% of them malformed (`kinds` in turn); `extra` puts given kinds at
    given positions (an oversized record, a cut last row); `row` turns a good record into its
    bytes when they are not its JSON (a CSV row)."""
    plan = {p: (k, kinds[k]) for p, k in _plan(count, list(kinds), rng).items()}
    plan |= extra or {}
    content = Content()
    for position in range(count):
        record = records.next()
        if position in plan:
            kind, (reason, make) = plan[position]
            bad = {
                **record,
                records.fields.id: f"bad-{kind}-{position}-{record[records.fields.id]}",
            }
            content.bad(make(bad, records.fields), kind, reason)
        elif row is not None:
            content.items.append((row(record), str(record[records.fields.id]), "", ""))
        else:
            content.good(record, records.fields)
    return content


def _lines_bytes(content: Content, *, good_only: bool = False) -> bytes:
    return b"".join(data + b"\n" for data, good, _, _ in content.items if good or not good_only)


def _register_lines(
    manifest: Manifest, source: str, content: Content, *, first_line: int = 1, prefix: int = 0
) -> None:
    """Record the good ids and the injected records of a line-per-record file (JSON Lines, or
    CSV rows after `first_line - 1` header lines, `prefix` bytes of them)."""
    offset, line = prefix, first_line
    for data, good, kind, reason in content.items:
        if good:
            manifest.good.add(good)
        else:
            manifest.injected.append(Injected(source, line, offset, reason, kind))
            manifest.kinds[kind] += 1
        offset += len(data) + 1
        line += 1
    manifest.sources[source] = len(content.items)
    manifest.records += len(content.items)


# -- files --------------------------------------------------------------------------------------


def _shares(records: int) -> dict[str, int]:
    """How the records are shared among the files."""
    shares = {
        "ual": 0.42,
        "gz": 0.05,
        "zip_a": 0.04,
        "zip_b": 0.03,
        "blobs": 0.10,
        "purview": 0.20,
        "signins": 0.16,
    }
    counts = {name: int(records * share) for name, share in shares.items()}
    counts["ual"] += records - sum(counts.values())
    return counts


def build(
    root: Path, records: int, *, seed: int = 7, oversized: bool = True
) -> tuple[Path, Path, Manifest]:
    """Write the malformed set (`root/malformed`) and its clean control (`root/clean`);
    return both folders and what the malformed set must give."""
    bad_dir, clean_dir = root / "malformed", root / "clean"
    for folder in (bad_dir, clean_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts = _shares(records)
    manifest = Manifest()
    ual = Records("ual", seed)
    big = {HEAD + 1: ("oversized", OVERSIZED_KIND)} if oversized else {}

    # UAL JSON Lines: every JSON kind, one record too large, the last line cut short.
    content = _content(ual, counts["ual"], JSON_KINDS, rng, extra=big)
    content.items[-1] = (CUT_LINE[1](ual.next(), UAL), None, "cut_last_line", CUT_LINE[0])
    _write_lines(bad_dir / "ual.jsonl", clean_dir / "ual.jsonl", content, manifest)

    # Sign-ins, JSON Lines (Graph signIns): every JSON kind.
    signins = Records("signin", seed + 1)
    content = _content(signins, counts["signins"], JSON_KINDS, rng)
    _write_lines(bad_dir / "signins.jsonl", clean_dir / "signins.jsonl", content, manifest)

    _write_gzip_cut(bad_dir, clean_dir, _content(ual, counts["gz"], JSON_KINDS, rng), manifest)
    members = {
        "part-a.jsonl": _content(ual, counts["zip_a"], JSON_KINDS, rng),
        "part-b.jsonl": _content(ual, counts["zip_b"], JSON_KINDS, rng),
    }
    _write_zip_cut(bad_dir, clean_dir, members, manifest)
    shared = {"rng": rng, "manifest": manifest, "oversized": oversized}
    _write_blobs(bad_dir, clean_dir, ual, counts["blobs"], **shared)
    _write_purview(bad_dir, clean_dir, ual, counts["purview"], **shared)
    return bad_dir, clean_dir, manifest


def _source(path: Path) -> str:
    return str(path.resolve())


def _write_lines(bad: Path, clean: Path, content: Content, manifest: Manifest) -> None:
    bad.write_bytes(_lines_bytes(content))
    clean.write_bytes(_lines_bytes(content, good_only=True))
    _register_lines(manifest, _source(bad), content)


def _cut_point(readable: Callable[[int], bytes], start: int, content: Content) -> tuple[int, bytes]:
    """A cut of the compressed bytes at or before `start` whose readable prefix ends inside a
    good record's line (so the cut line is a plain invalid_json): (cut, prefix)."""
    cut = start
    while cut > 0:
        prefix = readable(cut)
        line = prefix.count(b"\n")
        if prefix and not prefix.endswith(b"\n") and content.items[line][1] is not None:
            return cut, prefix
        cut -= 997
    raise ValueError("no usable cut")


def _inflated(data: bytes, wbits: int) -> bytes:
    """What zlib gets out of a compressed stream cut short (all it can decode)."""
    decompressor = zlib.decompressobj(wbits=wbits)
    return decompressor.decompress(data)


def _register_cut(manifest: Manifest, source: str, content: Content, prefix: bytes) -> bytes:
    """Record a member cut short: the records wholly in `prefix` as written, the line the cut
    went through as invalid_json (or a good record if it is whole), the place it stopped as
    archive_truncated, the rest lost; return the clean control's bytes."""
    whole = prefix.count(b"\n")
    kept = Content(content.items[:whole])
    _register_lines(manifest, source, kept)
    partial = prefix[prefix.rfind(b"\n") + 1 :]
    cut_line = Injected(source, whole + 1, len(prefix) - len(partial), "invalid_json", "cut_line")
    manifest.injected.append(cut_line)
    manifest.kinds["cut_line"] += 1
    manifest.injected.append(Injected(source, 0, len(prefix), "archive_truncated", "archive_cut"))
    manifest.kinds["archive_cut"] += 1
    manifest.lost_after_cut += len(content.items) - whole - 1
    manifest.records += len(content.items) - whole
    manifest.sources[source] += len(content.items) - whole
    return _lines_bytes(kept, good_only=True)


def _write_gzip_cut(bad_dir: Path, clean_dir: Path, content: Content, manifest: Manifest) -> None:
    """JSON Lines in a gzip file cut at 80% of its compressed bytes."""
    data = gzip.compress(_lines_bytes(content), compresslevel=6, mtime=0)
    cut, prefix = _cut_point(lambda n: _inflated(data[:n], 31), len(data) * 4 // 5, content)
    path = bad_dir / "ual-cut.jsonl.gz"
    path.write_bytes(data[:cut])
    good = _register_cut(manifest, f"{_source(path)}!ual-cut.jsonl", content, prefix)
    (clean_dir / "ual-cut.jsonl.gz").write_bytes(gzip.compress(good, mtime=0))


def _write_zip_cut(
    bad_dir: Path, clean_dir: Path, members: dict[str, Content], manifest: Manifest
) -> None:
    """Two JSON Lines members in a zip file cut inside the second one's data: the central
    directory (written last) is gone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, _lines_bytes(content))
    data = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        last = archive.infolist()[-1]
    header = data[last.header_offset : last.header_offset + 30]
    start = last.header_offset + 30 + int.from_bytes(header[26:28], "little")
    start += int.from_bytes(header[28:30], "little")
    second = list(members.values())[-1]
    cut, prefix = _cut_point(
        lambda n: _inflated(data[start:n], -15), start + last.compress_size * 3 // 5, second
    )
    path = bad_dir / "export.zip"
    path.write_bytes(data[:cut])
    first, last_name = members
    _register_lines(manifest, f"{_source(path)}!{first}", members[first])
    clean_members = {
        first: _lines_bytes(members[first], good_only=True),
        last_name: _register_cut(manifest, f"{_source(path)}!{last_name}", second, prefix),
    }
    with zipfile.ZipFile(clean_dir / "export.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, member in clean_members.items():
            archive.writestr(name, member)


BLOB_RECORDS = 500


def _write_blobs(
    bad_dir: Path,
    clean_dir: Path,
    ual: Records,
    count: int,
    *,
    rng: random.Random,
    manifest: Manifest,
    oversized: bool,
) -> None:
    """Content blobs as the Management Activity API gives them: JSON arrays of up to 500
    records; bad elements of every kind; the last blob cut short inside an element; with
    `oversized`, a blob holding one element too large."""
    big = {HEAD + 2: ("oversized", OVERSIZED_KIND)} if oversized else {}
    content = _content(ual, count, ARRAY_KINDS, rng, extra=big)
    folder, clean_folder = bad_dir / "blobs", clean_dir / "blobs"
    folder.mkdir()
    clean_folder.mkdir()
    chunks = [
        content.items[n : n + BLOB_RECORDS] for n in range(0, len(content.items), BLOB_RECORDS)
    ]
    for number, items in enumerate(chunks):
        name = f"blob-{number:05d}.json"
        cut = number == len(chunks) - 1 and len(items) > HEAD
        if cut:  # a good record, cut short below
            items[-1] = (_dumps(ual.next()), None, "cut_blob", "truncated_record")
        _write_blob(folder / name, clean_folder / name, items, manifest, cut=cut)


def _write_blob(
    path: Path,
    clean: Path,
    items: list[tuple[bytes, str | None, str, str]],
    manifest: Manifest,
    *,
    cut: bool,
) -> None:
    source = _source(path)
    data, good_elements, offset = bytearray(b"["), [], 1
    for number, (whole, good, kind, reason) in enumerate(items, start=1):
        if number > 1:
            data += b","
            offset += 1
        cut_here = cut and number == len(items)  # the blob ends inside its last element
        element = whole[: len(whole) // 2] if cut_here else whole
        if good:
            manifest.good.add(good)
            good_elements.append(element)
        else:
            manifest.injected.append(Injected(source, number, offset, reason, kind))
            manifest.kinds[kind] += 1
        data += element
        offset += len(element)
    if not cut:
        data += b"]"
    path.write_bytes(bytes(data))
    clean.write_bytes(b"[" + b",".join(good_elements) + b"]")
    manifest.sources[source] = len(items)
    manifest.records += len(items)


def _write_purview(
    bad_dir: Path,
    clean_dir: Path,
    ual: Records,
    count: int,
    *,
    rng: random.Random,
    manifest: Manifest,
    oversized: bool,
) -> None:
    """A Purview audit search CSV export (CRLF rows): bad rows of every kind, one too large,
    the last row cut short (the export was interrupted)."""
    extra = {count - 1: ("cut_last_row", CSV_CUT_ROW)}
    if oversized:
        extra[HEAD + 3] = ("oversized", CSV_OVERSIZED)
    content = _content(ual, count, CSV_KINDS, rng, row=_purview_row, extra=extra)
    header = _csv_line(PURVIEW_HEADER)
    path = bad_dir / "purview.csv"
    rows = [data for data, _, _, _ in content.items]
    path.write_bytes(header + b"\r\n" + b"\r\n".join(rows))  # no newline after the cut row
    good_rows = [data for data, good, _, _ in content.items if good]
    (clean_dir / "purview.csv").write_bytes(header + b"\r\n" + b"\r\n".join(good_rows) + b"\r\n")
    # offsets with CRLF rows: one more byte per row than _register_lines counts
    source = _source(path)
    offset, line = len(header) + 2, 2
    for data, good, kind, reason in content.items:
        if good:
            manifest.good.add(good)
        else:
            manifest.injected.append(Injected(source, line, offset, reason, kind))
            manifest.kinds[kind] += 1
        offset += len(data) + 2
        line += 1
    manifest.sources[source] = len(content.items)
    manifest.records += len(content.items)


# -- running and checking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One `mailhunt ingest` in its own process."""

    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    exit_code: int
    stderr: str


# The ingest as `python -m mailhunt.cli` runs it, then its own peak RSS (VmHWM: the high-water
# mark of this process's memory since its exec) written to the file named first. getrusage's
# ru_maxrss (RUSAGE_CHILDREN, or wait4's) is no use here: Linux carries into it the high-water
# mark of the memory the child was forked (vfork) from, i.e. this script's own peak.
_LAUNCH = """
import sys
from mailhunt.cli import main
code = main(sys.argv[2:])
with open("/proc/self/status") as status, open(sys.argv[1], "w") as out:
    out.write(next((line.split()[1] for line in status if line.startswith("VmHWM:")), ""))
sys.exit(code)
"""


def ingest_cli(inputs: list[Path], database: Path) -> Run:
    """`mailhunt ingest` of the inputs into a new database in its own process: its wall time,
    its peak RSS (its own VmHWM, see _LAUNCH) and CPU time (wait4)."""
    with tempfile.TemporaryDirectory() as scratch:
        peak, errors = Path(scratch) / "peak", Path(scratch) / "stderr"
        command = [sys.executable, "-c", _LAUNCH, str(peak), "ingest", *map(str, inputs)]
        start = time.perf_counter()
        with errors.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, "--db", str(database)], stdout=subprocess.DEVNULL, stderr=stderr
            )
            _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = peak.read_text() if peak.exists() else ""
        return Run(
            seconds,
            int(peak_kib) / 1024 if peak_kib else float("nan"),
            usage.ru_utime + usage.ru_stime,
            process.returncode,
            errors.read_text("utf-8", "replace"),
        )


@dataclass
class Outcome:
    """What the checks found; `failures` empty when all held."""

    failures: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    kinds: list[tuple[str, str, int, int, str]] = field(default_factory=list)

    def require(self, holds: bool, what: str) -> None:
        if not holds:
            self.failures.append(what)


def _query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def stored_ids(database: Path) -> list[str]:
    return [
        i
        for (i,) in _query(
            database, "SELECT record_id FROM events UNION ALL SELECT record_id FROM signins"
        )
    ]


def check_malformed(database: Path, manifest: Manifest, outcome: Outcome) -> None:
    """The malformed set's database against its manifest (see the module's docstring)."""
    rows = _query(
        database,
        "SELECT source_path, line, byte_offset, reason, detail FROM quarantine",
    )
    runs = {
        path: (int(quarantined or 0), status)
        for path, quarantined, status in _query(
            database, "SELECT source_path, records_quarantined, status FROM ingest_runs"
        )
    }
    capped = {path for path, _, _, reason, _ in rows if reason == "quarantine_cap"}
    injected_by_source = Counter(i.source for i in manifest.injected)
    for source in sorted(set(injected_by_source) | set(runs)):
        got, status = runs.get(source, (0, "missing"))
        outcome.require(status == "ingested", f"{source}: status {status}, not ingested")
        outcome.require(
            got == injected_by_source[source],
            f"{source}: {got} quarantined (ingest_runs), {injected_by_source[source]} injected",
        )
    nameless = [r for r in rows if not r[3] or not r[4] or r[2] is None or r[1] is None]
    outcome.require(not nameless, f"{len(nameless)} quarantine rows without reason or place")
    got = Counter((r[0], r[1], r[2], r[3]) for r in rows if r[0] not in capped)
    want = Counter(
        (i.source, i.line, i.offset, i.reason) for i in manifest.injected if i.source not in capped
    )
    missing, unexpected = want - got, got - want
    outcome.require(
        not missing, f"{sum(missing.values())} injected not quarantined: {list(missing)[:3]}"
    )
    outcome.require(
        not unexpected,
        f"{sum(unexpected.values())} quarantined not injected: {list(unexpected)[:3]}",
    )
    _kind_table(manifest, got, capped, outcome)
    ids = stored_ids(database)
    outcome.require(len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} ids stored twice")
    lost, extra = manifest.good - set(ids), set(ids) - manifest.good
    outcome.require(not lost, f"{len(lost)} good records lost: {sorted(lost)[:3]}")
    outcome.require(
        not extra, f"{len(extra)} records stored that are not good: {sorted(extra)[:3]}"
    )
    outcome.figures |= {
        "good_stored": len(set(ids) & manifest.good),
        "good_lost": len(lost),
        "quarantine_rows": len(rows),
        "quarantined_counted": sum(q for q, _ in runs.values()),
        "capped_files": len(capped),
    }


def _kind_table(
    manifest: Manifest, got: Counter[tuple[Any, ...]], capped: set[str], outcome: Outcome
) -> None:
    """Per kind: injected against quarantined at the injected places with the kind's reason
    (files past the cap: counted in ingest_runs, not per kind; said in the table)."""
    for kind in sorted(manifest.kinds):
        mine = [i for i in manifest.injected if i.kind == kind]
        uncapped = [i for i in mine if i.source not in capped]
        found = sum(1 for i in uncapped if got[(i.source, i.line, i.offset, i.reason)] > 0)
        how = "rows" if len(uncapped) == len(mine) else f"rows ({len(mine) - len(uncapped)} capped)"
        outcome.kinds.append((kind, mine[0].reason, len(uncapped), found, how))
        outcome.require(found == len(uncapped), f"kind {kind}: {found} of {len(uncapped)} found")


def check_clean(database: Path, manifest: Manifest, outcome: Outcome) -> None:
    ids = stored_ids(database)
    quarantined = _query(database, "SELECT count(*) FROM quarantine")[0][0]
    outcome.require(set(ids) == manifest.good, "clean control: stored ids are not the good ids")
    outcome.require(len(ids) == len(set(ids)), "clean control: ids stored twice")
    outcome.require(quarantined == 0, f"clean control: {quarantined} quarantined")


def soak(
    root: Path, records: int, *, seed: int = 7, oversized: bool = True, reuse: bool = False
) -> Outcome:
    """Build both sets under `root` (or, with `reuse`, take those built there before),
    ingest each into a new database, check."""
    outcome = Outcome()
    start = time.perf_counter()
    kept = root / "manifest.pickle"
    if reuse:
        bad_dir, clean_dir = root / "malformed", root / "clean"
        manifest = pickle.loads(kept.read_bytes())  # noqa: S301 (written by this script)
        for database in root.glob("*.duckdb*"):
            database.unlink()
    else:
        bad_dir, clean_dir, manifest = build(root, records, seed=seed, oversized=oversized)
        kept.write_bytes(pickle.dumps(manifest))
    built = time.perf_counter() - start
    inputs = sorted(bad_dir.iterdir())
    clean = ingest_cli(sorted(clean_dir.iterdir()), root / "clean.duckdb")
    bad = ingest_cli(inputs, root / "malformed.duckdb")
    outcome.require(clean.exit_code == 0, f"clean ingest exit {clean.exit_code}: {clean.stderr}")
    outcome.require(bad.exit_code == 1, f"malformed ingest exit {bad.exit_code}: {bad.stderr}")
    outcome.require("Traceback" not in bad.stderr + clean.stderr, "a traceback was printed")
    if clean.exit_code == 0:
        check_clean(root / "clean.duckdb", manifest, outcome)
    if bad.exit_code in (0, 1):
        check_malformed(root / "malformed.duckdb", manifest, outcome)
    time_ratio = bad.seconds / clean.seconds
    rss_ratio = bad.peak_rss_mb / clean.peak_rss_mb
    outcome.require(time_ratio <= RATIO_LIMIT, f"time {time_ratio:.2f}x the clean ingest")
    outcome.require(rss_ratio <= RATIO_LIMIT, f"peak RSS {rss_ratio:.2f}x the clean ingest")
    size = sum(p.stat().st_size for p in bad_dir.rglob("*") if p.is_file())
    outcome.figures = {
        "records_written": manifest.records,
        "good_records": len(manifest.good),
        "injected_bad": len(manifest.injected),
        "bad_share": round(len(manifest.injected) / manifest.records, 4),
        "lost_after_archive_cuts": manifest.lost_after_cut,
        "files": len(manifest.sources),
        "malformed_mb": round(size / 1e6, 1),
        "build_s": f"reused ({built:.1f} s to load)" if reuse else round(built, 1),
        "clean_ingest_s": round(clean.seconds, 2),
        "malformed_ingest_s": round(bad.seconds, 2),
        "time_ratio": round(time_ratio, 3),
        "clean_peak_rss_mb": round(clean.peak_rss_mb),
        "malformed_peak_rss_mb": round(bad.peak_rss_mb),
        "rss_ratio": round(rss_ratio, 3),
        "clean_cpu_s": round(clean.cpu_seconds, 2),
        "malformed_cpu_s": round(bad.cpu_seconds, 2),
        "exit_codes": f"clean {clean.exit_code}, malformed {bad.exit_code}",
        **outcome.figures,
    }
    return outcome


# -- results ------------------------------------------------------------------------------------


def section(outcome: Outcome, args: argparse.Namespace) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    verdict = "**PASS**" if not outcome.failures else "**FAIL**"
    lines = [
        SECTION,
        "",
        f"`python bench/soak.py --records {args.records}"
        + (" --reuse DIR" if args.reuse else "")
        + f"`, {now}, {_machine()}. Issue 8's "
        "acceptance: 1% bad records of every kind the readers handle, spread over UAL JSON "
        "Lines, a gzip cut short, a zip cut short (no central directory), JSON array content "
        "blobs (one cut short), a Purview CSV (last row cut) and an Entra sign-ins file; "
        "each set ingested by `mailhunt ingest` in its own process into a new database, the "
        "clean control holding the same good records. Checked from the databases: every "
        "injected record quarantined at its file, line and byte offset with its kind's "
        "reason and nothing else quarantined; stored ids == good ids; time and peak RSS "
        f"(the ingest process's own VmHWM) within {RATIO_LIMIT}x of the clean ingest. "
        f"Verdict: {verdict}.",
        "",
        "| figure | value |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in outcome.figures.items()),
        "",
        "| kind | reason | injected | quarantined there | counted from |",
        "| --- | --- | ---: | ---: | --- |",
        *(f"| {k} | {r} | {i} | {f} | {h} |" for k, r, i, f, h in outcome.kinds),
    ]
    if outcome.failures:
        lines += ["", "Failures:", "", *(f"- {f}" for f in outcome.failures)]
    return "\n".join(lines) + "\n"


def _machine() -> str:
    load = os.getloadavg()[1]  # other jobs on the machine stretch wall times (CPU is given)
    return (
        f"nproc {os.cpu_count()}, load average {load:.1f} (5 min), Python "
        f"{sys.version.split()[0]}, DuckDB {duckdb.__version__}"
    )


def write_section(text: str, path: Path = HERE / "RESULTS.md") -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text, path)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Exits 1 when a check fails (each is printed).",
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="records written in all")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20,000 records")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--work", type=Path, default=None, help="where to build (a new folder)")
    parser.add_argument(
        "--reuse", type=Path, default=None, help="ingest the sets a --keep run left in this folder"
    )
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _argument_parser().parse_args(argv)
    if args.quick:
        args.records = 20_000
    root = args.reuse or Path(tempfile.mkdtemp(prefix="mailhunt-soak-", dir=args.work))
    try:
        outcome = soak(root, args.records, seed=args.seed, reuse=args.reuse is not None)
    finally:
        if args.keep or args.reuse:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    text = section(outcome, args)
    print(text)
    if not args.no_results:
        write_section(text)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
