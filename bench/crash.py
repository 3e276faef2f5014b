"""Acceptance suite of issue 8: kill -9 and SIGINT during `mailhunt ingest` and `mailhunt detect`.

Run: python bench/crash.py [--trials N] [--seed S] [--quick] (see --help for the corpus size).

A corpus is generated (simulated tenants, `mailhunt.simulate.simulate_tenant`, plus a few large
Management Activity API files from bench/generate.py, so that moments inside one file's
transaction are hit). A CLEAN run ingests it into a fresh store and runs detect; what it stored
is the reference: every events and signins record_id, record_spans per file, quarantine,
ingest_runs and alerts. Then, per family (kill -9 / SIGINT x ingest / detect), each trial starts
the command in its own process, signals it at a moment drawn uniformly over the clean run's
duration (seeded RNG, the seed printed), and checks:

* the store opens: `mailhunt alerts` and `mailhunt quarantine` exit 0 with no traceback (an
  ingest killed before it created the store may leave none: they must then say so in one line);
* SIGINT only: exit code 130 (0 when the command ended before the signal), one line on stderr
  naming what was stored, and the store holds what the line says; never a traceback; no work
  folder of the run left behind (ingest/workdir.py);
* after the same command is run again to completion (ingest then detect, or detect): exactly
  the reference (0 records lost, 0 duplicated, spans once, each file ingested once, the same
  quarantine and alerts), and no work folder left (a killed run's is swept by the next).

Detect trials start from a copy of the store the clean ingest left (before detect). Figures go
to bench/RESULTS.md ('Crash and interrupt'); the exit code is 1 when any trial failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SRC))

from generate import write_ual_jsonl  # noqa: E402
from results import replace_section  # noqa: E402

from mailhunt.simulate import simulate_tenant  # noqa: E402
from mailhunt.store.db import Store  # noqa: E402

RESULTS = HERE / "RESULTS.md"
SECTION = "## Crash and interrupt (issue 8)"
# How a user's `mailhunt` runs: the console script (pyproject.toml) imports it, calls main.
ENTRY = "import sys\nfrom mailhunt.launch import main\nsys.exit(main())"
WORK_PREFIX = "mailhunt-work-"
DEADLINE = 600.0  # seconds any one command may take
KINDS = {"kill -9": signal.SIGKILL, "SIGINT": signal.SIGINT}
COMMANDS = ("ingest", "detect")
STORED_LINE = re.compile(r"(\d+) file\(s\) stored \((\d+) new records\)")
DETECT_LINE = re.compile(r"detect stopped after (\d+) of (\d+) analytic\(s\)")
NOT_RUN = re.compile(r"not run: ([^;]+);")
NO_STORE_YET = ("no database at", "not a mailhunt database yet")
# An exit 0 this long after SIGINT was sent: the signal was swallowed (the run went on)
SWALLOWED_AFTER = 1.0


# -- corpus -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusSize:
    tenants: int = 2
    days: int = 10
    users: int = 20
    big_files: int = 2
    big_records: int = 10_000


QUICK = CorpusSize(tenants=1, days=5, users=8, big_files=1, big_records=2_000)


def build_corpus(folder: Path, size: CorpusSize, seed: int) -> Path:
    """The input folder: `tenants` simulated tenants (a folder each) and `big_files` large UAL
    JSON Lines files; each tenant's ground truth kept outside the inputs."""
    inputs = folder / "inputs"
    for n in range(size.tenants):
        tenant = inputs / f"tenant{n}"
        simulate_tenant(
            tenant, seed=seed + n, days=size.days, users=size.users, tenant_name=f"tenant{n}"
        )
        for truth in tenant.glob("ground_truth*.json"):
            truth.rename(folder / f"{truth.stem}-{n}.json")
    big = inputs / "big"
    big.mkdir(parents=True, exist_ok=True)
    for n in range(size.big_files):
        write_ual_jsonl(big / f"ual-{n}.jsonl", size.big_records, seed=seed * 1000 + n + 1)
    return inputs


# -- running mailhunt ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """A finished command: exit code, stderr, wall seconds, whether it was signalled while
    running (False: it had ended before the moment came)."""

    returncode: int
    stderr: str
    seconds: float
    signalled: bool = False
    after_signal: float = 0.0  # seconds from the signal to the end


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "TMPDIR": str(tmp), "COLUMNS": "200"}


def run_mailhunt(
    args: Sequence[str], tmp: Path, *, signum: int | None = None, at: float = 0.0
) -> Ran:
    """Run `mailhunt ARGS` (TMPDIR=tmp); with `signum`, send it `at` seconds after the start
    unless the command ended before."""
    start = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(tmp),
    )
    signalled, sent = False, 0.0
    try:
        if signum is not None:
            try:
                child.wait(timeout=at)
            except subprocess.TimeoutExpired:
                child.send_signal(signum)
                signalled, sent = True, time.monotonic()
        _, stderr = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    end = time.monotonic()
    text = stderr.decode("utf-8", "replace")
    return Ran(child.returncode, text, end - start, signalled, end - sent if signalled else 0.0)


def _children_take_sigint() -> None:
    """Started in the background (`cmd &`, nohup), this process ignores SIGINT, and so would
    every command it starts until that installs a handler (an ignored signal stays ignored
    across exec): a SIGINT at the first moments would be lost, which no user at a terminal
    sees. A handler of ours is reset to the default at exec, as a terminal's commands have it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def ingest_args(inputs: Path, db: Path) -> list[str]:
    return ["ingest", str(inputs), "--db", str(db)]


def detect_args(db: Path) -> list[str]:
    return ["detect", "--db", str(db)]


# -- what a store holds -------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What the reference is compared on."""

    events: Counter[str]
    signins: Counter[str]
    spans: dict[str, int]  # file_sha256 -> spans
    span_duplicates: int
    quarantine: Counter[tuple[Any, ...]]
    ingested: Counter[tuple[Any, ...]]  # (source_path, sha256, read, new, quarantined)
    statuses: dict[str, frozenset[str]]  # source_path -> statuses of its ingest_runs rows
    alerts: Counter[str]
    evidence: int
    codes: dict[str, int] = field(default_factory=dict)  # the clean run's exit code per command

    @property
    def records(self) -> int:
        return sum(self.events.values()) + sum(self.signins.values())


def snapshot(db: Path) -> Snapshot:
    with Store.open(db, create=False, read_only=True) as store:
        q = store.query
        statuses: dict[str, set[str]] = {}
        for path, status in q("SELECT source_path, status FROM ingest_runs"):
            statuses.setdefault(path, set()).add(status)
        return Snapshot(
            events=Counter(r[0] for r in q("SELECT record_id FROM events")),
            signins=Counter(r[0] for r in q("SELECT record_id FROM signins")),
            spans=dict(q("SELECT file_sha256, count(*) FROM record_spans GROUP BY ALL")),
            span_duplicates=store.scalar(
                "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT file_sha256, ordinal "
                "FROM record_spans)) FROM record_spans"
            ),
            quarantine=Counter(q("SELECT source_path, line, reason FROM quarantine")),
            ingested=Counter(
                q(
                    "SELECT source_path, file_sha256, records_read, records_new, "
                    "records_quarantined FROM ingest_runs WHERE status = 'ingested'"
                )
            ),
            statuses={p: frozenset(s) for p, s in statuses.items()},
            alerts=Counter(r[0] for r in q("SELECT id FROM alerts")),
            evidence=store.scalar("SELECT count(*) FROM alert_evidence"),
        )


def _lost_and_doubled(name: str, want: Counter[str], got: Counter[str]) -> list[str]:
    problems = []
    lost = len(set(want) - set(got))
    extra = len(set(got) - set(want))
    doubled = sum(n - 1 for n in got.values() if n > 1)
    if lost:
        problems.append(f"{name}: {lost} lost")
    if extra:
        problems.append(f"{name}: {extra} not in the reference")
    if doubled:
        problems.append(f"{name}: {doubled} duplicated")
    return problems


def compare(want: Snapshot, got: Snapshot, *, alerts: bool = True) -> list[str]:
    """What differs from the reference (nothing: an empty list)."""
    problems = _lost_and_doubled("events", want.events, got.events)
    problems += _lost_and_doubled("signins", want.signins, got.signins)
    if got.span_duplicates:
        problems.append(f"record_spans: {got.span_duplicates} duplicated")
    if got.spans != want.spans:
        differ = sum(
            1 for k in want.spans.keys() | got.spans.keys() if want.spans.get(k) != got.spans.get(k)
        )
        problems.append(f"record_spans: {differ} file(s) with other counts")
    if got.quarantine != want.quarantine:
        problems.append(
            f"quarantine: {sum(got.quarantine.values())} rows, reference "
            f"{sum(want.quarantine.values())}"
        )
    if got.ingested != want.ingested:
        problems.append(
            f"ingest_runs: {sum(got.ingested.values())} ingested rows, "
            f"{len(got.ingested - want.ingested)} not as in the reference"
        )
    stored_new = sum(row[3] * n for row, n in got.ingested.items())
    if stored_new != got.records:
        problems.append(f"ingest_runs: {stored_new} records_new, {got.records} rows stored")
    odd = sorted(
        p
        for p, s in got.statuses.items()
        if not s <= want.statuses.get(p, frozenset()) | {"duplicate"}
    )
    if odd or got.statuses.keys() != want.statuses.keys():
        problems.append(f"ingest_runs: statuses differ ({len(odd)} file(s) e.g. {odd[:1]})")
    if alerts and (got.alerts != want.alerts or got.evidence != want.evidence):
        problems.append(
            f"alerts: {len(got.alerts)} ({got.evidence} evidence), reference "
            f"{len(want.alerts)} ({want.evidence})"
        )
    return problems


# -- one trial ----------------------------------------------------------------------------------


@dataclass
class Trial:
    family: str
    moment: float
    signalled: bool = False
    returncode: int | None = None
    store: str = ""  # opened / no store yet / NOT OPENED
    matched: bool = False
    traceback: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _traceback(text: str) -> bool:
    return "Traceback" in text


def _work_folders(tmp: Path) -> list[Path]:
    return list(tmp.glob(WORK_PREFIX + "*"))


def _check_opens(trial: Trial, db: Path, tmp: Path, *, may_be_missing: bool) -> None:
    """`mailhunt alerts` and `mailhunt quarantine` on the store as the signal left it."""
    states = set()
    for args in (["alerts", "--format", "jsonl"], ["quarantine", "--format", "jsonl"]):
        ran = run_mailhunt([*args, "--db", str(db)], tmp)
        if _traceback(ran.stderr):
            trial.traceback = True
            trial.problems.append(f"{args[0]} after the signal: traceback")
        if ran.returncode == 0:
            states.add("opened")
        elif (
            may_be_missing
            and ran.returncode == 2
            and len(ran.stderr.strip().splitlines()) == 1
            and any(s in ran.stderr for s in NO_STORE_YET)
        ):
            states.add("no store yet")
        else:
            states.add("NOT OPENED")
            trial.problems.append(
                f"{args[0]} after the signal: exit {ran.returncode}: {ran.stderr.strip()[-300:]}"
            )
    trial.store = "NOT OPENED" if "NOT OPENED" in states else "/".join(sorted(states))


def _check_sigint(
    trial: Trial, ran: Ran, command: str, db: Path, tmp: Path, *, reference: Snapshot
) -> None:
    """Exit 130 and one line saying what was stored, which the store holds; no work folder."""
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    expected = reference.codes.get(command, 0)
    if not ran.signalled or (ran.returncode == 0 and ran.after_signal < SWALLOWED_AFTER):
        if ran.returncode != expected:  # (or ended as the signal was sent)
            trial.problems.append(f"ended before the signal with exit {ran.returncode}")
        return
    if ran.returncode == -signal.SIGINT and not lines:
        # Python's own default before mailhunt's entry point ran (interpreter start) or after
        # it returned (interpreter shutdown): killed by SIGINT, which a shell shows as 130;
        # nothing said, and nothing stored, or everything
        if trial.store == "opened" and _as_said("nothing stored", command, db):
            complete = compare(reference, snapshot(db), alerts=command == "detect")
            trial.problems += [f"died by SIGINT, silent, the store partial: {complete}"] * bool(
                complete
            )
        return
    if ran.returncode != 130:
        trial.problems.append(f"exit {ran.returncode}, not 130: {ran.stderr.strip()[-300:]}")
    if len(lines) != 1 or "interrupted by SIGINT" not in lines[0]:
        trial.problems.append(f"stderr is not one line naming the interruption: {lines[-3:]}")
    elif "stored" not in lines[0] and "had run" not in lines[0]:
        trial.problems.append(f"the line does not say what was stored: {lines[0]}")
    elif trial.store == "opened":
        trial.problems += _as_said(lines[0], command, db)
    if _work_folders(tmp):
        trial.problems.append("work folder left behind after SIGINT")


def _as_said(line: str, command: str, db: Path) -> list[str]:
    """Does the store hold what the interrupted command said it stored?"""
    got = snapshot(db)
    if command == "ingest":
        files, records = (0, 0)
        said = STORED_LINE.search(line)
        if said:
            files, records = int(said[1]), int(said[2])
        elif "no file stored" not in line and "nothing stored" not in line:
            return [f"cannot read what was stored: {line}"]
        if (sum(got.ingested.values()), got.records) != (files, records):
            return [
                f"said {files} file(s), {records} records; store has "
                f"{sum(got.ingested.values())}, {got.records}"
            ]
        return []
    if "nothing stored" in line and got.alerts:
        return [f"said nothing stored; the store has {len(got.alerts)} alert(s)"]
    not_run = NOT_RUN.search(line)
    if not_run:
        skipped = {name.strip() for name in not_run[1].split(",")}
        with Store.open(db, create=False, read_only=True) as store:
            rules = {r[0] for r in store.query("SELECT DISTINCT rule_id FROM alerts")}
        if rules & skipped:
            return [f"alerts of analytics said not run: {sorted(rules & skipped)}"]
    return []


def ingest_trial(kind: str, moment: float, inputs: Path, work: Path, reference: Snapshot) -> Trial:
    trial = Trial(f"{kind} during ingest", moment)
    db, tmp = work / "t.duckdb", work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    ran = run_mailhunt(ingest_args(inputs, db), tmp, signum=KINDS[kind], at=moment)
    trial.signalled, trial.returncode = ran.signalled, ran.returncode
    trial.traceback = _traceback(ran.stderr)
    if trial.traceback:
        trial.problems.append(f"traceback: {ran.stderr.strip()[-400:]}")
    _check_opens(trial, db, tmp, may_be_missing=True)
    if kind == "SIGINT":
        _check_sigint(trial, ran, "ingest", db, tmp, reference=reference)
    _rerun(trial, [ingest_args(inputs, db), detect_args(db)], db, tmp, reference)
    return trial


def detect_trial(
    kind: str, moment: float, ingested_db: Path, work: Path, reference: Snapshot
) -> Trial:
    trial = Trial(f"{kind} during detect", moment)
    db, tmp = work / "t.duckdb", work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ingested_db, db)
    ran = run_mailhunt(detect_args(db), tmp, signum=KINDS[kind], at=moment)
    trial.signalled, trial.returncode = ran.signalled, ran.returncode
    trial.traceback = _traceback(ran.stderr)
    if trial.traceback:
        trial.problems.append(f"traceback: {ran.stderr.strip()[-400:]}")
    _check_opens(trial, db, tmp, may_be_missing=False)
    if kind == "SIGINT":
        _check_sigint(trial, ran, "detect", db, tmp, reference=reference)
    _rerun(trial, [detect_args(db)], db, tmp, reference)
    return trial


def _rerun(
    trial: Trial, commands: list[list[str]], db: Path, tmp: Path, reference: Snapshot
) -> None:
    for args in commands:
        ran = run_mailhunt(args, tmp)
        if ran.returncode != reference.codes.get(args[0], 0) or _traceback(ran.stderr):
            trial.traceback |= _traceback(ran.stderr)
            trial.problems.append(f"rerun of {args[0]}: exit {ran.returncode}: {ran.stderr[-300:]}")
            return
    differences = compare(reference, snapshot(db))
    trial.problems += differences
    trial.matched = not differences
    if _work_folders(tmp):
        trial.problems.append("work folder left behind after the rerun")


# -- the suite ----------------------------------------------------------------------------------


@dataclass
class Family:
    name: str
    trials: list[Trial] = field(default_factory=list)

    def row(self) -> list[str]:
        moments = sorted(t.moment for t in self.trials)
        codes = Counter(t.returncode for t in self.trials)
        stores = Counter(t.store for t in self.trials)
        return [
            self.name,
            str(len(self.trials)),
            str(sum(t.signalled for t in self.trials)),
            ", ".join(f"{s} {n}" for s, n in sorted(stores.items())),
            str(sum(t.matched for t in self.trials)),
            str(sum(t.traceback for t in self.trials)),
            ", ".join(f"{c}: {n}" for c, n in sorted(codes.items(), key=lambda i: str(i[0]))),
            f"{moments[0]:.2f} / {statistics.median(moments):.2f} / {moments[-1]:.2f}"
            if moments
            else "-",
            str(sum(not t.ok for t in self.trials)),
        ]


HEADER = [
    "family",
    "trials",
    "signalled while running",
    "store after the signal",
    "rerun matched",
    "tracebacks",
    "exit codes seen",
    "moment s (min / median / max)",
    "failed",
]


@dataclass
class Suite:
    seed: int
    clean_ingest_s: float
    clean_detect_s: float
    reference: Snapshot
    families: list[Family]

    @property
    def failures(self) -> list[tuple[str, Trial]]:
        return [(f.name, t) for f in self.families for t in f.trials if not t.ok]


def run_suite(
    work: Path,
    *,
    size: CorpusSize,
    trials: int,
    seed: int,
    families: Sequence[tuple[str, str]] | None = None,
    progress: bool = False,
) -> Suite:
    """Build the corpus, the clean reference, then `trials` trials per family (kind, command)."""
    _children_take_sigint()
    rng = random.Random(seed)
    inputs = build_corpus(work / "corpus", size, seed)
    clean_db, tmp = work / "clean.duckdb", work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    ingested = run_mailhunt(ingest_args(inputs, clean_db), tmp)
    if ingested.returncode not in (0, 1):  # 1: a file not recognised (an empty page)
        raise SystemExit(f"clean ingest failed ({ingested.returncode}): {ingested.stderr[-500:]}")
    ingested_db = work / "ingested.duckdb"
    shutil.copyfile(clean_db, ingested_db)
    detected = run_mailhunt(detect_args(clean_db), tmp)
    if detected.returncode != 0:
        raise SystemExit(f"clean detect failed ({detected.returncode}): {detected.stderr[-500:]}")
    reference = replace(
        snapshot(clean_db), codes={"ingest": ingested.returncode, "detect": detected.returncode}
    )
    if progress:
        print(
            f"clean: ingest {ingested.seconds:.2f} s, detect {detected.seconds:.2f} s; "
            f"{len(reference.events)} events, {len(reference.signins)} sign-ins, "
            f"{len(reference.spans)} files, {len(reference.alerts)} alerts",
            flush=True,
        )
    chosen = families or [(k, c) for c in COMMANDS for k in KINDS]
    done: list[Family] = []
    for kind, command in chosen:
        family = Family(f"{kind} during {command}")
        span = ingested.seconds if command == "ingest" else detected.seconds
        for n in range(trials):
            moment = rng.uniform(0.0, span)
            folder = work / "trial"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            if command == "ingest":
                trial = ingest_trial(kind, moment, inputs, folder, reference)
            else:
                trial = detect_trial(kind, moment, ingested_db, folder, reference)
            family.trials.append(trial)
            if progress:
                verdict = "ok" if trial.ok else "FAILED: " + "; ".join(trial.problems)
                print(
                    f"  {family.name} {n + 1}/{trials} at {moment:.2f} s "
                    f"(exit {trial.returncode}, store {trial.store}): {verdict}",
                    flush=True,
                )
        done.append(family)
    return Suite(seed, ingested.seconds, detected.seconds, reference, done)


# -- results ------------------------------------------------------------------------------------


def section(suite: Suite, command_line: str, size: CorpusSize) -> str:
    ref = suite.reference
    lines = [
        SECTION,
        "",
        f"`{command_line}`, seed {suite.seed}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} "
        f"UTC. Corpus: {size.tenants} simulated tenant(s) ({size.days} days, {size.users} users) "
        f"and {size.big_files} UAL file(s) of {size.big_records} records; clean ingest "
        f"{suite.clean_ingest_s:.2f} s, clean detect {suite.clean_detect_s:.2f} s (process "
        f"start included); reference {len(ref.events)} events, {len(ref.signins)} sign-ins, "
        f"{len(ref.spans)} files' spans, {sum(ref.quarantine.values())} quarantined, "
        f"{len(ref.alerts)} alerts. Each trial signals the command at a moment uniform over the "
        "clean run's duration, checks that `alerts` and `quarantine` open the store (exit 0, no "
        "traceback; 'no store yet': killed before the store was created, which they say in one "
        "line), for SIGINT exit 130 with one line saying what was stored (checked against the "
        "store) and no work folder left, then reruns the command to completion (ingest trials: "
        "ingest then detect) and compares with the clean run: events and sign-in ids, spans per "
        "file, quarantine, ingest_runs, alerts and their evidence. Acceptance: every trial "
        "passes.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join("---" for _ in HEADER) + " |",
    ]
    lines += ["| " + " | ".join(f.row()) + " |" for f in suite.families]
    failures = suite.failures
    lines += ["", f"Failed trials: {len(failures)}."]
    lines += [f"- {name} at {t.moment:.2f} s: {'; '.join(t.problems)}" for name, t in failures[:20]]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text, path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = CorpusSize()
    parser.add_argument("--trials", type=int, default=25, help="Trials per family (default 25).")
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: random).")
    parser.add_argument("--quick", action="store_true", help="Small corpus, 2 trials per family.")
    parser.add_argument("--tenants", type=int, default=default.tenants)
    parser.add_argument("--days", type=int, default=default.days, help="Days per tenant.")
    parser.add_argument("--users", type=int, default=default.users, help="Users per tenant.")
    parser.add_argument("--big-files", type=int, default=default.big_files)
    parser.add_argument(
        "--big-records", type=int, default=default.big_records, help="Records per large file."
    )
    parser.add_argument("--keep", type=Path, default=None, help="Work here and keep it.")
    parser.add_argument("--no-results", action="store_true", help="Do not write bench/RESULTS.md.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    size = (
        QUICK
        if args.quick
        else CorpusSize(args.tenants, args.days, args.users, args.big_files, args.big_records)
    )
    trials = 2 if args.quick and args.trials == 25 else args.trials
    print(f"seed {seed} (rerun with --seed {seed})", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mailhunt-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        suite = run_suite(work, size=size, trials=trials, seed=seed, progress=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    shown = " ".join(["python bench/crash.py", *(argv if argv is not None else sys.argv[1:])])
    if "--seed" not in shown:
        shown += f" --seed {seed}"
    text = section(suite, shown, size)
    print(text)
    if not args.no_results:
        write_section(text)
    return 1 if suite.failures else 0


if __name__ == "__main__":
    sys.exit(main())
