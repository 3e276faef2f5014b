"""Injection corpora through the whole product (issue 8's acceptance): count the effects.

Run: python bench/injection.py [--quick] [--no-write]. For each corpus of
tests/fixtures/injection (SQL, terminal/CSV, paths) the world of tests/injection_world.py is
built and ingested once, then detect and every output of every command run (ingest and its
rerun with --verbose, detect, alerts and quarantine in every --format, analytics, scan), and
for each string `show` piped and to a terminal. An effect is anything an attacker's string
achieved: a control, bidi or format character in a terminal or CSV output, a CSV cell part a
spreadsheet would run, a line that is not JSON, a file created or changed outside the store, a
file outside the inputs read into an output, a table count differing from the same world built
with plain values, a stored value or a `show` output not byte-exact, a good record not stored,
an expected alert not raised. Prints the counts, writes them into bench/RESULTS.md under its own
section (the rest kept) and exits 1 when any effect was found. --quick: the first 8 strings of
each corpus, nothing written. --before REV: the same counts with the code at REV too (in the
section: effects before the fixes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402 - after the repository is importable
from results import replace_section  # noqa: E402
from tests import injection_world as w  # noqa: E402

from mailhunt.errors import MailhuntError  # noqa: E402
from mailhunt.investigate.evidence import original_bytes  # noqa: E402
from mailhunt.store.db import Store  # noqa: E402

SECTION = "## Injection corpora (issue 8)"


def data_world_effects(name: str, corpus: dict[str, str], root: Path) -> tuple[int, list[str]]:
    """Outputs checked and the effects of one data corpus (against its plain control)."""
    worlds = {}
    for kind, values in (("hostile", corpus), ("plain", _plain(corpus))):
        with pytest.MonkeyPatch.context() as patch:
            (root / kind / "tmp").mkdir(parents=True)
            patch.setattr(tempfile, "tempdir", str(root / kind / "tmp"))
            world = w.new_world(name, values, root / kind)
            world.records = w.write_data_world(world.inputs, world.corpus)
            worlds[kind] = w.run_world(world)
    world = worlds["hostile"]
    effects = [f"{out}: {e}" for out, found in world.effects.items() for e in found]
    effects += [f"written outside: {p}" for p in w.outside_effects(world)]
    hostile, plain = w.store_counts(world.db), w.store_counts(worlds["plain"].db)
    effects += [
        f"count of {t}: {hostile.get(t)} (plain {n})"
        for t, n in plain.items()
        if hostile.get(t) != n
    ]
    listed = w.run(["alerts", "--db", str(world.db), "--format", "jsonl"]).out.splitlines()
    event_ids = {i for line in listed for i in json.loads(line)["event_ids"]}
    checked = len(world.runs) + 2 * len(corpus)
    for i, (key, value) in enumerate(world.corpus.items()):
        if not w.storable(value):
            continue
        ids = w.ual_ids(i, value)
        piped = w.run(["show", "--db", str(world.db), "--", ids["ual"]])
        if piped.out_bytes.rstrip(b"\n") != world.records[ids["ual"]]:
            effects.append(f"show {key}: not the exact bytes")
        shown = w.run(["show", "--db", str(world.db), "--", ids["purview"]], tty=True)
        effects += [f"show {key} to a terminal: {e}" for e in w.terminal_effects(shown.text)]
        if value not in event_ids:
            effects.append(f"alert for {key}: not raised (or its record id not exact)")
    return checked, effects


def _plain(corpus: dict[str, str]) -> dict[str, str]:
    return {
        key: f"plain-{n}" + ("" if w.storable(value) else "\udcff")
        for n, (key, value) in enumerate(corpus.items())
    }


def paths_effects(corpus: dict[str, str], root: Path) -> tuple[int, list[str]]:
    """Outputs checked and the effects of the path corpus."""
    sys.path.insert(0, str(REPO / "tests"))
    from tests import test_injection_paths as p

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(p, "CORPUS", corpus)
        (root / "tmp").mkdir(parents=True)
        patch.setattr(tempfile, "tempdir", str(root / "tmp"))
        world = w.new_world("paths", corpus, root)
        given = p.write_paths_world(world)
        patch.chdir(root / "args")
        w.run_world(world, [str(world.inputs), *given])
        effects = [f"{out}: {e}" for out, found in world.effects.items() for e in found]
        effects += [f"written outside: {f}" for f in w.outside_effects(world)]
        absolute = Path(corpus.get("absolute_member", "/nonexistent"))
        if absolute.exists():
            effects.append(f"member extracted to {absolute}")
        with w.snapshot(world.db, root) as store:
            stored = dict(store.query("SELECT record_id, count(*) FROM events GROUP BY 1"))
            for i, name in enumerate(corpus.values()):
                wanted = [f"zip-{i}"] if w.storable(name) else []
                wanted += [f"file-{i}", f"dir-{i}"] if p.read_in_folder(name) else []
                wanted += [f"arg-{i}"] if p.as_argument(name) else []
                effects += [
                    f"{r} ({name!r}): stored {stored.get(r, 0)} times"
                    for r in wanted
                    if stored.get(r) != 1
                ]
                effects += [
                    f"evidence of {r} ({name!r}): {why}"
                    for r in wanted
                    if stored.get(r) == 1 and (why := _evidence_differs(store, r, world.records[r]))
                ]
        checked = len(world.runs) + len(corpus)
    return checked, effects


def _evidence_differs(store: Store, record_id: str, expected: bytes) -> str:
    """Why `show` would not give the record's exact bytes ('' when it would)."""
    try:
        data = original_bytes(store, record_id).data
    except (MailhuntError, OSError) as error:
        return f"{type(error).__name__}: {error}"[:120]
    return "" if data.rstrip(b"\n") == expected else "other bytes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 strings a corpus, no write")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--before", metavar="REV", help="also count with the code at REV (git archive REV src)"
    )
    parser.add_argument("--counts-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    before = _before(args.before, args.quick) if args.before else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="mailhunt-injection-") as work:
        for name in w.CORPORA:
            corpus = w.load_corpus(name)
            if args.quick:
                corpus = dict(list(corpus.items())[:8])
            started = time.monotonic()
            if name == "paths":
                checked, effects = paths_effects(corpus, Path(work) / "paths")
            else:
                checked, effects = data_world_effects(name, corpus, Path(work) / name)
            rows.append((name, len(corpus), checked, effects, time.monotonic() - started))
    lines = [
        SECTION,
        "",
        "`python bench/injection.py` (tests: tests/test_injection_product.py,",
        "tests/test_injection_paths.py). Each corpus string in every attacker-controlled field",
        "(data corpora) or as file, folder, zip member and command-line path names (paths),",
        "one ingest per corpus, then every output; effects as the script's docstring defines.",
        "",
        "| corpus | strings | outputs checked | effects | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    if args.counts_only:  # for --before: the counts, as JSON, and nothing else
        print(json.dumps({n: len(e) for n, _, _, e, _ in rows}))
        return 0
    lines += [f"| {n} | {s} | {c} | {len(e)} | {t:.1f} |" for n, s, c, e, t in rows]
    lines += [
        "",
        "Found by these corpora and fixed (regressions: tests/test_injection_regressions.py): a",
        'Purview CSV whose RecordId holds a `"` failed its whole file (pairing looked for the',
        "id verbatim or JSON-escaped, not CSV-quoted); CSV cells guarded only after `;`, not",
        "after `,`; `show` wrote a record's raw bytes to a terminal (ESC, C1, bidi); a zip",
        "member named with `//` (`s3://...`) was stored but its evidence unreadable, one over",
        "255 bytes failed its whole archive (and `show` of a long `archive!member` exited 2);",
        "`--db` with a `\\` opened another file (DuckDB reads it as a folder separator).",
    ]
    if before is not None:
        counts = ", ".join(f"{n} {c}" for n, c in before.items())
        lines += [
            "",
            f"Effects with the code at {args.before} (before this suite's fixes): {counts}.",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    for name, _, _, effects, _ in rows:
        for effect in effects[:20]:
            print(f"  {name}: {w.escaped(effect)[:200]}")
    if not (args.quick or args.no_write):
        write_section(text)
    return 1 if any(e for _, _, _, e, _ in rows) else 0


def _before(rev: str, quick: bool) -> dict[str, int]:
    """The effect counts with the code at `rev`, in a process of its own."""
    with tempfile.TemporaryDirectory(prefix="mailhunt-injection-before-") as tree:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "src"],  # noqa: S607 - git from PATH
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        command = [sys.executable, __file__, "--no-write", "--counts-only"]
        done = subprocess.run(
            command + (["--quick"] if quick else []),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(tree) / "src")},
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the run at {rev} failed:\n{done.stderr[-2000:]}")
    counts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return counts


def write_section(text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text)


if __name__ == "__main__":
    sys.exit(main())
