"""Google Workspace activities as Sentinel's connector writes them (GWorkspace_ReportsAPI_*_CL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailhunt.formats.gworkspace_sentinel import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.formats.test_gworkspace_reports_api import (
    EVENT_COLUMNS,
    activity,
    check_golden,
    golden_rows,
)
from tests.formats.test_gworkspace_reports_api import LINES as API_LINES
from tests.helpers import FIXTURES, Record, sniffed_as, table_rows

HERE = FIXTURES / "formats" / "gworkspace_sentinel"
TOKEN, NEW, MALFORMED = (
    HERE / name
    for name in (
        "GWorkspace_ReportsAPI_token_CL.json",
        "gw_sentinel_new_connector.jsonl",
        "gw_sentinel_malformed.json",
    )
)
ROGUE = "812640933311-q7fjd0r3kd2l1mgk5t8vq0b6hs4n2c9e.apps.googleusercontent.com"
NOA = "noa.friedman@northwind.example"

REAL = (
    Path(
        os.environ.get("MAILHUNT_REAL_DATA")
        or Path(__file__).parents[2] / ".." / "shared" / "data" / "real"
    )
    / "azure-sentinel-gworkspace-samples"
)
# Real sample file -> its events (the login file is gworkspace-sentinel-login's).
REAL_FILES = {
    "GWorkspace_ReportsAPI_admin_CL.json": 3,
    "GWorkspace_ReportsAPI_token_CL.json": 3,
    "GWorkspace_ReportsAPI_user_accounts_CL.json": 2,
}


def copy(app: str, name: str, *, keep_events: bool = True) -> Record:
    """A connector record: the activity plus event_name (events[] kept by older versions)."""
    record = {**activity(app, "1", "2024-03-04T09:00:00Z", name), "event_name": name}
    if not keep_events:
        del record["events"]
    return record


@pytest.fixture
def events(store: Store) -> dict[str, Record]:
    summary = ingest(store, [TOKEN, NEW])
    assert [f.status for f in summary.files] == ["ingested", "ingested"]
    assert summary.quarantined == 0
    return {row["operation"]: row for row in table_rows(store, "events")}


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (copy("token", "authorize"), FORMAT.name),
        (copy("admin", "CREATE_USER", keep_events=False), FORMAT.name),
        (copy("login", "login_success"), "gworkspace-sentinel-login"),
        (activity("token", "1", "2024-03-04T09:00:00Z", "authorize"), "gworkspace-reports-api"),
        ({"event_name": "authorize", "client_id": ROGUE}, None),
    ],
)
def test_sniff_claims_connector_records_of_other_applications(
    tmp_path: Path, record: Record, name: str | None
) -> None:
    assert sniffed_as(tmp_path, record) == name


@pytest.mark.parametrize("path", [TOKEN, NEW, MALFORMED], ids=lambda p: p.name)
def test_sniffing_picks_the_format_for_every_fixture(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


def test_ingest_matches_golden_rows(store: Store) -> None:
    summary = ingest(store, [TOKEN, NEW])
    assert [(f.records_read, f.records_new) for f in summary.files] == [(2, 2), (3, 3)]
    check_golden(
        HERE / "gworkspace_sentinel.golden.json", golden_rows(store, "events", EVENT_COLUMNS)
    )


def test_older_connector_records_keep_events_and_top_level_copies(
    events: dict[str, Record],
) -> None:
    assert TOKEN.read_bytes().startswith(b" [")  # the array starts with a space
    grant = events["authorize"]
    assert (grant["app_id"], grant["mailbox_upn"], grant["actor_upn"]) == (ROGUE, NOA, NOA)
    assert grant["client_ip"] == "2001:db8:85a3::8a2e:370:7334"


def test_newer_connector_records_without_events_read_the_top_level(
    events: dict[str, Record],
) -> None:
    call = events["activity"]  # api_name / client_id copied up, no events[]
    assert (call["app_id"], call["client_app_id"], call["mailbox_upn"]) == (ROGUE, ROGUE, NOA)
    assert (
        events["USER_LICENSE_ASSIGNMENT"]["actor_upn"],
        events["CHANGE_PASSWORD"]["workload"],
    ) == (None, "admin")


def test_older_connector_records_have_the_api_record_ids(store: Store) -> None:
    """events[] kept: the content digest is computed as the API's, so each activity read from
    both is stored once."""
    assert ingest(store, [TOKEN]).records_new == 2
    summary = ingest(store, [API_LINES])  # the same activities (and more) from the API
    assert summary.files[0].format == "gworkspace-reports-api"
    assert summary.records_new == 13 - 2
    assert store.count("events") == 13


def test_newer_connector_records_have_no_content_digest(store: Store) -> None:
    """No events[]: the flattened copy cannot give the API's parameter digest, so an event with
    parameters read from both is stored twice (never dropped)."""
    assert ingest(store, [NEW]).records_new == 3
    assert not any("|p:" in row["record_id"] for row in table_rows(store, "events"))
    assert ingest(store, [API_LINES]).records_new == 13
    assert store.count("events") == 16


def test_malformed_records_are_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [MALFORMED])
    assert (summary.files[0].records_new, summary.quarantined) == (1, 1)
    ((line, reason, detail),) = store.query("SELECT line, reason, detail FROM quarantine")
    assert (line, reason) == (2, "bad_time")
    assert "not a time" in detail


def test_same_file_twice_changes_no_count(store: Store) -> None:
    ingest(store, [TOKEN, NEW, MALFORMED])
    counts = (store.count("events"), store.count("quarantine"))
    assert [f.status for f in ingest(store, [TOKEN, NEW, MALFORMED]).files] == ["duplicate"] * 3
    assert (store.count("events"), store.count("quarantine")) == counts


# -- real data --------------------------------------------------------------------------------


@pytest.fixture
def real_files() -> list[Path]:
    if not REAL.is_dir():
        pytest.skip(f"real Sentinel Google Workspace samples not present at {REAL}")
    return [REAL / name for name in REAL_FILES]


def test_real_samples_sniff_as_this_format(real_files: list[Path]) -> None:
    for path in real_files:
        sniffed, why = sniff_file(path)
        assert sniffed is not None, (path.name, why)
        assert (path.name, sniffed.format.name) == (path.name, FORMAT.name)


def test_real_samples_ingest_without_quarantine(store: Store, real_files: list[Path]) -> None:
    summary = ingest(store, real_files)
    assert {f.path.name: (f.status, f.records_new, f.quarantined) for f in summary.files} == {
        name: ("ingested", count, 0) for name, count in REAL_FILES.items()
    }
    rows = {row["operation"]: row for row in table_rows(store, "events")}
    assert rows["authorize"]["app_id"] == (
        "905154081809-858sm3f0qnalqd9d44d9gecjtrdji9tf.apps.googleusercontent.com"
    )
    assert rows["authorize"]["mailbox_upn"] is None  # profile, email and openid scopes only
    assert rows["CREATE_USER"]["actor_upn"] == "sanitized_email.com"  # placeholder, kept
    assert rows["USER_LICENSE_ASSIGNMENT"]["actor_upn"] is None  # actor KEY/SYSTEM
    assert {row["tenant_id"] for row in rows.values()} == {"c015t6bdl"}
