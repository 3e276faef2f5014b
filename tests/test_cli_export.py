"""`mailhunt export`: each format to a file, exit codes, one line for what cannot be done."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import stix2

from mailhunt.store.db import Store
from tests.export.world import build
from tests.injection_world import run


@pytest.fixture
def db(db_path: Path) -> Path:
    with Store.open(db_path) as store:
        build(store)
    return db_path


def export(db: Path, *args: str) -> tuple[int, str, str]:
    result = run(["export", "--db", str(db), *args])
    return result.code, result.out, result.err


def test_each_format(db: Path, tmp_path: Path) -> None:
    written = {}
    for name in ("jsonl", "csv", "ocsf", "stix"):
        out = tmp_path / f"alerts.{name}"
        code, stdout, stderr = export(db, "--format", name, "--out", str(out))
        assert (code, stderr) == (0, "")
        assert stdout == f"exported 2 alerts as {name}: {out}\n"
        written[name] = out.read_text("utf-8")
    assert len(written["jsonl"].splitlines()) == 2
    assert len(list(csv.reader(io.StringIO(written["csv"])))) == 3
    assert [json.loads(x)["class_uid"] for x in written["ocsf"].splitlines()] == [2004, 2004]
    stix2.parse(written["stix"], allow_custom=False)
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left


def test_replaces_a_file_and_keeps_its_mode(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    out.write_text("old\n")
    out.chmod(0o640)
    assert export(db, "--format", "jsonl", "--out", str(out))[0] == 0
    assert out.read_text().startswith('{"id":')
    assert out.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "where", ["missing/dir/out.jsonl", ".", "read-only/out.jsonl"], ids=["no-dir", "dir", "ro"]
)
def test_unwritable_out_is_one_line(db: Path, tmp_path: Path, where: str) -> None:
    (tmp_path / "read-only").mkdir()
    (tmp_path / "read-only").chmod(0o500)
    out = tmp_path / where
    code, stdout, stderr = export(db, "--format", "jsonl", "--out", str(out))
    if code == 0:  # root writes into a read-only folder
        assert where.startswith("read-only")
        return
    assert code == 2
    assert stdout == ""
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith(f"mailhunt: cannot write {out}")
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml", "--out", "x"], "'xml' is not one of csv, jsonl, ocsf, stix"),
        (["--format", "csv", "--out", "x", "--what", "nope"], "'nope' is not one of"),
        (["--format", "csv"], "Missing option '--out'"),
        (["--out", "x"], "Missing option '--format'"),
    ],
)
def test_usage_errors(db: Path, args: list[str], message: str) -> None:
    code, _, stderr = export(db, *args)
    assert code == 2
    assert message in stderr
    assert len(stderr.splitlines()) == 1


def test_missing_database(tmp_path: Path) -> None:
    code, _, stderr = export(tmp_path / "none.duckdb", "--format", "csv", "--out", "x")
    assert code == 2
    assert len(stderr.splitlines()) == 1


def test_incidents_csv_to_a_directory(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    code, stdout, _ = export(db, "--format", "csv", "--what", "incidents", "--out", str(out))
    assert code == 0
    assert stdout.startswith("exported 1 incidents as csv: ")
    assert sorted(p.name for p in out.iterdir()) == [
        "incident_alerts.csv",
        "incident_messages.csv",
        "incident_records.csv",
        "incidents.csv",
    ]
