"""Windows PowerShell 5.1 `Export-Csv` without -NoTypeInformation writes `#TYPE ...` before the
header: the export is still recognised, every record read, and line numbers stay true."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.sources.framing import frame_csv
from mailhunt.store.db import Store
from tests.helpers import at, ual_record

HEADER = (
    '"RecordType","CreationDate","UserIds","Operations","AuditData","ResultIndex",'
    '"ResultCount","Identity","IsValid","ObjectState"'
)


def _export(path: Path, count: int) -> Path:
    rows = []
    for n in range(count):
        audit = json.dumps(ual_record(f"ps-{n}", at(0, 9, n))).replace('"', '""')
        rows.append(
            f'"ExchangeItem","1/1/2024 9:0{n}:00 AM","a@b","Send","{audit}","{n + 1}",'
            f'"{count}","id-{n}","True","Unchanged"'
        )
    lines = ["#TYPE System.Management.Automation.PSCustomObject", HEADER, *rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return path


def test_type_line_export_is_read_with_true_line_numbers(store: Store, tmp_path: Path) -> None:
    export = _export(tmp_path / "ual.csv", 3)
    summary = ingest(store, [export])
    [result] = summary.files
    assert (result.format, result.status, result.records_new, result.quarantined) == (
        "m365-ual-search-csv",
        "ingested",
        3,
        0,
    )
    refs = dict(store.query("SELECT record_id, source_ref FROM events"))
    assert {rid: ref.rsplit(":", 1)[1] for rid, ref in refs.items()} == {
        "ps-0": "3",
        "ps-1": "4",
        "ps-2": "5",
    }
    assert original_bytes(store, "ps-2").data.startswith(b'"ExchangeItem","1/1/2024 9:02:00 AM"')


def test_framing_skips_the_type_line(tmp_path: Path) -> None:
    framed = frame_csv(_export(tmp_path / "ual.csv", 2), preamble_lines=1)
    assert framed.lines.tolist() == [3, 4]
