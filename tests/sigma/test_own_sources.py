"""mailhunt's own Sigma log sources, for what Sigma's taxonomy has none for: non-interactive
Entra sign-ins, Google Workspace activities (and SigmaHQ's gcp/google_workspace.admin), and
on-premises mail servers' logins. Each rule matches exactly the expected records of a small
store ingested from the formats' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES
from tests.sigma.world import matches

F = FIXTURES / "formats"
FILES = (
    F / "gworkspace_reports_api" / "gw_activities.jsonl",
    F / "mail_syslog" / "mail.log",
    F / "azure_monitor_signins" / "azmon_eventhub_signins.json",
    F / "sentinel_signin_logs" / "sentinel_signinlogs.jsonl",
)
ASSIGN_ROLE = {
    "-6719931420056384725|2024-03-04T10:15:44.120Z|ASSIGN_ROLE|Ia4UOrGNATMuDJawTgsu8PO-799|"
    + suffix
    for suffix in ("p:d601319d857a0cdd", "p:08ebb5151f4d4e71")
}
GRANT_ADMIN = (
    "-6719931420056384725|2024-03-04T10:15:44.120Z|GRANT_ADMIN_PRIVILEGE|"
    "Ia4UOrGNATMuDJawTgsu8PO-799|p:41419362f58816a2"
)
FORWARDING = (
    "-3185527740913366052|2024-03-04T09:30:11.007Z|email_forwarding_out_of_domain|"
    "_tDDj8hYs5suKcNd8Zra9A9sKPx|p:6fbf575b125e66a4"
)
NONINTERACTIVE = "b06a7b8c-9d0e-4f1a-8b2c-3d4e5f6a0002"
FAILED_IMAP = "Jan  1 00:00:10|ebe26ab983e5efed7ccd59c58cbc06d9"
FAILED_SMTP = "Dec 31 23:59:30|4ed64b4d9f5488fdc1a3bd2d898d0e2b"


@pytest.fixture(scope="module")
def world() -> Iterator[Store]:
    with Store.open(None) as store:
        results = ingest(store, list(FILES)).files
        assert all(r.status == "ingested" for r in results), results
        yield store


CASES: list[tuple[str, str, dict[str, Any], set[str]]] = [
    # the non-interactive sign-in only (the interactive one of the same export is not one)
    (
        "mailhunt",
        "noninteractive_signins",
        {"AppDisplayName": "Mail Sync Helper"},
        {NONINTERACTIVE},
    ),
    ("mailhunt", "noninteractive_signins", {"AppDisplayName": "Microsoft Office"}, set()),
    ("mailhunt", "noninteractive_signins", {"ResultType": 50140}, {NONINTERACTIVE}),
    ("google_workspace", "activities", {"eventName": "assign_role"}, ASSIGN_ROLE),
    (
        "google_workspace",
        "activities",
        {"eventName": "email_forwarding_out_of_domain", "applicationName": "user_accounts"},
        {FORWARDING},
    ),
    (
        "google_workspace",
        "activities",
        {"actor.email|endswith": "@northwind.example", "eventName|contains": "ADMIN_PRIV"},
        {GRANT_ADMIN},
    ),
    # SigmaHQ's taxonomy: the Admin console's events only, eventService as Google names it
    (
        "gcp",
        "google_workspace.admin",
        {
            "eventService": "admin.googleapis.com",
            "eventName": ["ASSIGN_ROLE", "GRANT_ADMIN_PRIVILEGE"],
        },
        ASSIGN_ROLE | {GRANT_ADMIN},
    ),
    ("gcp", "google_workspace.admin", {"eventName": "email_forwarding_out_of_domain"}, set()),
    # on-premises mail servers' logins (Dovecot, Postfix)
    ("mailhunt", "mail_server", {"status": "Failure"}, {FAILED_IMAP, FAILED_SMTP}),
    (
        "mailhunt",
        "mail_server",
        {"status": "Failure", "service|startswith": "dovecot", "rip": "198.51.100.40"},
        {FAILED_IMAP},
    ),
]


@pytest.mark.parametrize(("product", "service", "selection", "expected"), CASES)
def test_own_log_sources(
    world: Store,
    tmp_path: Path,
    *,
    product: str,
    service: str,
    selection: dict[str, Any],
    expected: set[str],
) -> None:
    found = matches(world, tmp_path, {"sel": selection}, product=product, service=service)
    assert found == expected
