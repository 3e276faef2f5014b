"""`mailhunt notify`: one line per tenant written, the directory rules, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.notify import FILES, folder_name
from mailhunt.store.db import Store
from tests.injection_world import run
from tests.notify.world import ALPHA, BRAVO, CHARLIE, build


@pytest.fixture
def db(db_path: Path) -> Path:
    with Store.open(db_path) as store:
        build(store)
    return db_path


def notify(db: Path, *args: str) -> tuple[int, str, str]:
    result = run(["notify", "--db", str(db), *args])
    return result.code, result.out, result.err


def test_writes_one_folder_per_affected_tenant(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "notices"
    code, stdout, stderr = notify(db, "--out", str(out))
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{ALPHA}: {out / folder_name(ALPHA)} (1 incident(s), 2 mailbox")
    assert lines[1].startswith(f"{BRAVO}: {out / folder_name(BRAVO)} (1 incident(s), 1 mailbox")
    for tenant in (ALPHA, BRAVO):
        assert sorted(p.name for p in (out / folder_name(tenant)).iterdir()) == sorted(FILES)


def test_a_directory_holding_anything_needs_force(db: Path, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "mine.txt").write_text("keep me")
    code, stdout, stderr = notify(db, "--out", str(tmp_path))
    assert (code, stdout) == (2, "")
    assert len(stderr.splitlines()) == 1
    assert "is not empty" in stderr
    assert "--force" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
    code, stdout, _ = notify(db, "--out", str(tmp_path), "--force")
    assert code == 0
    assert len(stdout.splitlines()) == 2
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    code, _, _ = notify(db, "--out", str(tmp_path), "--force")  # again: replaced, nothing else
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["mine.txt", folder_name(ALPHA), folder_name(BRAVO)]
    )


def test_a_tenant_folder_that_is_a_link_is_refused(db: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / folder_name(ALPHA)).symlink_to(elsewhere)
    code, _, stderr = notify(db, "--out", str(out), "--force")
    assert code == 2
    assert len(stderr.splitlines()) == 1
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize("where", ["a-file", "read-only/out"])
def test_unwritable_out_is_one_line(db: Path, tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "read-only").mkdir()
    (tmp_path / "read-only").chmod(0o500)
    code, stdout, stderr = notify(db, "--out", str(tmp_path / where))
    if code == 0:  # root writes into a read-only folder
        assert where.startswith("read-only")
        return
    assert (code, stdout) == (2, "")
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("mailhunt: cannot write")
    assert "Traceback" not in stderr


def test_one_incident(db: Path, tmp_path: Path) -> None:
    with Store.open(db, read_only=True) as store:
        [(bravo,)] = store.query("SELECT id FROM incidents WHERE tenant_ids = [$1]", [BRAVO])
        [(charlie,)] = store.query("SELECT id FROM incidents WHERE tenant_ids = [$1]", [CHARLIE])
    code, stdout, _ = notify(db, "--out", str(tmp_path / "one"), "--incident", bravo)
    assert code == 0
    assert stdout.startswith(f"{BRAVO}: ")
    assert [p.name for p in (tmp_path / "one").iterdir()] == [folder_name(BRAVO)]
    code, stdout, stderr = notify(db, "--out", str(tmp_path / "fp"), "--incident", charlie)
    assert (code, stdout) == (2, "")
    assert "false-positive" in stderr
    assert len(stderr.splitlines()) == 1
    code, _, stderr = notify(db, "--out", str(tmp_path / "x"), "--incident", "INC-NOPE")
    assert code == 2
    assert "no incident" in stderr
    assert not (tmp_path / "fp").exists()
    assert not (tmp_path / "x").exists()


def test_usage(db: Path) -> None:
    code, _, stderr = notify(db)
    assert code == 2
    assert "Missing option '--out'" in stderr
