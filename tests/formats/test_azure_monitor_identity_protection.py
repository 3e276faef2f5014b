"""Azure Monitor diagnostic-settings Identity Protection records (RiskyUsers, UserRiskEvents,
RiskyServicePrincipals, ServicePrincipalRiskEvents) onto the events table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.formats.azure_monitor_identity_protection import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    ROGUE_APP,
    TENANT,
    Record,
    check_golden_file,
    sniffed_as,
    table_rows,
)

HERE = FIXTURES / "formats" / "azure_monitor_identity_protection"
RISKY_USERS = HERE / "azmon_risky_users_PT1H.json"
USER_RISK_EVENTS = HERE / "azmon_user_risk_events_eventhub.json"
RISKY_SERVICE_PRINCIPALS = HERE / "azmon_risky_service_principals_PT1H.json"
SERVICE_PRINCIPAL_RISK_EVENTS = HERE / "azmon_service_principal_risk_events_PT1H.json"
FILES = [RISKY_USERS, USER_RISK_EVENTS, RISKY_SERVICE_PRINCIPALS, SERVICE_PRINCIPAL_RISK_EVENTS]
ALICE_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SP_ID = "d8e9f0a1-b2c3-4d4e-8f5a-6b7c8d9e0f1a"
ANOMALY_DETECTION = "1e9b6d3c0b54d7f2a8c4e1f09d2b7a6c5e3f1d0b9a8c7e6f5d4c3b2a1f0e9d8c"
UNFAMILIAR = "7c2f4e1a9b8d6c5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e"
SP_DETECTION = "4b7d0e3a6c9f2b5e8a1d4c7f0b3e6a9d2c5f8b1e4a7d0c3f6b9e2a5d8c1f4b70"


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    summary = ingest(store, FILES)
    assert [(f.format, f.records_new, f.quarantined) for f in summary.files] == [
        (FORMAT.name, 2, 0),
        (FORMAT.name, 2, 0),
        (FORMAT.name, 1, 0),
        (FORMAT.name, 1, 0),
    ]
    return {row["record_id"]: row for row in table_rows(store, "events")}


def test_rows_match_golden(events: dict[str, Record]) -> None:
    columns = [*FORMAT.select, "source", "source_ref"]
    rows = [{c: row[c] for c in columns} for row in events.values()]
    check_golden_file(HERE / "golden.json", {"rows": rows})


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_category_file_sniffed(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


@pytest.mark.parametrize(
    ("category", "claimed"),
    [
        ("RiskyUsers", True),
        ("UserRiskEvents", True),
        ("RiskyServicePrincipals", True),
        ("ServicePrincipalRiskEvents", True),
        ("RiskyUser", False),
        ("SignInLogs", False),
    ],
)
def test_sniff_claims_risk_categories_only(tmp_path: Path, category: str, claimed: bool) -> None:
    record = {"time": "x", "category": category, "properties": {"id": "1"}}
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


def test_each_risk_state_of_a_user_is_kept(events: dict[str, Record]) -> None:
    states = [
        (row["record_id"], row["time"], row["result"])
        for row in events.values()
        if row["operation"] == "Risky user"
    ]
    assert states == [
        (f"{ALICE_ID}|2024-03-04T11:02:38.702Z", "2024-03-04T11:02:38.702000Z", "atRisk"),
        (f"{ALICE_ID}|2024-03-05T08:15:01.093Z", "2024-03-05T08:15:01.093000Z", "remediated"),
    ]
    assert {row["actor_upn"] for row in events.values() if row["operation"] == "Risky user"} == {
        "alice.walker@contoso.onmicrosoft.com"
    }


def test_detection_is_its_risk_event_type_at_the_activity_time(
    events: dict[str, Record],
) -> None:
    token = events[f"{ANOMALY_DETECTION}|2024-03-04T10:58:16.894Z"]
    assert (token["operation"], token["result"], token["time"]) == (
        "anomalousToken",
        "atRisk",
        "2024-03-04T10:45:00.250000Z",  # activityDateTime: the risky sign-in, not the detection
    )
    assert (token["client_ip"], token["user_agent"], token["tenant_id"]) == (
        "198.51.100.77",
        "python-requests/2.31.0",  # from additionalInfo, JSON text
        TENANT,
    )
    assert events[f"{UNFAMILIAR}|2024-03-04T09:12:29.5Z"]["user_agent"].startswith("Mozilla/5.0")


def test_service_principal_risk_names_the_application(events: dict[str, Record]) -> None:
    risky = events[f"{SP_ID}|2024-03-04T12:30:04.12Z"]
    detection = events[f"{SP_DETECTION}|2024-03-04T12:29:57.1Z"]
    assert (risky["operation"], risky["actor_upn"], risky["app_id"]) == (
        "Risky service principal",
        "mail sync helper",
        ROGUE_APP,
    )
    assert (detection["operation"], detection["actor_upn"], detection["app_id"]) == (
        "suspiciousSignins",
        "mail sync helper",
        ROGUE_APP,
    )
    assert detection["user_agent"] is None  # additionalInfo "[]"


def test_update_time_from_the_envelope_in_us_order(tmp_path: Path, store: Store) -> None:
    record = json.loads(RISKY_USERS.read_text("utf-8").splitlines()[1])
    del record["properties"]["riskLastUpdatedDateTime"]  # "time": "3/5/2024 8:15:02 AM"
    path = tmp_path / "PT1H.json"
    path.write_text(json.dumps(record) + "\n")
    assert ingest(store, [path]).files[0].records_new == 1
    row = table_rows(store, "events")[0]
    assert (row["record_id"], row["time"]) == (
        f"{ALICE_ID}|3/5/2024 8:15:02 AM",
        "2024-03-05T08:15:02Z",
    )


def test_malformed_records_are_quarantined_and_the_rest_kept(tmp_path: Path, store: Store) -> None:
    good = json.loads(RISKY_USERS.read_text("utf-8").splitlines()[0])
    no_id = {**good, "properties": {k: v for k, v in good["properties"].items() if k != "id"}}
    bad_time = {
        **good,
        "time": "whenever",
        "properties": {**good["properties"], "id": "x", "riskLastUpdatedDateTime": "never"},
    }
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join(json.dumps(r) for r in (good, no_id, bad_time)) + "\n")
    result = ingest(store, [path]).files[0]
    assert (result.format, result.records_new, result.quarantined) == (FORMAT.name, 1, 2)
    assert store.query("SELECT line, reason, detail FROM quarantine ORDER BY line") == [
        (2, "missing_id", "record has no id (properties.id)"),
        (3, "bad_time", "record time cannot be parsed: 'whenever'"),
    ]


def test_same_records_twice_change_nothing(store: Store) -> None:
    ingest(store, FILES)
    assert [f.records_new for f in ingest(store, FILES).files] == [0, 0, 0, 0]
    assert store.count("events") == 6
