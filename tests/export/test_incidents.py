"""The incidents subject in every format: the incident, its alerts, the records attributed and
the messages read; goldens of the hand-built world; analysts' notes never exported."""

from __future__ import annotations

import csv
import io
import json

import pytest
import stix2
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from mailhunt.export import EXPORTERS, export_files
from mailhunt.store.db import Store
from tests.export.world import ALERT_HIGH, ALERT_SUPPRESSED, INCIDENT
from tests.helpers import check_golden


def files(store: Store, name: str) -> dict[str, str]:
    count, written = export_files(store, name, "incidents")
    assert count == 1
    return {f.name: f.text for f in written}


def test_jsonl(world: Store) -> None:
    (text,) = files(world, "jsonl").values()
    (record,) = [json.loads(line) for line in text.splitlines()]
    assert record["id"] == INCIDENT
    assert [a["id"] for a in record["alerts"]] == [ALERT_HIGH, ALERT_SUPPRESSED]
    assert record["event_ids"] == ["ev-001", "ev-002"]
    assert record["messages"] == ["<ev-002@contoso.onmicrosoft.com>"]
    assert [r["link"] for r in record["blast_radius"]["records"]] == ["evidence", "token"]
    check_golden("export/incidents.jsonl.json", record)


def test_csv_is_four_files(world: Store) -> None:
    written = files(world, "csv")
    assert list(written) == [
        "incidents.csv",
        "incident_alerts.csv",
        "incident_records.csv",
        "incident_messages.csv",
    ]
    tables = {name: list(csv.reader(io.StringIO(text))) for name, text in written.items()}
    assert [len(rows) for rows in tables.values()] == [2, 3, 3, 2]
    check_golden("export/incidents.csv.json", tables)


def test_ocsf_validates(world: Store) -> None:
    (text,) = files(world, "ocsf").values()
    (finding,) = [json.loads(line) for line in text.splitlines()]
    model = DetectionFinding.model_validate(finding)
    assert model.model_dump(mode="json", exclude_unset=True) == finding
    assert finding["status"] == "In Progress"
    assert finding["unmapped"]["alert_ids"] == [ALERT_HIGH, ALERT_SUPPRESSED]
    check_golden("export/incidents.ocsf.json", finding)


def test_stix_parses(world: Store) -> None:
    (text,) = files(world, "stix").values()
    bundle = stix2.parse(text, allow_custom=False)
    refs = {
        r.external_id
        for o in bundle.objects
        if o.type == "indicator"
        for r in o.external_references
    }
    assert refs == {ALERT_HIGH, ALERT_SUPPRESSED}
    check_golden("export/incidents.stix.json", json.loads(text))


@pytest.mark.parametrize("name", sorted(EXPORTERS))
@pytest.mark.parametrize("subject", ["alerts", "incidents"])
def test_nothing_secret(world: Store, name: str, subject: str) -> None:
    """Notes stay in the store; no file path of the analyst's machine leaves it."""
    _, written = export_files(world, name, subject)
    for file in written:
        assert "SECRET-NOTE" not in file.text
        assert "/data/" not in file.text  # source_ref
