"""Ingest: sniffing each supported shape, and each shape parsed to golden normalised rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailhunt.errors import InputError
from mailhunt.formats import FORMATS
from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import discover, ingest
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, at, check_golden, table_rows, ual_record, write_jsonl

FORMATS_DIR = FIXTURES / "formats"
SHAPES = {  # fixture -> (container, format)
    "ual_lines.jsonl": ("json-lines", "m365-ual-json"),
    "ual_blob.json": ("json-array", "m365-ual-json"),
    "ual_bom.jsonl": ("json-lines", "m365-ual-json"),
    "signins_lines.jsonl": ("json-lines", "entra-signins-graph"),
    "signins_array.json": ("json-array", "entra-signins-graph"),
    "signins_page.json": ("json-array", "entra-signins-graph"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_sniff_each_supported_shape(name: str) -> None:
    sniffed, why = sniff_file(FORMATS_DIR / name)
    assert sniffed is not None, why
    assert (sniffed.container, sniffed.format.name) == SHAPES[name]
    assert why == ""


def test_fixtures_cover_bom_and_page_shapes() -> None:
    assert (FORMATS_DIR / "ual_bom.jsonl").read_bytes().startswith(b"\xef\xbb\xbf")
    assert b'"@odata.context"' in (FORMATS_DIR / "signins_page.json").read_bytes()


def test_graph_page_on_one_line_is_read_as_an_array(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": [{"id": "s1", "createdDateTime": "2024-03-04T09:10:01Z", "appId": "a"}],
    }
    write_jsonl(path, [page])
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-array", "entra-signins-graph")


def test_unknown_json_is_skipped_with_the_formats_tried(store: Store) -> None:
    path = FORMATS_DIR / "unknown_shape.jsonl"
    sniffed, why = sniff_file(path)
    assert sniffed is None
    looks_like = r"\[JSON records with keys kind, apiVersion, .*\]"
    tried = re.fullmatch(rf"no format matched {looks_like} \(tried: (.*)\)", why)
    assert tried, why
    assert sorted(tried.group(1).split(", ")) == sorted(FORMATS)
    summary = ingest(store, [path])
    [result] = summary.files
    assert (result.status, result.format, result.records_read) == ("skipped", None, 0)
    assert result.detail == why
    assert store.query("SELECT status, format, detail FROM ingest_runs") == [
        ("skipped", None, result.detail),
    ]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\r\n  \t\n"])
def test_empty_file_is_skipped(store: Store, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    assert sniff_file(path) == (None, "file is empty")
    [result] = ingest(store, [path]).files
    assert (result.status, result.detail) == ("skipped", "file is empty")
    assert store.count("events") == 0


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_parses_to_golden_rows(store: Store, name: str) -> None:
    summary = ingest(store, [FORMATS_DIR / name])
    assert [f.status for f in summary.files] == ["ingested"]
    rows = {
        "events": table_rows(store, "events"),
        "signins": table_rows(store, "signins"),
        "mail_items": table_rows(
            store, "mail_items", "record_id, folder_path, internet_message_id"
        ),
        "quarantine": store.query("SELECT line, reason FROM quarantine"),
    }
    assert rows["quarantine"] == []  # a clean sample raises no warning
    check_golden(f"ingest/{Path(name).stem}.json", rows)


def test_ingest_run_row_per_file(store: Store) -> None:
    summary = ingest(store, [p for p in sorted(FORMATS_DIR.iterdir()) if p.is_file()])
    runs = store.query(
        "SELECT source_path, format, records_read, records_new, records_quarantined, status, "
        "file_size FROM ingest_runs ORDER BY source_path"
    )
    by_name = {Path(r[0]).name: r[1:] for r in runs}
    assert by_name["ual_lines.jsonl"] == (
        "m365-ual-json",
        5,
        5,
        0,
        "ingested",
        (FORMATS_DIR / "ual_lines.jsonl").stat().st_size,
    )
    assert by_name["signins_page.json"][:5] == ("entra-signins-graph", 2, 2, 0, "ingested")
    assert by_name["unknown_shape.jsonl"][4] == "skipped"
    assert {r[0] for r in store.query("SELECT DISTINCT ingest_run_id FROM ingest_runs")} == {
        summary.run_id,
    }
    assert (summary.records_read, summary.records_new, summary.quarantined) == (17, 17, 0)


def test_discover_walks_folders_in_order_and_skips_hidden(tmp_path: Path) -> None:
    for name in ("b/2.jsonl", "a.jsonl", ".hidden/x.jsonl", "b/.cache.jsonl", "b/1.jsonl"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["a.jsonl", "b/1.jsonl", "b/2.jsonl"]


def test_missing_path_is_an_input_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        ingest(store, [tmp_path / "nope.jsonl"])


def test_first_lines_that_are_not_records_do_not_hide_the_format(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "ual.jsonl"
    write_jsonl(path, [ual_record("r1", "2024-03-04T09:15:22")])
    path.write_bytes(b"garbage line\n" + path.read_bytes())
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_new, result.quarantined) == ("ingested", 1, 1)


def test_large_first_record_does_not_hide_the_format(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    big = ual_record("big", "2024-03-04T09:15:22", Pad="a" * (1024 * 1024 + 100))
    write_jsonl(path, [big, ual_record("small", "2024-03-04T09:15:23")])
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_new) == ("ingested", 2)


def test_json_escaped_ids_do_not_fail_the_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ual.jsonl"
    records = [ual_record(rid, "2024-03-04T09:15:22") for rid in ("caf\u00e9-1", "plain-2")]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # ensure_ascii escapes é
    [result] = ingest(store, [path]).files
    assert (result.status, result.records_new) == ("ingested", 2)


def test_a_csv_export_with_an_unclosed_quote_loses_that_row_only(
    store: Store, tmp_path: Path
) -> None:
    """DuckDB refuses the file; it is framed strictly and read again without that row."""
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(ual_record("fine-1", at(0))) + "\n")
    audit = json.dumps(ual_record("csv-1", at(0))).replace('"', '""')
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "RecordType,CreationDate,UserIds,Operations,AuditData,ResultIndex,ResultCount\n"
        f'ExchangeItem,1/1/2024,a@b,Send,"{audit}",1,2\n'
        'ExchangeItem,1/1/2024,a@b,Send,"{""Id"": never closed,2,2\n'
        f'ExchangeItem,1/1/2024,a@b,Send,"{audit.replace("csv-1", "csv-3")}",3,2\n'
    )
    summary = ingest(store, [tmp_path])
    statuses = {f.path.name: (f.status, f.records_new, f.quarantined) for f in summary.files}
    assert statuses == {"good.jsonl": ("ingested", 1, 0), "broken.csv": ("ingested", 2, 1)}
    assert store.query("SELECT record_id FROM events WHERE record_id LIKE 'csv-%' ORDER BY 1") == [
        ("csv-1",),
        ("csv-3",),
    ]
    assert store.query("SELECT line, reason FROM quarantine") == [(3, "csv_quoting")]


def test_empty_arrays_and_pages_are_skipped_as_empty(store: Store, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]\n")
    (tmp_path / "b.json").write_text('{"@odata.context": "x", "value": []}')
    summary = ingest(store, [tmp_path])
    assert {(f.path.name, f.status, f.detail) for f in summary.files} == {
        ("a.json", "skipped", "no records: an empty JSON array or page"),
        ("b.json", "skipped", "no records: an empty JSON array or page"),
    }


@pytest.mark.parametrize("name", ["audit[1].jsonl", "audit*.jsonl", "audit?.jsonl"])
def test_a_file_whose_name_looks_like_a_glob_is_read_as_itself(
    store: Store, tmp_path: Path, name: str
) -> None:
    """DuckDB expands *, ? and [...] in paths: `audit[1].jsonl` would read `audit1.jsonl`."""
    write_jsonl(tmp_path / name, [ual_record("mine", at(0))])
    write_jsonl(tmp_path / "audit1.jsonl", [ual_record("other", at(0))])
    summary = ingest(store, [tmp_path / name])
    assert [(f.status, f.records_new) for f in summary.files] == [("ingested", 1)]
    assert store.query("SELECT record_id, source_ref FROM events") == [
        ("mine", f"{(tmp_path / name).resolve()}:1")
    ]
