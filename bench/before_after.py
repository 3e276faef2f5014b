"""Benchmark: ingest with the code before the ingest house (issue 7) against the code now.

Run: python bench/before_after.py [--before REV] [--records N] [--rounds K]. The old source
tree (`git archive REV src`) and this worktree's `src` are each run in their own process
(`PYTHONPATH=<tree>/src`), one process per ingest, timing only the `ingest()` call; every
process writes into a fresh database except the reruns, which go into the store the same
code filled in that round. Rounds alternate the order (old-new, new-old, ...) so that drift
on a shared machine cancels out. Cases: N records as one JSON Lines file into a new database;
the same file again into the store that holds it (a file-level duplicate: hashed, not
staged); the same records with the first line moved to the end (new content, every record a
duplicate: the record-level duplicate path); the first min(N, 100k) records as blobs of 500
(the Management Activity API's content blobs) into a new database. Prints a Markdown table
and writes it into bench/RESULTS.md under its own section, leaving the rest of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_ual_jsonl
from results import replace_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
SECTION = "## Ingest before and after the ingest house (issue 7)"
WITHIN = 1.05  # issue 7: "within 5% of before"
BLOB_RECORDS = 100_000
PER_BLOB = 500

# Run as `python -c RUNNER <src> <database> <path>...` with PYTHONPATH=<src>: ingest the paths
# into the store, time the ingest() call alone, print one JSON line.
RUNNER = """
import json, resource, sys, time
from collections import Counter
from pathlib import Path
import mailhunt
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
src, database, *paths = sys.argv[1:]
if not mailhunt.__file__.startswith(src):
    raise SystemExit(f"imported {mailhunt.__file__}, not the code under {src}")
store = Store.open(Path(database))
start, cpu = time.perf_counter(), time.process_time()
summary = ingest(store, [Path(p) for p in paths])
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
start = time.perf_counter()
store.close()
print(json.dumps({
    "seconds": seconds,
    "cpu": cpu,
    "close": time.perf_counter() - start,
    "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "outcome": {
        "read": summary.records_read,
        "new": summary.records_new,
        "quarantined": summary.quarantined,
        "statuses": dict(sorted(Counter(f.status for f in summary.files).items())),
    },
}))
"""


@dataclass
class Case:
    """One thing ingested, and what each version measured doing it, round by round."""

    name: str
    paths: list[Path]
    fresh: bool  # into a new database (else into the store the "fresh" case of the round left)
    runs: dict[str, list[dict[str, object]]] = field(default_factory=lambda: {"old": [], "new": []})


def git(*args: str) -> str:
    executable = shutil.which("git")
    if executable is None:
        raise SystemExit("git is needed to read the old source tree")
    return subprocess.run(
        [executable, "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def old_tree(rev: str, into: Path) -> Path:
    """`src` as it was at `rev`, extracted under `into`; returns that `src`."""
    archive = into / "old-src.tar"
    git("archive", "--format=tar", "-o", str(archive), rev, "src")
    with tarfile.open(archive) as tar:
        tar.extractall(into / "old", filter="data")
    archive.unlink()
    return into / "old" / "src"


def rotated(source: Path, into: Path) -> Path:
    """The same records with the first line moved to the end: other bytes (so not a
    file-level duplicate), every record already stored."""
    path = into / f"rotated-{source.name}"
    with source.open("rb") as lines, path.open("wb") as out:
        first = lines.readline()
        shutil.copyfileobj(lines, out, 16 * 1024 * 1024)
        out.write(first if first.endswith(b"\n") else first + b"\n")
    return path


def blobs(source: Path, into: Path, records: int) -> Path:
    """The first `records` records as blobs of PER_BLOB records in one folder."""
    folder = into / "blobs"
    folder.mkdir()
    with source.open("rb") as lines:
        head = [lines.readline() for _ in range(records)]
    for start in range(0, records, PER_BLOB):
        (folder / f"blob-{start // PER_BLOB:05d}.jsonl").write_bytes(
            b"".join(head[start : start + PER_BLOB])
        )
    return folder


def run_once(src: Path, database: Path, paths: list[Path], cwd: Path) -> dict[str, object]:
    """One ingest in its own process with the code under `src`; what it printed."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, str(src), str(database), *map(str, paths)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"ingest with {src} failed: {completed.stderr[-1500:]}")
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(cases: list[Case], trees: dict[str, Path], work: Path, rounds: int) -> None:
    """Every case with each version, order alternated per round; databases of a round are
    deleted when the round ends."""
    for number in range(rounds):
        order = ["old", "new"] if number % 2 == 0 else ["new", "old"]
        round_dir = work / f"round-{number}"
        round_dir.mkdir()
        try:
            for case in cases:
                for which in order:
                    database = round_dir / (
                        f"{which}-{case.name.replace(' ', '-')}.duckdb"
                        if case.fresh
                        else f"{which}-{cases[0].name.replace(' ', '-')}.duckdb"
                    )
                    result = run_once(trees[which], database, case.paths, round_dir)
                    case.runs[which].append(result)
                    print(
                        f"round {number + 1}/{rounds} {case.name:<28} {which}: "
                        f"{float(str(result['seconds'])):7.2f} s",
                        flush=True,
                    )
        finally:
            shutil.rmtree(round_dir, ignore_errors=True)


def median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(str(run[key])) for run in runs)


def table(cases: list[Case]) -> list[str]:
    lines = [
        "| case | old s | new s | new/old | within 5% | old CPU s | new CPU s "
        "| old peak RSS MB | new peak RSS MB |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in cases:
        old, new = median(case.runs["old"], "seconds"), median(case.runs["new"], "seconds")
        ratio = new / old
        rss = {w: max(int(str(r["rss_kib"])) for r in case.runs[w]) / 1024 for w in case.runs}
        lines.append(
            f"| {case.name} | {old:.2f} | {new:.2f} | {ratio:.3f} "
            f"| {'yes' if ratio <= WITHIN else '**no**'} "
            f"| {median(case.runs['old'], 'cpu'):.2f} | {median(case.runs['new'], 'cpu'):.2f} "
            f"| {rss['old']:.0f} | {rss['new']:.0f} |"
        )
    return lines


def details(cases: list[Case]) -> list[str]:
    """Seconds of every round, and any case whose outcome differs between the versions."""
    lines = ["Seconds per round (in round order):", ""]
    for case in cases:
        old = ", ".join(f"{float(str(r['seconds'])):.2f}" for r in case.runs["old"])
        new = ", ".join(f"{float(str(r['seconds'])):.2f}" for r in case.runs["new"])
        lines.append(f"- {case.name}: old {old}; new {new}")
    lines.append("")
    for case in cases:
        outcomes = {w: case.runs[w][0]["outcome"] for w in case.runs}
        if outcomes["old"] != outcomes["new"]:
            lines.append(
                f"Outcome differs, {case.name}: old {outcomes['old']}, new {outcomes['new']}"
            )
        else:
            lines.append(f"Outcome, {case.name} (both): {outcomes['new']}")
    return lines


def section(args: argparse.Namespace, cases: list[Case], full_rev: str, size: int) -> str:
    head = git("rev-parse", "--short", "HEAD")
    dirty = " plus uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
    intro = [
        SECTION,
        "",
        f"`python bench/before_after.py --before {args.before} --records {args.records} "
        f"--rounds {args.rounds}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Old: `{args.before}` "
        f"({full_rev[:10]}); new: {head}{dirty}. Machine: nproc {os.cpu_count()}, "
        f"{platform.machine()}, Python {platform.python_version()}, DuckDB {version('duckdb')}. "
        f"{args.records} records ({size / 1e6:.1f} MB) of bench/generate.py, {args.rounds} "
        "round(s), order alternated per round (old-new, new-old, ...). Each ingest runs in its "
        "own process (`PYTHONPATH=<tree>/src`) into a fresh database, except the reruns, which "
        "go into the store the same code filled in that round; seconds and CPU are of the "
        "`ingest()` call alone (medians over rounds), peak RSS is the process's (max over "
        "rounds). Promise of issue 7: new/old <= 1.05. Rerun of a rotated copy: the same "
        "records with the first line moved to the end, so the file is new and every record a "
        "duplicate (the record-level duplicate path; the rerun of the same file stops at its "
        "SHA-256).",
        "",
    ]
    return "\n".join([*intro, *table(cases), "", *details(cases)]) + "\n"


def write_section(text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="3f711b1", help="revision before the refactor")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    full_rev = git("rev-parse", "--verify", f"{args.before}^{{commit}}")
    DATA.mkdir(exist_ok=True)
    source = DATA / f"ual-{args.records}.jsonl"
    if not source.exists():
        print(f"generating {args.records} records ...", flush=True)
        write_ual_jsonl(source, args.records)
    work = Path(tempfile.mkdtemp(prefix="mailhunt-before-after-")).resolve()
    try:
        trees = {"old": old_tree(full_rev, work), "new": REPO / "src"}
        blob_records = min(args.records, BLOB_RECORDS)
        cases = [
            Case(f"{args.records} records, new db", [source], fresh=True),
            Case("rerun of the same file", [source], fresh=False),
            Case("rerun of a rotated copy", [rotated(source, work)], fresh=False),
            Case(
                f"{blob_records // PER_BLOB} blobs of {PER_BLOB}, new db",
                [blobs(source, work, blob_records)],
                fresh=True,
            ),
        ]
        measure(cases, trees, work, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = section(args, cases, full_rev, source.stat().st_size)
    print(text)
    write_section(text)


if __name__ == "__main__":
    main()
