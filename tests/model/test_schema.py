"""The schema, declared once: DDL for every table, and the generated reference."""

from __future__ import annotations

import pytest

from mailhunt.model.schema import TABLES, TABLES_BY_NAME, Table, ddl, markdown
from mailhunt.store.db import Store
from tests.helpers import TESTS

SCHEMA_DOC = TESTS.parent / "docs" / "schema.md"


def test_table_names_are_unique_and_indexed() -> None:
    assert len({t.name for t in TABLES}) == len(TABLES)
    assert set(TABLES_BY_NAME) == {
        "events",
        "mail_items",
        "blind_windows",
        "signins",
        "record_spans",
        "quarantine",
        "ingest_runs",
        "ip_info",
        "alerts",
        "alert_evidence",
        "indicators",
        "suppressions",
        "campaign_members",
        "campaigns",
        "incidents",
        "incident_alerts",
        "incident_notes",
        "incident_builds",
        "incident_records",
        "incident_mailboxes",
        "incident_messages",
        "incident_syncs",
        "incident_blind_windows",
        "incident_actions",
        "collect_cursors",
        "collect_content",
        "collect_gaps",
    }


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_is_created_with_its_columns(store: Store, table: Table) -> None:
    name = table.name
    columns = store.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [name],
    )
    assert tuple(c[0] for c in columns) == TABLES_BY_NAME[name].column_names
    assert name in ddl(TABLES_BY_NAME[name])


def test_every_column_has_a_meaning_and_appears_in_the_markdown() -> None:
    text = markdown()
    for table in TABLES:
        assert f"## `{table.name}`" in text
        for column in table.columns:
            assert column.meaning
            assert f"| `{column.name}` | {column.type} | {column.meaning} |" in text


def test_provenance_columns_on_every_source_table() -> None:
    provenance = {
        "record_id",
        "source",
        "source_ref",
        "file_sha256",
        "record_ordinal",
        "ingest_run_id",
    }
    for name in ("events", "signins"):
        assert provenance <= set(TABLES_BY_NAME[name].column_names)


def test_docs_schema_md_is_generated_from_the_schema() -> None:
    if not SCHEMA_DOC.exists():
        pytest.skip("docs/schema.md is not in the repository yet (make docs writes it)")
    assert SCHEMA_DOC.read_text("utf-8") == markdown()
