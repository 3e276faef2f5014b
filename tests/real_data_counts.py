"""Per real sample file: its status, format and the rows it gives per table. The golden file
`tests/golden/real_data_counts.json` holds these as they were before the ingest refactor
(issue 7), with the new shapes added since; `python -m tests.real_data_counts` rewrites it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mailhunt.ingest import ingest
from mailhunt.store.db import Store

REAL = Path(
    os.environ.get(
        "MAILHUNT_REAL_DATA", Path(__file__).parents[1] / ".." / "shared" / "data" / "real"
    )
).resolve()
GOLDEN = Path(__file__).parent / "golden" / "real_data_counts.json"
ROW_TABLES = ("events", "signins", "mail_items", "quarantine", "record_spans")


def real_data_counts() -> dict[str, dict[str, Any]]:
    """Each real file (relative path) -> status, format, and row counts per table."""
    store = Store.open(None)
    summary = ingest(store, [REAL])
    counts: dict[str, dict[str, Any]] = {}
    for result in summary.files:
        name = str(result.path).replace(str(REAL) + "/", "")
        counts[name] = {"status": result.status, "format": result.format}
    per_table = {
        "events": "SELECT source_ref, count(*) FROM events GROUP BY ALL",
        "signins": "SELECT source_ref, count(*) FROM signins GROUP BY ALL",
        "mail_items": "SELECT e.source_ref, count(*) FROM mail_items m "
        "JOIN events e ON e.record_id = m.record_id GROUP BY ALL",
        "quarantine": "SELECT source_path, count(*) FROM quarantine GROUP BY ALL",
    }
    for table, sql in per_table.items():
        for ref, count in store.query(sql):
            name = str(ref).replace(str(REAL) + "/", "")
            if table != "quarantine":
                name = name.rsplit(":", 1)[0]
            entry = counts.setdefault(name, {})
            entry[table] = entry.get(table, 0) + int(count)
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    if not REAL.is_dir():
        sys.exit(f"no real samples at {REAL}")
    GOLDEN.write_text(json.dumps(real_data_counts(), indent=1, sort_keys=True) + "\n")
