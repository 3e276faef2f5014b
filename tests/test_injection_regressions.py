"""What the injection corpora found (tests/test_injection_product.py, test_injection_paths.py),
each kept as one small case that failed before its fix."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from mailhunt.errors import StoreError
from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.report.safe import csv_cell
from mailhunt.store.db import Store
from tests.helpers import at, compact, mail_access, ual_record
from tests.injection_world import PURVIEW_HEADER, csv_effects, raw_controls, run


def test_a_purview_row_whose_id_holds_a_quote_is_stored(store: Store, tmp_path: Path) -> None:
    """The pairing check looked for the id verbatim or JSON-escaped; in a quoted CSV cell its
    quotes are doubled, so a single `"` in a RecordId failed the whole file."""
    rows = []
    for record_id in ('"; DROP TABLE events; --', "plain-id", '","Id":"forged'):
        record = ual_record(record_id, at(0), "MailItemsAccessed", UserId="a@contoso.com")
        rows.append(
            [
                record_id,
                "2024-04-01T09:00:00.0000000Z",
                "ExchangeItem",
                "MailItemsAccessed",
                "a@contoso.com",
                compact(record).decode(),
            ]
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([PURVIEW_HEADER, *rows])
    (tmp_path / "export.csv").write_text(buffer.getvalue(), "utf-8")
    summary = ingest(store, [tmp_path / "export.csv"])
    assert [(f.status, f.records_new) for f in summary.files] == [("ingested", 3)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a,=1+1", "a,'=1+1"),
        ('c,"=1+1"', 'c,\'"=1+1"'),
        ("b,@SUM(1)", "b,'@SUM(1)"),
        ('["tenant","app"]', '["tenant","app"]'),  # JSON text: nothing runs after ',"'
        ("Smith, -3", "Smith, -3"),
    ],
)
def test_a_csv_cell_part_after_a_comma_runs_nothing(value: str, expected: str) -> None:
    """OWASP: a separator in the data can start a cell for a reader that ignores the quoting;
    only ';' was guarded."""
    assert csv_cell(value) == expected
    assert csv_effects(f"h\n{csv_cell(value)}\n".replace('"', "")) == []


def test_show_to_a_terminal_escapes_the_record(store: Store, tmp_path: Path) -> None:
    """`show` wrote a record's bytes raw to a terminal: a CSV cell's ESC, a JSON record's C1
    and bidi characters drove it (title, clipboard via OSC 52)."""
    db = tmp_path / "m.duckdb"
    value = "\x1b]52;c;cm0K\x07\u009b2J\u202e"
    record = ual_record("rec-1", at(0), UserId=value)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ual.jsonl").write_bytes(compact(record) + b"\n")
    assert run(["ingest", "--db", str(db), str(tmp_path / "in")]).code == 0
    piped = run(["show", "--db", str(db), "rec-1"])
    assert piped.out_bytes == compact(record)  # exact when piped (C1, bidi written raw)
    shown = run(["show", "--db", str(db), "rec-1"], tty=True)
    assert shown.code == 0
    assert raw_controls(shown.out) == []
    assert "\\x9b2J\\u202e" in shown.out


@pytest.mark.parametrize("member", ["s3://bucket/key.jsonl", "[link=file:///etc/passwd]x"])
def test_evidence_of_a_member_whose_name_holds_a_double_slash(
    store: Store, tmp_path: Path, member: str
) -> None:
    """The member's name went through a Path, which makes '//' one '/': no such member."""
    line = compact(mail_access("zip-1", at(0), "a@contoso.com", "app-1"))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr(member, line + b"\n")
    assert ingest(store, [tmp_path / "a.zip"]).records_new == 1
    assert original_bytes(store, "zip-1").data.rstrip(b"\n") == line


def test_evidence_of_a_member_with_a_long_name(store: Store, tmp_path: Path) -> None:
    """A member name over the file system's limit (255 bytes) could not be extracted: the
    whole archive failed; `archive!member` over it made Path.is_file raise (show: exit 2)."""
    line = compact(mail_access("zip-1", at(0), "a@contoso.com", "app-1"))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("L" * 250 + ".jsonl", line + b"\n")
        archive.writestr("other.jsonl", compact(mail_access("zip-2", at(0), "b@c.com", "a")))
    assert ingest(store, [tmp_path / "a.zip"]).records_new == 2
    assert original_bytes(store, "zip-1").data.rstrip(b"\n") == line


def test_a_store_path_with_a_backslash_is_refused(tmp_path: Path) -> None:
    r"""DuckDB reads '\' as a folder separator (and resolves '..'): `--db 'a\..\x.db'` wrote
    the store to another file."""
    (tmp_path / "a").mkdir()
    with pytest.raises(StoreError, match="folder separator"):
        Store.open(tmp_path / "a\\x.duckdb")
    assert list((tmp_path / "a").iterdir()) == []
