"""Work folders (issue 8, finding 6): decompressed copies never outlive their batch, a run
removes its folder however it ends, and what a killed run left is swept by the next run."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mailhunt.ingest import FileResult, ingest
from mailhunt.ingest.workdir import MARKER, PREFIX, STALE_AFTER_HOURS, sweep_stale, work_folder
from mailhunt.store.db import Store
from tests.helpers import at, ual_record


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder runs put their work folders in, for this test alone."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _gz(path: Path, prefix: str) -> None:
    lines = [json.dumps(ual_record(f"{prefix}-{n}", at(0, 9, n))) for n in range(3)]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))


def test_members_are_removed_once_stored_and_the_folder_at_the_end(
    store: Store, tmp_path: Path, temp_root: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for n in range(3):
        _gz(inputs / f"day{n}.jsonl.gz", f"d{n}")
    left: list[list[Path]] = []

    def on_file(_: FileResult) -> None:
        [work] = temp_root.glob(PREFIX + "*")
        left.append([p for p in work.rglob("*") if p.is_file() and p.name != MARKER])

    summary = ingest(store, [inputs], on_file=on_file)

    assert [f.records_new for f in summary.files] == [3, 3, 3]
    assert left == [[], [], []]
    assert list(temp_root.iterdir()) == []


def _interrupted() -> None:
    with work_folder() as work:
        (work / "member.jsonl").write_text("{}\n")
        raise KeyboardInterrupt


def test_a_run_that_raises_removes_its_folder(temp_root: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _interrupted()
    assert list(temp_root.iterdir()) == []


def _killed_run(root: Path) -> Path:
    """A process that opened a work folder in `root` and was killed with SIGKILL."""
    code = (
        "import sys, time; from pathlib import Path\n"
        "from mailhunt.ingest.workdir import work_folder\n"
        "with work_folder(Path(sys.argv[1])) as work:\n"
        "    (work / 'member.jsonl').write_bytes(b'x' * 1000)\n"
        "    print(work, flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert child.stdout is not None
    work = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    return work


def test_what_a_killed_run_left_is_swept_by_the_next(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    work = _killed_run(root)
    assert (work / "member.jsonl").exists()  # SIGKILL leaves the folder behind

    with work_folder(root) as mine:
        assert sorted(root.iterdir()) == [mine]  # the dead run's folder is gone
        assert mine != work


def test_only_folders_of_runs_that_are_gone_are_swept(tmp_path: Path) -> None:
    now = time.time()
    host = socket.gethostname()

    def folder(name: str, marker: str | None, age_hours: float) -> Path:
        path = tmp_path / f"{PREFIX}{name}"
        path.mkdir()
        if marker is not None:
            (path / MARKER).write_text(marker)
        os.utime(path, (now - age_hours * 3600, now - age_hours * 3600))
        return path

    live = folder("live", f"{host} {os.getpid()}", STALE_AFTER_HOURS * 2)
    dead = folder("dead", f"{host} {2**22 + 12345}", 0)
    unmarked_young = folder("young", None, 1)
    unmarked_old = folder("old", None, STALE_AFTER_HOURS + 1)
    elsewhere_young = folder("other-host", "some-other-host 1", 1)
    other = tmp_path / "mailhunt-demo-keep"
    other.mkdir()

    removed = sweep_stale(tmp_path, now=now)

    assert sorted(removed) == sorted([dead, unmarked_old])
    assert sorted(tmp_path.iterdir()) == sorted([live, unmarked_young, elsewhere_young, other])
