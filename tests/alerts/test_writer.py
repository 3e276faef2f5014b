"""The alert writer keeps an analytic's optional why (a JSON object) and its techniques; the
JSON Lines contract gains them as fields, never renaming one."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mailhunt.alerts.query import list_alerts
from mailhunt.detect.runner import run_detections
from mailhunt.report.alerts import JSONL_FIELDS, to_csv, to_jsonl, why_short
from mailhunt.store.db import Store
from tests.alerts.test_suppressions import detection, fake

# the fields of the foundation's contract, in their order: new fields only come after
FOUNDATION_FIELDS = (
    "id",
    "rule_id",
    "title",
    "severity",
    "technique",
    "summary",
    "tenant_ids",
    "mailboxes",
    "users",
    "app_ids",
    "client_ips",
    "first_seen",
    "last_seen",
    "event_count",
    "event_ids",
    "entity",
    "created_at",
)


def with_why(expression: str) -> str:
    analytic = fake([detection("a")])
    return f"SELECT *, {expression} AS why FROM ({analytic.sql})"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("""'{"baseline": "apps seen", "new": ["x"]}'""", {"baseline": "apps seen", "new": ["x"]}),
        ("to_json(struct_pack(baseline := 1, new := 'y'))", {"baseline": 1, "new": "y"}),
        ("struct_pack(baseline := 1, new := 'y')", {"baseline": 1, "new": "y"}),
        ("'not json'", None),
        ("'[1, 2]'", None),
        ("NULL", None),
    ],
)
def test_why_is_kept_when_it_is_a_json_object(
    store: Store, expression: str, expected: object
) -> None:
    analytic = replace(fake([]), sql=with_why(expression))
    run_detections(store, analytics=[analytic])
    [alert] = list_alerts(store)
    assert alert.why == expected


def test_without_why_the_alert_has_none_and_techniques_from_the_analytic(store: Store) -> None:
    analytic = replace(fake([detection("a")]), techniques=("T1114.002", "T1550.001"))
    run_detections(store, analytics=[analytic])
    [alert] = list_alerts(store)
    assert (alert.why, alert.techniques, alert.technique) == (
        None,
        ["T1114.002", "T1550.001"],
        "T1114.002",
    )


def test_jsonl_adds_fields_and_renames_none(store: Store) -> None:
    assert JSONL_FIELDS[: len(FOUNDATION_FIELDS)] == FOUNDATION_FIELDS
    assert JSONL_FIELDS[len(FOUNDATION_FIELDS) :] == (
        "techniques",
        "why",
        "suppressed_by",
        "campaign_id",
    )
    analytic = replace(fake([]), sql=with_why("""'{"baseline": "b", "new": {"app": "x"}}'"""))
    run_detections(store, analytics=[analytic])
    [record] = [json.loads(line) for line in to_jsonl(list_alerts(store)).splitlines()]
    assert list(record) == list(JSONL_FIELDS)
    assert record["why"] == {"baseline": "b", "new": {"app": "x"}}
    assert (record["techniques"], record["suppressed_by"]) == (["T1114.002"], None)
    header, row = to_csv(list_alerts(store)).splitlines()
    assert header.endswith(",techniques,why,suppressed_by,campaign_id")
    assert row.endswith(',T1114.002,"{""baseline"":""b"",""new"":{""app"":""x""}}",,')


def test_why_short_for_people() -> None:
    assert why_short(None) == ""
    assert why_short({"new": "app x", "extra": 1, "baseline": {"apps": ["a"]}}) == (
        'baseline: {"apps":["a"]}; new: app x; extra: 1'
    )
    assert why_short({"new": "y" * 100}) == "new: " + "y" * 57 + "..."
