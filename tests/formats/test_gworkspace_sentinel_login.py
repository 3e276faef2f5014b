"""Google Workspace login activities as Sentinel's connector writes them (login_CL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.formats.gworkspace_sentinel_login import FORMAT
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.formats.test_gworkspace_reports_api import check_golden, golden_rows
from tests.formats.test_gworkspace_reports_api_login import LINES as API_LINES
from tests.formats.test_gworkspace_reports_api_login import SIGNIN_COLUMNS
from tests.formats.test_gworkspace_sentinel import REAL, copy
from tests.helpers import FIXTURES, Record, sniffed_as, table_rows

HERE = FIXTURES / "formats" / "gworkspace_sentinel_login"
OLD, NEW, MALFORMED = (
    HERE / name
    for name in (
        "GWorkspace_ReportsAPI_login_CL.json",
        "gw_login_new_connector.jsonl",
        "gw_sentinel_login_malformed.json",
    )
)
NOA = "noa.friedman@northwind.example"
REAL_LOGIN = "GWorkspace_ReportsAPI_login_CL.json"


@pytest.fixture
def signins(store: Store) -> dict[str, Record]:
    summary = ingest(store, [OLD, NEW])
    assert [f.status for f in summary.files] == ["ingested", "ingested"]
    assert summary.quarantined == 0
    return {row["record_id"].split("|")[2]: row for row in table_rows(store, "signins")}


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        (copy("login", "login_success"), True),
        (copy("login", "login_failure", keep_events=False), True),
        (copy("token", "authorize"), False),
    ],
)
def test_sniff_claims_connector_login_records_only(
    tmp_path: Path, record: Record, claimed: bool
) -> None:
    assert (sniffed_as(tmp_path, record) == FORMAT.name) is claimed


@pytest.mark.parametrize("path", [OLD, NEW, MALFORMED], ids=lambda p: p.name)
def test_sniffing_picks_the_format_for_every_fixture(path: Path) -> None:
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert sniffed.format.name == FORMAT.name


def test_ingest_matches_golden_rows(store: Store) -> None:
    summary = ingest(store, [OLD, NEW])
    assert [(f.records_read, f.records_new) for f in summary.files] == [(3, 3), (2, 2)]
    check_golden(
        HERE / "gworkspace_sentinel_login.golden.json",
        golden_rows(store, "signins", SIGNIN_COLUMNS),
    )


def test_outcomes_from_events_and_from_top_level_copies(signins: dict[str, Record]) -> None:
    success = signins["login_success"]
    assert (success["error_code"], success["country"]) == (0, "NL")
    assert signins["login_verification"]["error_code"] == 0
    assert (signins["login_failure"]["error_code"], signins["login_failure"]["failure_reason"]) == (
        1,
        "login_failure_invalid_password",
    )
    # newer connector: no events[], login_challenge_status / affected_email_address copied up
    assert signins["login_challenge"]["error_code"] == 1
    assert (signins["suspicious_login"]["user_upn"], signins["suspicious_login"]["error_code"]) == (
        NOA,
        None,
    )


def test_older_connector_logins_have_the_api_record_ids(store: Store) -> None:
    ingest(store, [OLD, NEW])
    summary = ingest(store, [API_LINES])
    assert summary.files[0].format == "gworkspace-reports-api-login"
    # the older connector's three (events[] kept) are stored once; the newer connector's two
    # have no parameter digest and are stored again, with the logout that is new
    assert (summary.records_new, store.count("signins")) == (3, 8)


def test_malformed_records_are_quarantined_and_the_rest_kept(store: Store) -> None:
    summary = ingest(store, [MALFORMED])
    assert (summary.files[0].records_new, summary.quarantined) == (1, 1)
    ((line, reason),) = store.query("SELECT line, reason FROM quarantine")
    assert (line, reason) == (2, "missing_id")


def test_same_file_twice_changes_no_count(store: Store) -> None:
    ingest(store, [OLD, NEW, MALFORMED])
    counts = (store.count("signins"), store.count("quarantine"))
    assert [f.status for f in ingest(store, [OLD, NEW, MALFORMED]).files] == ["duplicate"] * 3
    assert (store.count("signins"), store.count("quarantine")) == counts


# -- real data --------------------------------------------------------------------------------


@pytest.fixture
def real_login() -> Path:
    path = REAL / REAL_LOGIN
    if not path.is_file():
        pytest.skip(f"real Sentinel Google Workspace login sample not present at {path}")
    return path


def test_real_login_sample_sniffs_as_this_format(real_login: Path) -> None:
    sniffed, why = sniff_file(real_login)
    assert sniffed is not None, why
    assert sniffed.format.name == FORMAT.name


def test_real_login_sample_ingests_without_quarantine(store: Store, real_login: Path) -> None:
    result = ingest(store, [real_login]).files[0]
    assert (result.status, result.records_read, result.records_new, result.quarantined) == (
        "ingested",
        3,
        3,
        0,
    )
    rows = table_rows(store, "signins")
    # two of the three share uniqueQualifier and time (a login and its 2-step verification)
    assert len({tuple(row["record_id"].split("|")[:2]) for row in rows}) == 2
    assert {(r["user_upn"], r["error_code"], r["client_ip"]) for r in rows} == {
        ("sanitized_email.com", 0, "52.52.52.52"),
    }
