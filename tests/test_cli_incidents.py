"""mailhunt incidents, incident show/set and blast-radius: outputs, the JSON Lines contract's
key order (golden), unknown ids as one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.report.incidents import INCIDENT_FIELDS
from mailhunt.store.db import Store
from tests.helpers import check_golden
from tests.investigate.incident_world import (
    EVIL_APP,
    EVIL_IP,
    add_alert,
    add_events,
    day,
    read,
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


@pytest.fixture
def incident_db(db_path: Path) -> Path:
    with Store.open(db_path) as store:
        add_events(
            store,
            [
                read(
                    "x1",
                    day(0),
                    "alice@a.example",
                    app=EVIL_APP,
                    ip=EVIL_IP,
                    aad="e1",
                    messages=(("\\Inbox", "<m1@a>"),),
                ),
                read(
                    "x2",
                    day(0, 10),
                    "bob@a.example",
                    app=EVIL_APP,
                    ip=EVIL_IP,
                    aad="e1",
                    messages=(("\\Inbox", '=HYPERLINK("http://x")'),),
                ),
            ],
        )
        add_alert(store, "alert-1", ["x1"], when=day(0))
    return db_path


def _one_id(capsys: pytest.CaptureFixture[str], db: Path) -> str:
    code, out, _ = run(capsys, "incidents", "--db", str(db), "--format", "jsonl")
    assert code == 0
    [line] = out.splitlines()
    return str(json.loads(line)["id"])


def test_incidents_jsonl_key_order_is_the_contract(
    capsys: pytest.CaptureFixture[str], incident_db: Path
) -> None:
    code, out, _ = run(capsys, "incidents", "--db", str(incident_db), "--format", "jsonl")
    assert code == 0
    record = json.loads(out.splitlines()[0])
    assert tuple(record) == INCIDENT_FIELDS
    check_golden("incidents/jsonl_fields.json", list(record))
    assert record["event_ids"] == ["x1", "x2"]
    assert record["messages"] == ["<m1@a>", '=HYPERLINK("http://x")']
    assert record["campaign_id"] is None


def test_incidents_csv_guards_formulas(
    capsys: pytest.CaptureFixture[str], incident_db: Path
) -> None:
    incident = _one_id(capsys, incident_db)
    code, out, _ = run(
        capsys, "blast-radius", incident, "--db", str(incident_db), "--format", "csv"
    )
    assert code == 0
    cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
    assert not any(c.startswith("=") for c in cells)
    assert any("HYPERLINK" in c for c in cells)
    code, out, _ = run(capsys, "incidents", "--db", str(incident_db), "--format", "csv")
    assert code == 0
    assert out.startswith("id,title,severity,status")


def test_table_show_set_and_blast_radius(
    capsys: pytest.CaptureFixture[str], incident_db: Path
) -> None:
    incident = _one_id(capsys, incident_db)
    code, out, _ = run(capsys, "incidents", "--db", str(incident_db))
    assert code == 0
    assert incident in out
    code, out, _ = run(
        capsys,
        "incident",
        "set",
        incident,
        "--db",
        str(incident_db),
        "--status",
        "investigating",
        "--assignee",
        "ana",
        "--note",
        "on it",
    )
    assert code == 0
    assert "investigating" in out
    code, out, _ = run(capsys, "incident", "show", incident, "--db", str(incident_db))
    assert code == 0
    assert "on it" in out
    assert "status: new -> investigating" in out
    code, out, _ = run(capsys, "blast-radius", incident, "--db", str(incident_db))
    assert code == 0
    assert "bob@a.example" in out
    code, out, _ = run(
        capsys, "blast-radius", incident, "--db", str(incident_db), "--format", "jsonl"
    )
    sections = {json.loads(line)["section"] for line in out.splitlines()}
    assert sections == {"mailbox", "message", "record"}


@pytest.mark.parametrize(
    "argv",
    [
        ("incident", "show", "INC-NOPE"),
        ("incident", "set", "INC-NOPE", "--note", "x"),
        ("blast-radius", "INC-NOPE"),
    ],
)
def test_unknown_id_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], incident_db: Path, argv: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *argv, "--db", str(incident_db))
    assert code == 2
    assert len(err) == 1
    assert "INC-NOPE" in err[0]


def test_bad_status_is_a_usage_error(capsys: pytest.CaptureFixture[str], incident_db: Path) -> None:
    incident = _one_id(capsys, incident_db)
    code, _, err = run(
        capsys, "incident", "set", incident, "--db", str(incident_db), "--status", "closed"
    )
    assert code == 2
    assert "closed" in " ".join(err)
