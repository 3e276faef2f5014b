"""SIGINT and SIGTERM during ingest and detect: the run ends after the transaction in progress,
says in one line what was stored, exits 130 / 143, and never prints a traceback.

The subprocess tests run mailhunt's own `main` in a child that pauses inside a transaction (a
hook around one method) so the signal reliably arrives while rows are being stored; the test
waits for the child to say it is there, signals it, and checks the store afterwards. Everything
is local: files under tmp_path, no network.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

import mailhunt
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, OUTLOOK, at, mail_access, signin_record, write_jsonl

SRC = Path(mailhunt.__file__).resolve().parents[1]
TESTS_ROOT = Path(__file__).resolve().parents[1]
SCENARIO = FIXTURES / "scenario"
MAILBOX = "alice@contoso.onmicrosoft.com"
DEADLINE = 60.0  # seconds any one child may take

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The child: mailhunt's main, with `owner` (in `module`) wrapped to write a marker and pause
# (inside the transaction) before it runs.
CHILD = """
import sys, time
from pathlib import Path
import {module} as hooked

marker = Path(sys.argv[1])
original = hooked.{owner}
calls = []

def paused(*args, **kwargs):
    calls.append(1)
    with marker.open("a") as out:
        out.write(f"{{len(calls)}}\\n")
    time.sleep(1.0)
    return original(*args, **kwargs)

hooked.{owner} = paused
{setup}
from mailhunt.cli import main
sys.exit(main(sys.argv[2:]))
"""


def folder_of_batches(folder: Path, count: int) -> list[int]:
    """`count` files that cannot share a batch (UAL and sign-ins alternate); records per file."""
    sizes = []
    for n in range(count):
        if n % 2 == 0:
            records = [mail_access(f"u{n}-{k}", at(k), MAILBOX, OUTLOOK) for k in range(3)]
        else:
            records = [signin_record(f"s{n}-{k}", at(k), MAILBOX, OUTLOOK) for k in range(2)]
        write_jsonl(folder / f"{n:02d}.jsonl", records)
        sizes.append(len(records))
    return sizes


def run_child(
    tmp_path: Path,
    *,
    owner: str,
    module: str,
    argv: list[str],
    signum: int,
    after: int,
    setup: str,
) -> tuple[int, list[str]]:
    """Run the child; once the hooked method was entered `after` times, send `signum`. Its exit
    code and its stderr lines."""
    marker = tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(module=module, owner=owner, setup=textwrap.dedent(setup)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS_ROOT)])}
    child = subprocess.Popen(
        [sys.executable, str(script), str(marker), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while not (marker.exists() and len(marker.read_text().split()) >= after):
            assert child.poll() is None, "the child ended before it was signalled"
            assert time.monotonic() < deadline, "the child never reached the pause"
            time.sleep(0.05)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, stderr.decode().splitlines()


def assert_one_clean_line(err: list[str], *parts: str) -> None:
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for part in parts:
        assert part in err[0], err[0]


def stored(db: Path) -> tuple[list[str], int]:
    with Store.open(db, create=False, read_only=True) as store:
        files = store.query(
            "SELECT source_path FROM ingest_runs WHERE status = 'ingested' ORDER BY source_path"
        )
        return [Path(f[0]).name for f in files], store.count("events") + store.count("signins")


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_signal_during_an_ingest_transaction(
    tmp_path: Path, signum: int, code: int, name: str
) -> None:
    """Signalled while the second file is being stored: that file is committed, reported as
    stored, and nothing after it is read; a rerun stores the rest, nothing twice."""
    logs = tmp_path / "logs"
    sizes = folder_of_batches(logs, 5)
    db = tmp_path / "m.duckdb"
    returncode, err = run_child(
        tmp_path,
        owner="IngestRun._load",
        module="mailhunt.ingest.run",
        argv=["ingest", str(logs), "--db", str(db)],
        signum=signum,
        after=2,
        setup="",
    )
    assert returncode == code
    assert_one_clean_line(
        err, f"interrupted by {name}", f"2 file(s) stored ({sum(sizes[:2])} new records)", "01"
    )
    assert stored(db) == (["00.jsonl", "01.jsonl"], sum(sizes[:2]))
    with Store.open(db) as store:
        assert ingest(store, [logs]).records_new == sum(sizes[2:])
    assert stored(db) == ([f"{n:02d}.jsonl" for n in range(5)], sum(sizes))


def test_signal_during_detect_ends_after_the_analytic(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    with Store.open(db) as store:
        ingest(store, [SCENARIO])
    setup = """
        from dataclasses import replace
        import mailhunt.detect.runner as runner
        real = runner.ANALYTICS["mailbox-first-seen-app"]
        runner.ANALYTICS = {"mailbox-first-seen-app": real, "copy": replace(real, id="copy")}
    """
    returncode, err = run_child(
        tmp_path,
        owner="_run_one",
        module="mailhunt.detect.runner",
        argv=["detect", "--db", str(db)],
        signum=signal.SIGINT,
        after=1,
        setup=setup,
    )
    assert returncode == 130
    assert_one_clean_line(err, "detect stopped after 1 of 2 analytic(s)", "not run: copy")
    with Store.open(db, create=False, read_only=True) as store:
        assert store.query("SELECT rule_id, count(*) FROM alerts GROUP BY ALL") == [
            ("mailbox-first-seen-app", 1)
        ]


@pytest.mark.parametrize("delay", [0.0, 0.4])
def test_sigint_at_some_moment_of_a_real_ingest(tmp_path: Path, delay: float) -> None:
    """No hook: SIGINT lands wherever the run is (a query, a commit, framing). Whatever it hit,
    no traceback, the store opens, every file reported stored has all its rows, and a rerun
    completes it exactly."""
    logs = tmp_path / "logs"
    sizes = folder_of_batches(logs, 40)
    db = tmp_path / "m.duckdb"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-m", "mailhunt.cli", "ingest", str(logs), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while not db.exists() and child.poll() is None:  # the handlers are in place by then
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    err = stderr.decode().splitlines()
    assert child.returncode in (0, 130), err
    if child.returncode == 130:
        assert_one_clean_line(err, "interrupted by SIGINT", "run it again to go on")
    names, rows = stored(db)
    assert rows == sum(sizes[int(name[:2])] for name in names)
    with Store.open(db) as store:
        ingest(store, [logs])
    assert stored(db) == ([f"{n:02d}.jsonl" for n in range(40)], sum(sizes))


@pytest.mark.parametrize(
    ("owner", "said"),
    [
        # before the store is opened: Typer used to turn the KeyboardInterrupt into a silent 130
        ("_discover", "interrupted by SIGINT; nothing stored"),
        # the store written, its summary being printed: the same, once the handlers were gone
        ("_print_ingest", "2 file(s) stored (5 new records)"),
    ],
)
def test_sigint_outside_the_transactions_of_ingest_is_one_line(
    tmp_path: Path, owner: str, said: str
) -> None:
    logs = tmp_path / "logs"
    folder_of_batches(logs, 2)
    returncode, err = run_child(
        tmp_path,
        owner=owner,
        module="mailhunt.cli",
        argv=["ingest", str(logs), "--db", str(tmp_path / "m.duckdb")],
        signum=signal.SIGINT,
        after=1,
        setup="",
    )
    assert returncode == 130
    assert_one_clean_line(err, "mailhunt: interrupted by SIGINT", said)


SLOW_IMPORT = """
import sys, time
from pathlib import Path

class SlowCli:  # pauses the import of the command line, as a loaded machine does
    def find_spec(self, name, path, target=None):
        if name == "mailhunt.cli":
            Path(sys.argv[1]).write_text("1\\n")
            time.sleep(1.0)
        return None

sys.meta_path.insert(0, SlowCli())
from mailhunt.launch import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signal_while_the_command_line_is_imported(
    tmp_path: Path, signum: int, code: int, name: str
) -> None:
    """The `mailhunt` entry point (launch.py) holds the signals while it imports the command
    line (before: a KeyboardInterrupt traceback from wherever the import was)."""
    marker, script = tmp_path / "marker", tmp_path / "child.py"
    script.write_text(SLOW_IMPORT)
    db = tmp_path / "m.duckdb"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(marker), "ingest", str(SCENARIO), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while not marker.exists():
            assert child.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == code
    assert_one_clean_line(stderr.decode().splitlines(), f"interrupted by {name}; nothing stored")
    assert not db.exists()


def test_python_dash_m_mailhunt_is_the_command(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "mailhunt", "--version"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
        timeout=DEADLINE,
    )
    assert (ran.returncode, ran.stdout.decode().strip()) == (0, f"mailhunt {mailhunt.__version__}")


# -- the stop hook itself, in process -------------------------------------------------------------


def test_ingest_asked_to_stop_ends_after_the_batch_in_progress(
    store: Store, tmp_path: Path
) -> None:
    sizes = folder_of_batches(tmp_path / "logs", 4)
    results: list[str] = []
    summary = ingest(
        store,
        [tmp_path / "logs"],
        on_file=lambda r: results.append(r.path.name),
        should_stop=lambda: bool(results),  # asked after each input: stop once one is stored
    )
    assert [f.path.name for f in summary.files] == ["00.jsonl"] == results
    assert summary.records_new == sizes[0]
    assert store.count("ingest_runs") == 1


def test_detect_asked_to_stop_first_runs_nothing(store: Store) -> None:
    ingest(store, [SCENARIO])
    analytic = ANALYTICS["mailbox-first-seen-app"]
    summary = run_detections(
        store, analytics=[analytic, replace(analytic, id="b")], should_stop=lambda: True
    )
    assert summary.not_run == ["mailbox-first-seen-app", "b"]
    assert store.count("alerts") == 0
