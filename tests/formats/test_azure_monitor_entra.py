"""The azure-monitor-entra group: Entra ID diagnostic-settings records of every category in one
file, each stored by the member its category means (sign-ins to signins, the rest to events)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mailhunt.formats import FORMATS, Sample, sniff
from mailhunt.formats._azure_monitor import GROUP
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, table_rows

MIXED = FIXTURES / "formats" / "azure_monitor_entra" / "azmon_entra_mixed_eventhub.json"
MEMBERS = {
    "azure-monitor-signins": (
        "SignInLogs",
        "NonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "ADFSSignInLogs",
    ),
    "azure-monitor-audit-logs": ("AuditLogs",),
    "azure-monitor-provisioning-logs": ("ProvisioningLogs",),
    "azure-monitor-identity-protection": (
        "RiskyUsers",
        "UserRiskEvents",
        "RiskyServicePrincipals",
        "ServicePrincipalRiskEvents",
    ),
    "azure-monitor-graph-activity-logs": ("MicrosoftGraphActivityLogs",),
}
OWNER = {category: member for member, categories in MEMBERS.items() for category in categories}


def _group_fixtures() -> list[Path]:
    folders = [FIXTURES / "formats" / f"{name.replace('-', '_')}" for name in MEMBERS]
    folders.append(MIXED.parent)
    return sorted(p for folder in folders for p in folder.glob("*.json") if p.name != "golden.json")


def _records(path: Path) -> list[dict[str, object]]:
    text = path.read_text("utf-8")
    if text.startswith("{\n"):  # an Event Hub message
        records: list[dict[str, object]] = json.loads(text)["records"]
        return records
    return [json.loads(line) for line in text.splitlines()]


def test_members_share_the_group_and_its_specificity() -> None:
    members = {name: fmt for name, fmt in FORMATS.items() if fmt.group == GROUP}
    assert set(members) == set(MEMBERS)
    assert len({fmt.specificity for fmt in members.values()}) == 1
    others = [fmt.specificity for fmt in FORMATS.values() if fmt.group != GROUP]
    assert next(iter(members.values())).specificity > max(others)


@pytest.mark.parametrize("path", _group_fixtures(), ids=lambda p: p.name)
def test_fixtures_claimed_by_the_members_of_their_categories_only(path: Path) -> None:
    records = _records(path)
    owners = {OWNER[str(r["category"])] for r in records if r.get("category") in OWNER}
    assert sorted(sniff(Sample("json", tuple(records)))) == sorted(owners)
    for record in records:  # and each record alone by its own member, or by none
        expected = [OWNER[str(record["category"])]] if record.get("category") in OWNER else []
        assert sniff(Sample("json", (record,))) == expected


def _kept_by(rows: list[tuple[str | None, str | None, str | None]]) -> list[list[str]]:
    """For each (category, time, properties) row: the members whose `skip` keeps it."""
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE records (n INTEGER, category VARCHAR, time VARCHAR, properties VARCHAR)"
    )
    connection.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)", [(n, *row) for n, row in enumerate(rows)]
    )
    kept: list[list[str]] = [[] for _ in rows]
    for name in sorted(MEMBERS):
        skip = FORMATS[name].skip
        assert skip is not None
        for (n,) in connection.execute(
            f"SELECT n FROM records WHERE NOT coalesce(({skip}), false) ORDER BY n"
        ).fetchall():
            kept[n].append(name)
    return kept


def test_each_category_is_kept_by_exactly_one_member() -> None:
    categories = list(OWNER)
    rows = [(category, "2024-03-04T09:00:00Z", "{}") for category in categories]
    rows.append(("auditlogs", "2024-03-04T09:00:00Z", "{}"))  # category names are case-blind
    assert _kept_by(rows) == [[OWNER[c]] for c in categories] + [["azure-monitor-audit-logs"]]


def test_unknown_or_missing_category_is_skipped_by_all_and_garbage_kept_by_all() -> None:
    kept = _kept_by(
        [
            ("NetworkAccessTrafficLogs", "2024-03-04T09:00:00Z", "{}"),
            ("EnrichedOffice365AuditLogs", "2024-03-04T09:00:00Z", "{}"),
            (None, "2024-03-04T09:00:00Z", "{}"),  # an envelope no member can route
            (None, None, None),  # a line that is not an object: each member quarantines it
        ]
    )
    assert kept == [[], [], [], sorted(MEMBERS)]


# Ingest reads a group's file once per member: 3 sign-ins (interactive,
# non-interactive, service principal), 4 events (audit, Graph request, provisioning, risky
# user), 1 record skipped (NetworkAccessTrafficLogs), 1 quarantined (the audit without id).
def test_mixed_file_routes_every_record_to_its_table(store: Store) -> None:
    summary = ingest(store, [MIXED])
    assert {f.status for f in summary.files} == {"ingested"}
    assert sum(f.records_new for f in summary.files) == 7
    assert sum(f.skipped_lines for f in summary.files) == 1
    assert sum(f.quarantined for f in summary.files) == 1
    signins = {(r["record_id"], r["source"]) for r in table_rows(store, "signins")}
    assert signins == {
        ("b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a0001", "azure-monitor-signins"),  # SignInLogs
        ("b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a0002", "azure-monitor-signins"),  # NonInteractive...
        ("b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a0003", "azure-monitor-signins"),  # ServicePrincipal...
    }
    events = {(r["record_id"], r["source"]) for r in table_rows(store, "events")}
    assert events == {
        (
            "Directory_5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f80_KQ2B7_90901111",
            "azure-monitor-audit-logs",
        ),
        ("5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b01", "azure-monitor-graph-activity-logs"),
        ("8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f", "azure-monitor-provisioning-logs"),
        (
            "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d|2024-03-04T11:02:38.702Z",
            "azure-monitor-identity-protection",
        ),
    }
    assert store.query("SELECT line, format, reason, detail FROM quarantine") == [
        (9, "azure-monitor-audit-logs", "missing_id", "record has no id (properties.id)")
    ]
    # every stored record's bytes once, whoever stored it (7 rows; the quarantined record's
    # bytes are in quarantine, the skipped line is no record)
    assert store.count("record_spans") == 7
