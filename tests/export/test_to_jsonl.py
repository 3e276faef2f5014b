"""JSON Lines export: the alerts JSONL contract (same fields, same order) plus ``access``."""

from __future__ import annotations

import json

from mailhunt.export import export_files
from mailhunt.report.alerts import JSONL_FIELDS
from mailhunt.store.db import Store
from tests.helpers import check_golden


def test_golden(world: Store) -> None:
    count, files = export_files(world, "jsonl", "alerts")
    assert count == 2
    assert files[0].name == "alerts.jsonl"
    records = [json.loads(line) for line in files[0].text.splitlines()]
    check_golden("export/alerts.jsonl.json", records)


def test_contract_order_then_access(world: Store) -> None:
    _, files = export_files(world, "jsonl", "alerts")
    for line in files[0].text.splitlines():
        assert list(json.loads(line)) == [*JSONL_FIELDS, "access"]
