"""Rows are paired with their records by position: checked on a file DuckDB reads on several
threads, every row against its own bytes (not a sample), with bad lines in between."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import at, mail_access

RECORDS = 24_000
BAD_EVERY = 997  # an invalid line, a blank line and a line that is not an object, now and then


def write_file(path: Path) -> tuple[int, set[int]]:
    """~40 MB of UAL records of varied size (so DuckDB splits the file into several buffers)
    with bad lines in between; return (records, the line numbers of the bad lines)."""
    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    bad_lines: set[int] = set()
    line = 0
    with path.open("wb") as out:
        for n in range(RECORDS):
            record = mail_access(
                f"rec-{n:06d}",
                at(n / 2000),
                f"user{n % 50}@contoso.com",
                "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            )
            record["Padding"] = "x" * rng.randrange(200, 3000)
            out.write(orjson.dumps(record) + b"\n")
            line += 1
            if n % BAD_EVERY == 0:
                out.write(b'{"Id": "broken", "CreationTime": \n\n[1, 2]\n')
                bad_lines |= {line + 1, line + 3}  # the blank line is not a record
                line += 3
    return RECORDS, bad_lines


def test_every_row_holds_its_own_record_when_read_on_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    records, bad_lines = write_file(path)
    with Store.open(tmp_path / "m.duckdb") as store:
        store.set_threads(4)  # several readers even on a small machine
        summary = ingest(store, [path])
        rows = store.query(
            "SELECT e.record_id, e.source_ref, s.line, s.byte_offset, s.byte_length "
            "FROM events e JOIN record_spans s "
            "ON s.file_sha256 = e.file_sha256 AND s.ordinal = e.record_ordinal"
        )
        quarantined = {line for (line,) in store.query("SELECT line FROM quarantine")}
    assert summary.files[0].records_new == records
    assert len(rows) == records
    data = path.read_bytes()
    for record_id, source_ref, line, offset, length in rows:
        assert orjson.loads(data[offset : offset + length])["Id"] == record_id
        assert source_ref == f"{path}:{line}"
    assert quarantined == bad_lines
