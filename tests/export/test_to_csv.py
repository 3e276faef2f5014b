"""CSV export: the alerts CSV (contract fields, lists joined with ';'), every cell guarded."""

from __future__ import annotations

import csv
import io

from mailhunt.export import export_files
from mailhunt.report.alerts import CSV_FIELDS
from mailhunt.store.db import Store
from tests.helpers import check_golden


def test_golden(world: Store) -> None:
    count, files = export_files(world, "csv", "alerts")
    assert count == 2
    assert files[0].name == "alerts.csv"
    rows = list(csv.reader(io.StringIO(files[0].text)))
    assert rows[0] == list(CSV_FIELDS)
    check_golden("export/alerts.csv.json", rows)
