"""Every real sample under ../shared/data/real (or $MAILHUNT_REAL_DATA): each file in a supported
format ingests with zero quarantined records; each other file is skipped, and is one we know is
not a supported format. The per-format tests check the rows; this one checks the whole tree."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mailhunt.ingest import IngestSummary, ingest
from mailhunt.store.db import Store
from tests.real_data_counts import GOLDEN, real_data_counts

REAL = Path(
    os.environ.get(
        "MAILHUNT_REAL_DATA", Path(__file__).parents[1] / ".." / "shared" / "data" / "real"
    )
).resolve()

# Files that are not audit or sign-in logs mailhunt reads, and why.
NOT_SUPPORTED = {
    r"(^|/)(README|PROVENANCE)\.md$": "documentation",
    r"\.metadata\.yaml$": "dataset metadata",
    r"AuditLogs_Hunting\.csv$": "a projected hunting-query output: no time column",
    r"nginx-mail-": "nginx mail proxy logs (not an authentication source mailhunt reads)",
    r"fail2ban-mail-logs/(courier|cyrus|exim|horde|kerio|openwebmail|perdition|qmail|roundcube|"
    r"sendmail|sogo|squirrelmail|uwimap)": "mail servers other than Dovecot and Postfix",
    r"WindowsEvents": "Windows security events (AD FS host), not mail audit",
}


@pytest.fixture(scope="module")
def summary() -> IngestSummary:
    if not REAL.is_dir():
        pytest.skip(f"real samples not found at {REAL} (set MAILHUNT_REAL_DATA to run)")
    return ingest(Store.open(None), [REAL])


def _relative(path: Path) -> str:
    return str(path).replace(str(REAL) + "/", "")


def test_no_real_record_is_quarantined_but_conflicting_copies(summary: IngestSummary) -> None:
    """Nothing real is malformed. One sample repeats four record ids with other content
    (o365spray's mangled user names, e.g. LynneRcontoso.onmicrosoft.com under Lynne's id):
    those copies are kept visible as conflicting duplicates, not dropped."""
    quarantined = {_relative(f.path): f.quarantined for f in summary.files if f.quarantined}
    assert quarantined == {"blueteam0ps-det-eng-samples/t1110.003_o365spray_reporting.json": 4}
    assert dict(summary.reasons) == {"conflicting_duplicate": 4}
    assert summary.records_new > 600


def test_every_skipped_file_is_known_not_to_be_supported(summary: IngestSummary) -> None:
    unexplained = [
        _relative(f.path)
        for f in summary.files
        if f.status not in ("ingested", "duplicate")
        and not any(re.search(pattern, _relative(f.path)) for pattern in NOT_SUPPORTED)
    ]
    assert unexplained == []


def test_every_supported_looking_file_is_read(summary: IngestSummary) -> None:
    by_name = {_relative(f.path): f for f in summary.files}
    for name, result in by_name.items():
        if any(re.search(pattern, name) for pattern in NOT_SUPPORTED):
            assert result.status == "skipped", name
        else:
            assert result.status in ("ingested", "duplicate"), (name, result.detail)
            assert result.format, name


def test_rows_per_file_and_table_match_the_golden_counts() -> None:
    """Every real file gives the status, format and rows per table recorded in
    tests/golden/real_data_counts.json (rewritten by `python -m tests.real_data_counts`)."""
    if not REAL.is_dir():
        pytest.skip(f"real samples not found at {REAL} (set MAILHUNT_REAL_DATA to run)")
    golden = json.loads(GOLDEN.read_text())
    assert real_data_counts() == golden
