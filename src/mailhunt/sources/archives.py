"""Inputs inside gzip and zip files (and UTF-16 files, re-encoded): expanded into the work
folder, named `archive!member`.

Each member becomes its own input with its own format, spans and SHA-256 (of the member's
bytes). Its provenance names the archive and the member, so evidence can be re-read from the
archive later (see investigate/evidence.py); `read_member` reads it again exactly as `expand`
did, cut where `expand` stopped, so the SHA-256 still matches.

What an archive does never costs the rest of it:

- A member is read as a stream; where it stops being readable (a gzip file cut short, corrupt
  compressed data, a zip member failing its CRC) the bytes before are kept and ingested, and the
  member's `Stop` says why and where (the run quarantines that place and notes it).
- Decompression is limited (`Limits`): a member past MAX_RATIO times its compressed size (once
  over RATIO_FROM_BYTES), or an archive whose members together pass MAX_EXPANDED_BYTES, stops
  there (reason `decompression_limit`): a 9 MB gzip bomb no longer fills the disk.
- Zip members are extracted each to a folder of its own: two members of one name stay apart
  (the second goes by `NAME (copy 2)` in provenance), and a name with `..` or an absolute path
  is extracted under a safe name, with a note. Encrypted members or unsupported compression
  methods are reported, not raised.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Windows PowerShell 5.1's Out-File and `>` write these
UTF8_MEMBER = "(as UTF-8)"  # the member name of a UTF-16 file re-encoded
SEPARATOR = "!"

# Decompression limits. A member may reach MAX_RATIO times its compressed size once it is past
# RATIO_FROM_BYTES (JSON and CSV audit logs compress 5-30x with gzip; a deflate bomb ~1000x);
# the members of one archive together at most MAX_EXPANDED_BYTES (a 10M-record UAL export is
# about 16 GB). Past either, the member stops there with reason `decompression_limit`.
MAX_RATIO = 100
RATIO_FROM_BYTES = 64 * 1024 * 1024
MAX_EXPANDED_BYTES = 32 * 1024**3

_IN_PIECE = 64 * 1024  # compressed bytes fed to the decompressor at a time
_OUT_PIECE = 1024 * 1024  # decompressed bytes taken at a time (a bomb never fills memory)
_STEP = 512  # compressed bytes fed at a time to find where corrupt data starts

# Quarantined records judged and kept per file (sources/quarantine.py); past it, counted only.
QUARANTINE_KEEP = 10_000

STOP_REASONS = {
    "archive_truncated": "the archive ends inside this member (cut short)",
    "archive_corrupt": "the member's compressed data is corrupt from here",
    "decompression_limit": "decompression stopped at the limit",
}


@dataclass(frozen=True)
class Limits:
    """How far an archive may expand (see the module's docstring), and how many quarantined
    records of one file are judged and kept (past it, counted: sources/quarantine.py)."""

    ratio: int = MAX_RATIO
    ratio_from: int = RATIO_FROM_BYTES
    total: int = MAX_EXPANDED_BYTES
    quarantine: int = QUARANTINE_KEEP


@dataclass(frozen=True)
class Stop:
    """Where a member stopped being readable: its first `offset` bytes were kept."""

    reason: str  # a key of STOP_REASONS
    detail: str
    offset: int


@dataclass(frozen=True)
class InputFile:
    """A file to ingest: where its bytes are now, the name provenance gives it, what a reader
    of the result should know about it, and where it stopped being readable (if it did)."""

    physical: Path
    display: str
    note: str = ""
    stop: Stop | None = None


class ArchiveError(ValueError):
    """An archive that cannot be read at all (corrupt or cut before its first byte of data)."""


class _Unreadable(Exception):
    """Raised by a member's stream where it stops being readable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def expand(path: Path, work: Path, limits: Limits | None = None) -> list[InputFile]:
    """The inputs a file stands for: itself, or the members of the archive it is."""
    limits = limits or Limits()
    with path.open("rb") as stream:
        magic = stream.read(4)
    try:
        if magic.startswith(GZIP_MAGIC):
            return [_gunzip(path, work, limits)]
        if magic == ZIP_MAGIC:
            return _unzip(path, work, limits)
        if magic[:2] in UTF16_BOMS:
            return [_as_utf8(path, work)]
    except (OSError, EOFError, zipfile.BadZipFile, UnicodeError) as error:
        raise ArchiveError(f"cannot read archive {path.name}: {error}") from None
    return [InputFile(path, str(path))]


# -- streams ----------------------------------------------------------------------------------


def _gzip_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The decompressed bytes of every member of a gzip stream (zero padding between members
    allowed, as gzip allows it); `_Unreadable` where the stream stops being readable."""
    pending = b""
    while True:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while not decompressor.eof:
            data = decompressor.unconsumed_tail or pending or stream.read(_IN_PIECE)
            pending = b""
            if not data:
                raise _Unreadable("archive_truncated", "the gzip stream ends before its end")
            before = decompressor.copy()
            try:
                chunk = decompressor.decompress(data, _OUT_PIECE)
            except zlib.error as error:
                yield from _until_error(before, data)
                raise _Unreadable("archive_corrupt", f"corrupt gzip data ({error})") from None
            if chunk:
                yield chunk
        pending = decompressor.unused_data.lstrip(b"\0")
        while not pending:
            more = stream.read(_IN_PIECE)
            if not more:
                return
            pending = more.lstrip(b"\0")


def _until_error(decompressor: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """The output of `data` up to where it stops being valid: zlib drops the output of a call
    that fails (a whole piece, or a whole small file failing its CRC at the end), so the
    piece is fed again in small steps from the state before it."""
    for start in range(0, len(data), _STEP):
        try:
            chunk = decompressor.decompress(data[start : start + _STEP])
        except zlib.error:
            return
        if chunk:
            yield chunk


def _zip_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A zip member's bytes; `_Unreadable` where they stop (cut, corrupt) or when the member
    cannot be opened at all (encrypted, unsupported compression). The CRC is checked here,
    after the last byte: zipfile's own check raises with the last chunk unreturned, losing it
    (the whole of a small member)."""
    try:
        with archive.open(info) as source:
            if hasattr(source, "_expected_crc"):
                source._expected_crc = None  # checked below instead
            crc = 0
            while chunk := source.read(_IN_PIECE):
                crc = zlib.crc32(chunk, crc)
                yield chunk
        if crc != info.CRC:
            raise _Unreadable("archive_corrupt", "zip member fails its CRC check (corrupt)")
    except (EOFError, zipfile.BadZipFile, zlib.error) as error:
        reason = "archive_truncated" if isinstance(error, EOFError) else "archive_corrupt"
        raise _Unreadable(reason, f"zip member unreadable from here ({error})") from None
    except (RuntimeError, NotImplementedError) as error:  # encrypted, unknown method
        raise _Unreadable("archive_corrupt", f"zip member cannot be read ({error})") from None


class _Budget:
    """The decompression limits of one archive, as its members are written."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def exceeded(self, written: int, compressed: int) -> str | None:
        """Why a member with `written` bytes out of `compressed` must stop, if it must."""
        limits = self.limits
        if self.total > limits.total:
            return f"the archive expanded past {limits.total} bytes"
        if written > limits.ratio_from and written > limits.ratio * max(compressed, 1):
            return f"the member expanded past {limits.ratio} times its compressed size"
        return None


def _drain(
    chunks: Iterator[bytes], out: BinaryIO, budget: _Budget, compressed: Callable[[], int]
) -> Stop | None:
    """Write the chunks to `out` until they end, stop being readable or pass the limits;
    `compressed` tells how many compressed bytes they came from so far."""
    written = 0
    try:
        for chunk in chunks:
            out.write(chunk)
            written += len(chunk)
            budget.total += len(chunk)
            if why := budget.exceeded(written, compressed()):
                return Stop("decompression_limit", f"{why}; stopped after {written} bytes", written)
    except _Unreadable as error:
        return Stop(error.reason, f"{error.detail}; {written} bytes read before", written)
    return None


# -- gzip -------------------------------------------------------------------------------------


def _gunzip(path: Path, work: Path, limits: Limits) -> InputFile:
    member = path.name[:-3] if path.name.endswith(".gz") else path.name + ".out"
    target = _fresh(work, path) / member
    with path.open("rb") as source, target.open("wb") as out:
        stop = _drain(_gzip_chunks(source), out, _Budget(limits), source.tell)
    if stop is not None and stop.offset == 0:
        raise ArchiveError(f"cannot read archive {path.name}: {stop.detail}")
    _keep_time(target, _gzip_time(path) or path.stat().st_mtime)
    return InputFile(target, f"{path}{SEPARATOR}{member}", stop=stop)


def _gzip_time(path: Path) -> float:
    """The member's own time, from the gzip header (0 when absent or unreadable)."""
    try:
        with gzip.open(path, "rb") as source:
            source.read(1)
            return float(source.mtime or 0)
    except (OSError, EOFError, zlib.error):
        return 0.0


# -- UTF-16 -----------------------------------------------------------------------------------


def _as_utf8(path: Path, work: Path) -> InputFile:
    """A UTF-16 file re-encoded as UTF-8 (every reader and offset works on UTF-8)."""
    target = _fresh(work, path) / path.name
    target.write_bytes(_utf8_of(path.read_bytes()))
    _keep_time(target, path.stat().st_mtime)
    return InputFile(target, f"{path}{SEPARATOR}{UTF8_MEMBER}")


def _utf8_of(data: bytes) -> bytes:
    return data.decode("utf-16").encode("utf-8")


# -- zip --------------------------------------------------------------------------------------


def member_names(infos: list[zipfile.ZipInfo]) -> list[str]:
    """The name each member goes by in provenance, in the archive's order: its own, except a
    second (third...) member of the same name, `NAME (copy N)` (N chosen so that no member of
    the archive has that name already)."""
    taken = {info.filename for info in infos}
    seen: Counter[str] = Counter()
    names = []
    for info in infos:
        name = info.filename
        seen[name] += 1
        if seen[name] > 1:
            copy = seen[name]
            while f"{name} (copy {copy})" in taken:
                copy += 1
            name = f"{name} (copy {copy})"
            taken.add(name)
        names.append(name)
    return names


def safe_name(name: str) -> tuple[str, bool]:
    """A member's name as a relative path with no `..`, root, drive or empty part, and whether
    the name was unsafe (absolute, on a drive, or climbing out with `..`)."""
    given = name.replace("\\", "/").split("/")
    parts = [p for p in given if p not in ("", ".", "..")]
    drive = bool(parts) and len(parts[0]) == 2 and parts[0][1] == ":"  # "C:"
    unsafe = drive or given[0] == "" or ".." in given
    return "/".join(parts[drive:]) or "member", unsafe


def _unzip(path: Path, work: Path, limits: Limits) -> list[InputFile]:
    folder = _fresh(work, path)
    budget = _Budget(limits)
    inputs = []
    with _ZipMembers(path) as archive:
        named = sorted(zip(member_names(archive.infos), archive.infos, strict=True), key=_by_name)
        for index, (display, info) in enumerate(named):
            safe, unsafe = safe_name(info.filename)
            target = folder / str(index) / _work_name(PurePosixPath(safe).name)
            target.parent.mkdir()
            with target.open("wb") as out:
                stop = _drain(archive.chunks(info), out, budget, _size_of(info))
            _keep_time(target, _zip_time(info) or path.stat().st_mtime)
            notes = [archive.note]
            notes += [f"unsafe member name (absolute or with ..), read as {safe}"] * unsafe
            note = "; ".join(n for n in notes if n)
            inputs.append(InputFile(target, f"{path}{SEPARATOR}{display}", note, stop))
    return inputs


def _by_name(member: tuple[str, zipfile.ZipInfo]) -> str:
    return member[1].filename


class _ZipMembers:
    """A zip file's members and their bytes: from its central directory, or, when it has none
    (a zip cut short loses it: the directory is written last), from the local header each
    member's data follows, scanned from the start (`local_members`)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._zip: zipfile.ZipFile | None = None
        self._local: dict[int, _LocalMember] = {}
        self.note = ""
        try:
            self._zip = zipfile.ZipFile(path)
            self.infos = [info for info in self._zip.infolist() if not info.is_dir()]
        except zipfile.BadZipFile as error:
            local = [m for m in local_members(path) if not m.info.is_dir()]
            if not local:
                raise
            self._local = {id(m.info): m for m in local}
            self.infos = [m.info for m in local]
            self.note = (
                f"no central directory ({error}): members read from their local headers, "
                "the archive is likely cut short"
            )

    def __enter__(self) -> _ZipMembers:
        return self

    def __exit__(self, *_: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        if self._zip is not None:
            return _zip_chunks(self._zip, info)
        return _local_chunks(self._path, self._local[id(info)])


# -- zip without its central directory ------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR_MAGIC = b"PK\x07\x08"
_ENCRYPTED, _HAS_DESCRIPTOR, _UTF8_NAME = 0x1, 0x8, 0x800


@dataclass(frozen=True)
class _LocalMember:
    """A member found by its local header: its entry, where its data starts, and how many
    compressed bytes it has (None: unknown, sizes in a data descriptor after the data)."""

    info: zipfile.ZipInfo
    data_offset: int
    compressed: int | None


def local_members(path: Path) -> list[_LocalMember]:
    """The members of a zip file from their local headers, in file order, up to the first
    header that is not one (the central directory) or cannot be read whole (the cut)."""
    members: list[_LocalMember] = []
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        position = 0
        while position + _LOCAL_HEADER.size <= size:
            stream.seek(position)
            fields = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
            magic, _, flags, method, mtime, mdate, crc, csize, usize, name_length, extra_length = (
                fields
            )
            if magic != ZIP_MAGIC:
                break
            raw_name, extra = stream.read(name_length), stream.read(extra_length)
            if len(raw_name) < name_length or len(extra) < extra_length:
                break
            name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437", "replace")
            date = ((mdate >> 9) + 1980, (mdate >> 5) & 15, mdate & 31)
            info = zipfile.ZipInfo(name, (*date, mtime >> 11, (mtime >> 5) & 63, (mtime & 31) * 2))
            if not info.filename:  # no name (zipfile cuts it at a NUL): not a member header
                break
            info.flag_bits, info.compress_type, info.CRC = flags, method, crc
            info.compress_size, info.file_size = _zip64_sizes(csize, usize, extra)
            data = position + _LOCAL_HEADER.size + name_length + extra_length
            known = None if flags & _HAS_DESCRIPTOR else info.compress_size
            members.append(_LocalMember(info, data, known))
            end = data + known if known is not None else _descriptor_end(stream, members[-1])
            if end is None:
                break
            position = end
    return members


def _zip64_sizes(csize: int, usize: int, extra: bytes) -> tuple[int, int]:
    """(compressed, uncompressed) size: the header's, or its zip64 extra field's."""
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        if kind == 1:
            body = extra[4 : 4 + length][:16]
            values = list(struct.unpack(f"<{len(body) // 8}Q", body[: len(body) // 8 * 8]))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            break
        extra = extra[4 + length :]
    return csize, usize


def _descriptor_end(stream: BinaryIO, member: _LocalMember) -> int | None:
    """Where a member whose sizes follow its data ends (its deflate stream decompressed to
    find the end, then its data descriptor read: CRC and sizes); None when it cannot tell
    (stored data, or a stream that does not end)."""
    info = member.info
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return None
    stream.seek(member.data_offset)
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    fed = 0
    try:
        while not decompressor.eof and (data := stream.read(_IN_PIECE)):
            fed += len(data)
            while data and not decompressor.eof:
                decompressor.decompress(data, _OUT_PIECE)
                data = decompressor.unconsumed_tail
    except zlib.error:
        return None
    if not decompressor.eof:
        return None
    end = member.data_offset + fed - len(decompressor.unused_data)
    stream.seek(end)
    descriptor = stream.read(24)
    start = 4 if descriptor.startswith(_DESCRIPTOR_MAGIC) else 0
    if len(descriptor) < start + 12:
        return None
    info.CRC, info.compress_size, info.file_size = struct.unpack(
        "<III", descriptor[start : start + 12]
    )
    return end + start + 12


def _local_chunks(path: Path, member: _LocalMember) -> Iterator[bytes]:
    """A member's bytes read from its local header on (see `_zip_chunks`): `_Unreadable`
    where the file ends before the member does, or its data is corrupt."""
    info = member.info
    if info.flag_bits & _ENCRYPTED or info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        raise _Unreadable("archive_corrupt", "zip member cannot be read (encrypted or method)")
    deflated = info.compress_type == zipfile.ZIP_DEFLATED
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    left = member.compressed if member.compressed is not None else info.compress_size
    crc = 0
    with path.open("rb") as stream:
        stream.seek(member.data_offset)
        while not (deflated and decompressor.eof) and left > 0:
            data = stream.read(min(_IN_PIECE, left))
            if not data:
                raise _Unreadable("archive_truncated", "the zip file ends inside this member")
            left -= len(data)
            while data:
                try:
                    chunk = decompressor.decompress(data, _OUT_PIECE) if deflated else data
                except zlib.error as error:
                    raise _Unreadable("archive_corrupt", f"corrupt zip data ({error})") from None
                data = decompressor.unconsumed_tail if deflated else b""
                crc = zlib.crc32(chunk, crc)
                if chunk:
                    yield chunk
    if deflated and not decompressor.eof:
        raise _Unreadable("archive_truncated", "the zip file ends inside this member")
    if crc != info.CRC:
        raise _Unreadable("archive_corrupt", "zip member fails its CRC check (corrupt)")


WORK_NAME_BYTES = 200  # a work copy's name, under every file system's limit (255 bytes)


def _work_name(name: str) -> str:
    """The name of a member's work copy: its own, or (too long for a file name) `member` and
    its suffix; provenance keeps the member's whole name."""
    if len(os.fsencode(name)) <= WORK_NAME_BYTES:
        return name
    suffix = PurePosixPath(name).suffix
    return "member" + (suffix if len(suffix) <= 16 else "")


def _size_of(info: zipfile.ZipInfo) -> Callable[[], int]:
    return lambda: info.compress_size


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
    return Path(tempfile.mkdtemp(prefix=f"{path.name[:80]}-", dir=work))


# -- evidence ---------------------------------------------------------------------------------


def split_member(display: str) -> tuple[Path, str] | None:
    """The archive and the member of `archive!member`, or None when no part of it before a
    `!` is an archive (or something other than a file or folder). A path or a member name may
    hold `!` itself: the split is the first from the left whose archive part is a regular file
    starting as an archive (gzip, zip, UTF-16), or is neither a file nor a folder."""
    parts = display.split(SEPARATOR)
    for cut in range(1, len(parts)):
        archive = Path(SEPARATOR.join(parts[:cut]))
        try:
            mode = archive.stat().st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):  # a FIFO or a device in the archive's place: the caller
            return archive, SEPARATOR.join(parts[cut:])  # refuses it (never opened here)
        try:
            with archive.open("rb") as stream:
                magic = stream.read(4)
        except OSError:
            continue
        if magic.startswith((GZIP_MAGIC, ZIP_MAGIC, *UTF16_BOMS)):
            return archive, SEPARATOR.join(parts[cut:])
    return None


def read_member(display: str, limits: Limits | None = None) -> bytes:
    """The bytes of `archive!member` (for evidence retrieval), read as `expand` read them: a
    member that stopped being readable gives the bytes before the stop."""
    found = split_member(display)
    if found is None:
        raise FileNotFoundError(f"no archive in {display}")
    path, member = found
    if member == UTF8_MEMBER:
        return _utf8_of(path.read_bytes())
    with path.open("rb") as stream:
        magic = stream.read(4)
    budget = _Budget(limits or Limits())
    out = io.BytesIO()
    if magic.startswith(GZIP_MAGIC):
        with path.open("rb") as source:
            _drain(_gzip_chunks(source), out, budget, source.tell)
        return out.getvalue()
    with _ZipMembers(path) as zipped:
        infos = zipped.infos
        named = dict(zip(member_names(infos), infos, strict=True))
        if member not in named:
            raise KeyError(f"no member {member!r} in {path.name}")
        # members before it in the archive count towards the archive's limit, as in expand
        for info in sorted(infos, key=lambda i: i.filename):
            if info is named[member]:
                break
            budget.total += info.file_size
        _drain(zipped.chunks(named[member]), out, budget, _size_of(named[member]))
    return out.getvalue()
