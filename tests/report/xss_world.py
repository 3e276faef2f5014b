"""A store whose every attacker-controlled field holds an XSS payload, for the HTML report tests.

The payloads (``tests/fixtures/report/xss.json``) go through the injection tests' data world
(``tests/injection_world.write_data_world``: mailbox, UPN, application, user agent, client IP,
session, tenant, folder, Internet Message-ID, inbox rule name and words, sign-in fields), one input
file is named after a payload, detection runs, and one alert per payload names every record of
its mailbox (so each payload is in scope and reaches the blast-radius tables and timelines), with
the payload in its rule id, title, summary and lists as well. The incident build groups them; two
more incidents (tests/report/incident_rows.py) carry payloads in their title, assignee and note.
"""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.investigate.incidents import build_incidents
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at
from tests.injection_world import write_data_world
from tests.report.incident_rows import store_incident

# Payloads a file name can hold (no "/"), for the name of one input file.
FILE_NAME_PAYLOAD = "<img src=x onerror=window.__xss=1> '\"ual.jsonl"


def xss_corpus() -> dict[str, str]:
    data = json.loads((FIXTURES / "report" / "xss.json").read_text(encoding="utf-8"))
    return dict(data["strings"])


def _alert_rows(corpus: dict[str, str]) -> list[dict[str, object]]:
    return [
        {
            "id": f"xss-{i:03d}",
            "rule_id": value,
            "title": value,
            "severity": "high",
            "technique": value,
            "entity": json.dumps([value]),
            "summary": f"payload {key}: {value}",
            "tenant_ids": [value],
            "mailboxes": [value.lower()],
            "users": [value],
            "app_ids": [value],
            "client_ips": [value],
            "first_seen": at(10, 9),
            "last_seen": at(10, 11),
            "event_count": 2,
            "created_at": at(11),
            "why": json.dumps({"baseline": value, "new": value}),
            "techniques": [value],
            "suppressed_by": None,
        }
        for i, (key, value) in enumerate(corpus.items())
    ]


def build_xss_store(folder: Path) -> Path:
    """The store (a file under ``folder``) built from the payload world; returns its path."""
    corpus = xss_corpus()
    inputs = folder / "inputs"
    write_data_world(inputs, corpus)
    (inputs / "ual.jsonl").rename(inputs / FILE_NAME_PAYLOAD)
    db = folder / "xss.duckdb"
    with Store.open(db) as store:
        ingest(store, [inputs])
        run_detections(store)
        rows = _alert_rows(corpus)
        store.insert_rows("alerts", rows)
        evidence = store.query(
            "SELECT a.id, e.record_id FROM events e "
            "JOIN (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::VARCHAR[]) AS mailbox) a "
            "ON e.mailbox_upn = a.mailbox",
            [[r["id"] for r in rows], [r["mailboxes"][0] for r in rows]],  # type: ignore[index]
        )
        store.insert_rows(
            "alert_evidence", [{"alert_id": a, "record_id": r} for a, r in set(evidence)]
        )
        build_incidents(store)  # the build's own incidents over the payloads
        _incidents(store, corpus, [str(r["id"]) for r in rows])
    return db


def _incidents(store: Store, corpus: dict[str, str], alert_ids: list[str]) -> None:
    """Two incidents: the payloads' first half and second half, each titled, assigned and noted
    with payloads."""
    values = list(corpus.values())
    half = len(alert_ids) // 2
    for number, (ids, value) in enumerate(
        [(alert_ids[:half], values[0]), (alert_ids[half:], values[-1])], start=1
    ):
        store_incident(
            store,
            f"inc-{number}",
            ids,
            title=value,
            assignee=values[number],
            note=(values[number + 1], values[number + 2]),
            at=at(12),
        )
