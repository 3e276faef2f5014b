"""Fuzzing of framing and every reader (issue 8's acceptance): 0 unhandled errors in a run of
at least 5 minutes per reader; found cases kept as regression tests.

Run: PYTHONPATH=src python bench/fuzz.py [--seconds 300] [--target T ...] [--quick]

Each target (framing, then each reader end to end through `mailhunt.ingest`) runs for
--seconds with hypothesis (mutated valid files, the long profile's settings, batches until
the time is up) and, where `import atheris` works, at the same time with an atheris
coverage-guided harness in a subprocess (libFuzzer, -max_total_time, seeded with the
target's fixtures; only mailhunt's own modules are instrumented). The inputs, invariants and
targets are tests/fuzzing.py's, the same the property tests run with a small budget.

An unhandled error is an exception (or, under atheris, a crash, a hang or running out of
memory) or a broken invariant. Each found case is written, exact bytes, to
tests/fixtures/fuzz/<target>/ (the regression tests run every file there), and the run exits
1. The per-target table goes into bench/RESULTS.md under 'Fuzzing' (the rest is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from results import replace_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

SECTION = "## Fuzzing"
TARGET_ORDER = ("framing", "json-lines", "json-array", "csv", "text", "json-envelope")
BATCH_EXAMPLES = 25  # hypothesis examples per batch (the time is checked between batches)
MAX_RESTARTS = 5  # atheris: restarts after a crash, within the target's time


@dataclass
class Stats:
    """What one engine did on one target."""

    target: str
    engine: str
    seconds: float = 0.0
    examples: int = 0
    errors: int = 0
    found: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    note: str = ""


# --- hypothesis --------------------------------------------------------------------------------


def run_hypothesis(target: str, seconds: float, found_dir: Path | None) -> Stats:
    """Batches of hypothesis examples until `seconds` have passed; each failure (shrunk) is a
    found case. The same failure (type and place) is reported once."""
    from hypothesis import HealthCheck, Phase, given, settings
    from tests import fuzzing

    stats = Stats(target, "hypothesis")
    fuzzing.seeds(target) if target != "framing" else fuzzing.all_seeds()  # before the clock
    start = time.monotonic()
    end = start + seconds
    seen: set[str] = set()
    failing: list[fuzzing.Case] = []
    while time.monotonic() < end:
        failing.clear()

        @settings(
            settings.get_profile("long"),
            max_examples=BATCH_EXAMPLES,
            database=None,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
        )
        @given(fuzzing.strategy(target))
        def one(case: fuzzing.Case) -> None:
            if time.monotonic() >= end and stats.examples and not failing:
                return  # the time is up: the batch's other examples are not run
            stats.examples += 1
            try:
                outcome = fuzzing.run_case(target, case)
            except BaseException:
                failing.append(case)
                raise
            stats.outcomes.update(outcome.statuses)

        try:
            one()
        except Exception as error:  # noqa: BLE001 (every failure is a finding, kept)
            where = traceback.extract_tb(error.__traceback__)[-1]
            key = f"{type(error).__name__}@{where.filename}:{where.lineno}"
            if key in seen:
                continue
            seen.add(key)
            stats.errors += 1
            case = failing[-1] if failing else None
            saved = save(target, case, found_dir) if case is not None else "?"
            first = (str(error).splitlines() or [""])[0][:200]
            stats.found.append(f"{saved}: {type(error).__name__}: {first}")
            print(f"  [{target}] FOUND {saved}: {type(error).__name__}: {first}", flush=True)
    stats.seconds = time.monotonic() - start
    return stats


def save(target: str, case: object, found_dir: Path | None) -> str:
    from tests import fuzzing

    if not isinstance(case, fuzzing.Case):
        raise TypeError(case)
    if found_dir is None:
        return str(fuzzing.save_case(target, case).relative_to(ROOT))
    folder = found_dir / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{abs(hash(case.data)):x}{case.suffix}"
    path.write_bytes(case.data)
    return str(path)


# --- atheris -----------------------------------------------------------------------------------


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def atheris_worker(target: str, seconds: int, corpus: Path, artifacts: Path) -> None:
    """In a subprocess: libFuzzer on the target, mailhunt's modules instrumented (only them:
    DuckDB, numpy, pyarrow and hypothesis are not)."""
    import atheris

    with atheris.instrument_imports(include=["mailhunt"]):
        import mailhunt.formats.sniffing
        import mailhunt.ingest
        import mailhunt.readers
        import mailhunt.sources.framing
        import mailhunt.sources.quarantine
        import mailhunt.sources.recovery  # noqa: F401
    from tests import fuzzing

    suffix = fuzzing.seeds(target)[0].suffix if target != "framing" else ".json"

    def one(data: bytes) -> None:
        fuzzing.run_case(target, fuzzing.Case(data[: fuzzing.MAX_INPUT], suffix))

    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-artifact_prefix={artifacts}/",
            "-rss_limit_mb=4096",
            "-timeout=120",
            f"-max_len={fuzzing.MAX_INPUT}",
            "-print_final_stats=1",
            str(corpus),
        ],
        one,
    )
    atheris.Fuzz()


def start_atheris(target: str, seconds: float, folder: Path) -> subprocess.Popen[bytes]:
    """Start the atheris harness for a target (seeded corpus in `folder`)."""
    from tests import fuzzing

    corpus, artifacts = folder / "corpus", folder / "artifacts"
    if not corpus.exists():
        corpus.mkdir(parents=True)
        artifacts.mkdir()
        pool = fuzzing.all_seeds() if target == "framing" else fuzzing.seeds(target)
        for n, seed in enumerate(pool):
            (corpus / f"seed-{n}").write_bytes(seed.data)
    log = (folder / "atheris.log").open("ab")
    command = [sys.executable, str(Path(__file__).resolve()), "--atheris-worker", target]
    command += ["--seconds", str(max(1, int(seconds))), "--corpus", str(corpus)]
    command += ["--artifacts", str(artifacts)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:2])}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def run_atheris(target: str, seconds: float, found_dir: Path | None, folder: Path) -> Stats:
    """The harness until `seconds` have passed, restarted after each crash (kept)."""
    from tests import fuzzing

    stats = Stats(target, "atheris")
    start = time.monotonic()
    for _ in range(MAX_RESTARTS + 1):
        left = start + seconds - time.monotonic()
        if left < 1:
            break
        before = (folder / "atheris.log").stat().st_size if (folder / "atheris.log").exists() else 0
        process = start_atheris(target, left, folder)
        process.wait()
        text = (folder / "atheris.log").read_bytes()[before:].decode("utf-8", "replace")
        stats.examples += _runs(text)
        crashes = sorted((folder / "artifacts").iterdir())
        for crash in crashes:
            stats.errors += 1
            case = fuzzing.Case(
                crash.read_bytes(),
                ".json" if target == "framing" else fuzzing.seeds(target)[0].suffix,
            )
            saved = save(target, case, found_dir)
            error = _error_line(text)
            stats.found.append(f"{saved} ({crash.name.split('-')[0]}): {error}")
            print(f"  [{target}] atheris FOUND {saved}: {error}", flush=True)
            crash.unlink()
        if process.returncode == 0 and not crashes:
            break
        if process.returncode != 0 and not crashes:
            stats.errors += 1
            stats.found.append(f"harness exited {process.returncode}: {_error_line(text)}")
            break
    stats.seconds = time.monotonic() - start
    return stats


def _runs(text: str) -> int:
    done = re.findall(r"Done (\d+) runs", text)
    if done:
        return int(done[-1])
    counts = re.findall(r"^#(\d+)\s", text, re.MULTILINE)
    return int(counts[-1]) if counts else 0


def _error_line(text: str) -> str:
    """The Python exception atheris reported (else libFuzzer's own error line)."""
    for pattern in (
        r"^([\w.]*(?:Error|Exception|Violation|Interrupt)\b.*)$",
        r"^==\d+== ERROR: (.+)$",
    ):
        found = re.findall(pattern, text, re.MULTILINE)
        if found:
            return found[-1][:200]
    return "see the atheris log"


# --- report ------------------------------------------------------------------------------------


def table(rows: list[Stats]) -> list[str]:
    lines = [
        "| target | engine | seconds | examples run | unhandled errors | found cases |"
        " ingest outcomes (files) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        found = "<br>".join(f.replace("|", "\\|") for f in row.found) if row.found else "-"
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row.outcomes.items())) or "-"
        lines.append(
            f"| {row.target} | {row.engine} | {row.seconds:.0f} | {row.examples} | "
            f"{row.errors} | {found} | {outcomes} |"
        )
    return lines


def earlier(run: set[str]) -> tuple[str, list[Stats]]:
    """The section's first paragraph and its rows of the targets not run now: a run of some
    targets (after a fix) keeps the others' figures."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    if f"{SECTION}\n" not in text:
        return "", []
    body = text.split(f"{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    rows: list[Stats] = []
    for line in body.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 7 or not cells[3].isdigit() or cells[0] in run:
            continue
        found = [] if cells[5] == "-" else cells[5].split("<br>")
        outcomes: Counter[str] = Counter()
        for part in [] if cells[6] == "-" else cells[6].split(", "):
            name, count = part.rsplit(" ", 1)
            outcomes[name] = int(count)
        rows.append(
            Stats(
                cells[0], cells[1], float(cells[2]), int(cells[3]), int(cells[4]), found, outcomes
            )
        )
    return body.strip().split("\n\n", 1)[0], rows


def section(args: argparse.Namespace, rows: list[Stats], engines: list[str]) -> str:
    git = shutil.which("git")
    commit = (
        subprocess.run(
            [git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        ).stdout.strip()
        if git
        else "?"
    )
    targets = {row.target for row in rows}
    paragraph, kept = earlier(targets) if args.target else ("", [])
    rerun = ""
    if kept:
        rerun = (
            f" Rerun of {', '.join(sorted(targets))} ({args.seconds:g} s each) at commit "
            f"{commit} after a fix; the other rows are from the run above."
        )
        order = {target: n for n, target in enumerate(TARGET_ORDER)}
        rows = sorted(
            [*kept, *rows], key=lambda r: (order.get(r.target, 99), r.engine != "hypothesis")
        )
    errors = sum(r.errors for r in rows)
    verdict = "met" if not errors else "NOT met"
    lines = [
        SECTION,
        "",
        paragraph
        or f"`python bench/fuzz.py --seconds {args.seconds:g}` ({datetime.now(UTC):%Y-%m-%d}, "
        f"commit {commit}, {os.cpu_count()} cores shared): each target for {args.seconds:g} s "
        f"with {' and '.join(engines)} at the same time. Inputs: the committed fixtures of "
        "the reader's layout mutated (cut short, spliced, bytes flipped, quotes, newlines, "
        "NULs, BOMs, invalid UTF-8 inserted, lines duplicated or swapped), records changed "
        "around good ones, random bytes, generated JSON (tests/fuzzing.py). Invariants: "
        "framing accounts for every byte (spans, line numbers, chunk size, nesting flags, a "
        "valid array framed into exactly its elements); a reader's work file holds one record "
        "per frame; ingest into a fresh store never raises, stored + quarantined + skipped + "
        "duplicates == framed, good records stored byte for byte. Ingest outcomes are "
        "hypothesis's (atheris runs in a subprocess).",
        "",
        *table(rows),
        "",
        f"Acceptance (0 unhandled errors, >= 5 minutes per reader): **{verdict}** "
        f"({errors} unhandled error(s), {sum(r.examples for r in rows)} examples).{rerun}",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text)


# --- main --------------------------------------------------------------------------------------


def fuzz_target(
    target: str, seconds: float, engines: list[str], found_dir: Path | None
) -> list[Stats]:
    """One target with every engine at the same time (atheris in a subprocess)."""
    with tempfile.TemporaryDirectory(prefix="mailhunt-fuzz-bench-") as folder:
        atheris_run = None
        if "atheris" in engines:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(max_workers=1)
            atheris_run = pool.submit(run_atheris, target, seconds, found_dir, Path(folder))
        rows = [run_hypothesis(target, seconds, found_dir)] if "hypothesis" in engines else []
        if atheris_run is not None:
            rows.append(atheris_run.result())
            pool.shutdown()
    return rows


def main() -> None:
    from tests import fuzzing

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300, help="per target (default 300)")
    parser.add_argument(
        "--target", action="append", choices=fuzzing.TARGETS, help="only these (repeatable)"
    )
    parser.add_argument(
        "--engine",
        action="append",
        choices=("hypothesis", "atheris"),
        help="only these (default: hypothesis, and atheris where it imports)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 s per target")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument(
        "--found-dir", type=Path, help="keep found cases here (default tests/fixtures/fuzz)"
    )
    parser.add_argument("--atheris-worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--artifacts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.atheris_worker:
        atheris_worker(args.atheris_worker, int(args.seconds), args.corpus, args.artifacts)
        return
    if args.quick:
        args.seconds = 10.0
    engines = args.engine or ["hypothesis", *(["atheris"] if atheris_available() else [])]
    rows: list[Stats] = []
    for target in args.target or fuzzing.TARGETS:
        print(f"{target}: {args.seconds:g} s with {', '.join(engines)}", flush=True)
        rows += fuzz_target(target, args.seconds, engines, args.found_dir)
        for row in rows[-len(engines) :]:
            print(f"  {row.engine}: {row.examples} examples, {row.errors} unhandled", flush=True)
    print("\n".join(table(rows)))
    if not args.no_write and not args.quick:
        write_section(section(args, rows, engines))
    if any(row.errors for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
