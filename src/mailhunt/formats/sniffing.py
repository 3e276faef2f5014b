"""Which format a file is, from its content (never its name or an option).

The head of the file is offered to each reader (layout) in order; readers of one kind are
alternatives, so the first of a kind that finds records decides that kind's layout (JSON lines
before a JSON array). An envelope reader comes first and settles nothing: the records it
unwraps (a UAL record inside a Wazuh or Elastic document) are offered to the formats first,
then the file as it is. Each sample goes to the formats of its kind; when several claim it, the
most specific wins (`Format.specificity`; ties are a bug, caught by a test over every fixture).
A winner that belongs to a group brings the group's other members of its kind: the file is read
once per member (see `Format.group`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailhunt.formats import FORMATS, Format, Sample, claimants
from mailhunt.readers import READERS, Layout
from mailhunt.readers.json_array import is_empty_container
from mailhunt.sources.framing import BOM, MAX_RECORD_BYTES

SAMPLE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Sniffed:
    """How a file is laid out and which format(s) read its records."""

    layout: Layout
    formats: tuple[Format, ...]  # the winner first, then the other members of its group

    @property
    def format(self) -> Format:
        return self.formats[0]

    @property
    def container(self) -> str:
        """The layout's name (json-lines, json-array, csv, text)."""
        return self.layout.reader.name


def read_head(path: Path) -> bytes:
    """The first MiB of a file, or more when its first record is longer."""
    with path.open("rb") as stream:
        head = stream.read(SAMPLE_BYTES)
        while b"\n" not in head and len(head) < MAX_RECORD_BYTES:  # a long first record
            more = stream.read(SAMPLE_BYTES)
            if not more:
                break
            head += more
    return head


def samples(path: Path, head: bytes) -> list[tuple[Sample, Layout]]:
    """The ways the file could be laid out, each with its sample, in reader order."""
    found: list[tuple[Sample, Layout]] = []
    settled: set[str] = set()
    for reader in READERS.values():
        if reader.kind in settled:
            continue
        sampled = reader.sample(path, head)
        if sampled is not None:
            found.append(sampled)
            if reader.exclusive:
                settled.add(reader.kind)
    return found


def route(winner: Format) -> tuple[Format, ...]:
    """The formats that read a file `winner` claims: itself, then its group's other members."""
    if winner.group is None:
        return (winner,)
    others = tuple(
        fmt
        for fmt in FORMATS.values()
        if fmt.group == winner.group and fmt is not winner and fmt.reader == winner.reader
    )
    return (winner, *others)


def sniff_file(path: Path) -> tuple[Sniffed | None, str]:
    """The layout and format(s) of a file, or None with the reason none matched."""
    head = read_head(path)
    if not head.removeprefix(BOM).strip():
        return None, "file is empty"
    sampled = samples(path, head)
    for sample, layout in sampled:
        found = claimants(sample)
        if found:
            return Sniffed(layout, route(found[0])), ""
    if is_empty_container(path, head):
        return None, "no records: an empty JSON array or page"
    tried = ", ".join(FORMATS)
    return None, f"no format matched {looks_like([s for s, _ in sampled])} (tried: {tried})"


def looks_like(sampled: list[Sample]) -> str:
    """What the file seemed to hold, so a reader of the skip reason can tell what it was."""
    for sample in sampled:
        names = list(sample.records[0]) if sample.records else []
        if sample.kind == "json" or (names and all(len(n) <= 40 for n in names)):
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            kind = "JSON records with keys" if sample.kind == "json" else "CSV with columns"
            return f"[{kind} {shown}]"
    lines = sampled[-1].lines if sampled else ()
    return f"[text starting {(lines[0][:60] if lines else '')!r}]"
