"""OCSF export: one Detection Finding (class 2004) per alert, each validated by py-ocsf-models
(here again, independently of the exporter's own check), mapped as documented."""

from __future__ import annotations

import json

import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from mailhunt.export import export_files
from mailhunt.export.to_ocsf import InvalidFindingError, validated
from mailhunt.store.db import Store
from tests.export.world import ALERT_HIGH, ATTACKER_IP
from tests.helpers import check_golden


def findings(store: Store) -> list[dict[str, object]]:
    _, files = export_files(store, "ocsf", "alerts")
    return [json.loads(line) for line in files[0].text.splitlines()]


def test_golden(world: Store) -> None:
    check_golden("export/alerts.ocsf.json", findings(world))


def test_every_finding_validates(world: Store) -> None:
    exported = findings(world)
    assert len(exported) == 2
    for finding in exported:
        model = DetectionFinding.model_validate(finding)
        assert model.class_uid == 2004
        assert model.category_uid == 2
        assert model.model_dump(mode="json", exclude_unset=True) == finding


def test_mapping(world: Store) -> None:
    high = next(f for f in findings(world) if f["finding_info"]["uid"] == ALERT_HIGH)
    assert high["severity_id"] == 5
    assert high["type_uid"] == 200401
    assert high["metadata"]["product"]["name"] == "mailhunt"
    info = high["finding_info"]
    assert info["analytic"] == {
        "uid": "token-without-signin",
        "name": "Mail read with a token no sign-in issued",
        "type": "Rule",
        "type_id": 1,
    }
    assert [a["sub_technique"]["uid"] for a in info["attacks"]] == ["T1550.001", "T1114.002"]
    assert [a["technique"]["uid"] for a in info["attacks"]] == ["T1550", "T1114"]
    observed = {(o["type_id"], o["value"]) for o in high["observables"]}
    assert (2, ATTACKER_IP) in observed
    assert (5, "bob@contoso.com") in observed
    assert high["unmapped"]["event_ids"] == ["ev-001", "ev-002", "ev-003"]
    assert high["evidences"][0]["data"]["token_ids"] == ["uti-1", "uti-2"]


def test_unknown_field_is_refused() -> None:
    finding = findings_of_one()
    with pytest.raises(InvalidFindingError, match="fields the models do not keep"):
        validated({**finding, "not_ocsf": 1})
    with pytest.raises(InvalidFindingError, match="severity_id"):
        validated({**finding, "severity_id": 42})


def findings_of_one() -> dict[str, object]:
    from tests.export.world import build

    with Store.open(None) as store:
        build(store)
        return findings(store)[0]
