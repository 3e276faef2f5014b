"""Quirks of real audit logs that must be handled, not silently mis-read (JSON shapes; the CSV
and PowerShell quirks are tested with their formats)."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, at, mail_access, ual_record


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_duplicate_keys_first_value_wins(store: Store, tmp_path: Path) -> None:
    """RFC 8259 leaves duplicate names undefined; mailhunt reads the first, always (DuckDB's
    parser), so the same bytes always give the same row."""
    record = json.dumps(ual_record("dup-1", at(0), "Send"))
    doubled = record[:-1] + ', "Operation": "HardDelete"}'
    ingest(store, [_write(tmp_path / "dup.jsonl", [doubled.encode()])])
    assert store.query("SELECT operation FROM events") == [("Send",)]


def test_lone_surrogate_escape_is_quarantined_with_its_reason(store: Store, tmp_path: Path) -> None:
    good = json.dumps(ual_record("ok-1", at(0))).encode()
    lone = (
        json.dumps(ual_record("sur-1", at(0), UserId="x"))
        .encode()
        .replace(b'"UserId": "x"', b'"UserId": "x\\ud800y"')
    )
    summary = ingest(store, [_write(tmp_path / "sur.jsonl", [good, lone])])
    assert summary.records_new == 1
    [(line, reason, detail)] = store.query("SELECT line, reason, detail FROM quarantine")
    assert (line, reason) == (2, "invalid_json")
    assert "surrogate" in detail


def test_localised_folder_names_are_kept_verbatim(store: Store, tmp_path: Path) -> None:
    folders = ["\\Posteingang\\Rechnungen", "\\Boîte de réception", "\\受信トレイ"]
    record = mail_access("loc-1", at(0), "ann@contoso.example", OUTLOOK)
    record["Folders"] = [
        {
            "Id": f"f{n}",
            "Path": path,
            "FolderItems": [{"InternetMessageId": f"<m{n}@x>", "SizeInBytes": 10 + n}],
        }
        for n, path in enumerate(folders)
    ]
    line = json.dumps(record, ensure_ascii=False).encode()
    ingest(store, [_write(tmp_path / "loc.jsonl", [line])])
    rows = store.query("SELECT folder_path FROM mail_items ORDER BY size_bytes")
    assert [r[0] for r in rows] == folders


def test_creation_time_variants_are_utc(store: Store, tmp_path: Path) -> None:
    variants = {
        "t-plain": "2024-05-01T10:00:00",  # the API's own form: no offset, no fraction = UTC
        "t-fraction": "2024-05-01T10:00:00.1234567Z",
        "t-offset": "2024-05-01T12:00:00+02:00",
    }
    lines = [json.dumps(ual_record(rid, text)).encode() for rid, text in variants.items()]
    ingest(store, [_write(tmp_path / "times.jsonl", lines)])
    rows = store.query("SELECT record_id, strftime(time, '%Y-%m-%dT%H:%M:%S') FROM events")
    assert dict(rows) == dict.fromkeys(variants, "2024-05-01T10:00:00")


def test_originating_server_crlf_does_not_split_the_record(store: Store, tmp_path: Path) -> None:
    record = ual_record("crlf-1", at(0), OriginatingServer="AB1CD23EF4567 (15.20.4200.000)\r\n")
    ingest(store, [_write(tmp_path / "crlf.jsonl", [json.dumps(record).encode()])])
    assert store.query("SELECT record_id FROM events") == [("crlf-1",)]
    assert store.count("quarantine") == 0
