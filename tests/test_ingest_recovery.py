"""One bad record never costs its file (issue 8, finding 1): a CSV export cut short, with a stray
quote or a row of another width, and a JSON line over DuckDB's object limit, are stored but for
that record, which is quarantined with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.sources.framing import frame_csv
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, ual_record

FORMATS = FIXTURES / "formats"
TYPE_LINE = b"#TYPE System.Management.Automation.PSCustomObject\n"

# Every CSV format's fixture, and Search-UnifiedAuditLog's as Windows PowerShell 5.1 writes it
# (a #TYPE line before the header).
CSV_EXPORTS = {
    "purview": (FORMATS / "m365_purview_csv" / "purview_audit_export.csv", b""),
    "search-ual": (FORMATS / "m365_search_ual_csv" / "search_ual_export.csv", b""),
    "search-ual-ps51": (FORMATS / "m365_search_ual_csv" / "search_ual_export.csv", TYPE_LINE),
    "sentinel-audit": (FORMATS / "sentinel_audit_logs_csv" / "sentinel_auditlogs_portal.csv", b""),
    "office-activity": (
        FORMATS / "sentinel_office_activity_csv" / "office_activity_export.csv",
        b"",
    ),
    "signin": (FORMATS / "sentinel_signin_logs_csv" / "sentinel_signinlogs_portal.csv", b""),
    "noninteractive": (
        FORMATS / "sentinel_signin_logs_csv" / "sentinel_noninteractive_portal.csv",
        b"",
    ),
}


def _ingested(path: Path) -> tuple[str, dict[int, str], list[tuple[int, int, str]]]:
    """(status, stored record id by ordinal, quarantine rows (line, offset, reason))."""
    with Store.open(None) as store:
        [result] = ingest(store, [path]).files
        stored = store.query(
            "SELECT record_ordinal, record_id FROM events UNION ALL "
            "SELECT record_ordinal, record_id FROM signins"
        )
        quarantined = store.query("SELECT line, byte_offset, reason FROM quarantine ORDER BY line")
    return result.status, dict(stored), quarantined


def _broken(clean: Path, preamble: int, how: str) -> tuple[bytes, int, int, int]:
    """The export broken one way: (bytes, index, line and offset of the broken record)."""
    data = clean.read_bytes()
    framed = frame_csv(clean, preamble_lines=preamble)
    lines, offsets, lengths = (a.tolist() for a in (framed.lines, framed.offsets, framed.lengths))
    if how == "cut":  # the export cut short inside its last record
        last = len(offsets) - 1
        return data[: offsets[last] + lengths[last] * 2 // 5], last, lines[last], offsets[last]
    if how == "stray-quote":  # a quote opening the first record's first cell, never closed
        return data[: offsets[0]] + b'"' + data[offsets[0] :], 0, lines[0], offsets[0]
    end = offsets[0] + lengths[0]  # "columns": a cell too many in the first record
    return data[:end] + b",extra" + data[end:], 0, lines[0], offsets[0]


EXPECTED_REASON = {
    "cut": "truncated_record",
    "stray-quote": "csv_quoting",
    "columns": "csv_columns",
}


@pytest.mark.parametrize("how", ["cut", "stray-quote", "columns"])
@pytest.mark.parametrize("export", sorted(CSV_EXPORTS))
def test_a_bad_csv_row_is_quarantined_and_the_rest_stored(
    tmp_path: Path, export: str, how: str
) -> None:
    fixture, prefix = CSV_EXPORTS[export]
    clean = tmp_path / f"clean-{fixture.name}"
    clean.write_bytes(prefix + fixture.read_bytes())
    status, stored, quarantined = _ingested(clean)
    assert status == "ingested"
    data, bad, bad_line, offset = _broken(clean, int(bool(prefix)), how)
    broken = tmp_path / fixture.name
    broken.write_bytes(data)

    status, got, got_quarantined = _ingested(broken)

    assert status == "ingested"
    assert got == {ordinal: i for ordinal, i in stored.items() if ordinal != bad + 1}
    assert (bad_line, offset, EXPECTED_REASON[how]) in got_quarantined
    others = [(line, reason) for line, _, reason in got_quarantined if line != bad_line]
    assert others == [(line, reason) for line, _, reason in quarantined if line != bad_line]


def _purview(path: Path, count: int) -> list[bytes]:
    """A Purview audit search export of `count` records; its data rows."""
    rows = []
    for n in range(count):
        audit = json.dumps(ual_record(f"p-{n}", at(0, 9, n % 60), UserId="ann@contoso.com"))
        rows.append(
            f"p-{n},2024-04-01T09:00:00.0000000Z,ExchangeItem,Send,ann@contoso.com,"
            f'"{audit.replace(chr(34), chr(34) * 2)}",,'.encode()
        )
    header = (
        b"RecordId,CreationDate,RecordType,Operation,UserId,AuditData,"
        b"AssociatedAdminUnits,AssociatedAdminUnitsNames"
    )
    path.write_bytes(b"\r\n".join([header, *rows]) + b"\r\n")
    return rows


def test_a_purview_export_cut_short_keeps_every_complete_record(
    store: Store, tmp_path: Path
) -> None:
    """The issue's case: 2,000 good records and a last row cut short (inside AuditData)."""
    path = tmp_path / "purview.csv"
    rows = _purview(path, 2001)
    path.write_bytes(path.read_bytes()[: -len(rows[-1]) // 2])
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_read, result.records_new) == ("ingested", 2001, 2000)
    [(line, offset, reason)] = store.query("SELECT line, byte_offset, reason FROM quarantine")
    assert (line, reason) == (2002, "truncated_record")
    assert path.read_bytes()[offset:].startswith(rows[-1][:100])
    assert original_bytes(store, "p-1234").data == rows[1234]  # spans exact: evidence holds


def test_a_stray_quote_inside_a_cell_is_data(store: Store, tmp_path: Path) -> None:
    """A quote in the middle of an unquoted cell is text to DuckDB (and to RFC 4180 readers):
    the quote-counting framing loses the rows after it, strict framing keeps them all."""
    path = tmp_path / "purview.csv"
    _purview(path, 50)
    data = path.read_bytes().replace(b",ann@contoso.com,", b',an"n@contoso.com,', 1)
    path.write_bytes(data)
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_new, result.quarantined) == ("ingested", 50, 0)


def test_a_json_line_over_duckdbs_limit_is_quarantined_and_the_rest_stored(
    store: Store, tmp_path: Path
) -> None:
    """DuckDB's read_json fails the whole read on a line over twice its object limit (64 MiB
    here): the line is read as `{}` the second time, and quarantined as record_too_large."""
    path = tmp_path / "ual.jsonl"
    huge = json.dumps(ual_record("huge", at(0), Pad="a" * (65 * 1024 * 1024))).encode()
    lines = [json.dumps(ual_record(f"g-{n}", at(0, 9, n))).encode() for n in range(20)]
    path.write_bytes(b"\n".join([*lines[:10], huge, *lines[10:]]) + b"\n")
    del huge
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_read, result.records_new) == ("ingested", 21, 20)
    assert store.query("SELECT line, reason FROM quarantine") == [(11, "record_too_large")]
    ids = store.query("SELECT record_id FROM events ORDER BY record_ordinal")
    assert [i for (i,) in ids] == [f"g-{n}" for n in range(20)]
