"""Writing the generated records in the export shapes the product reads.

* ``ual/audit-<date>.jsonl``: Management Activity API records, one compact JSON per line;
  one day (``blob_day``) is instead ``ual/blob-<date>.json``, a JSON array like a content blob.
* ``signins/signins-<date>.json``: a Graph ``auditLogs/signIns`` page of user sign-ins.
* ``signins/serviceprincipal-signins-<date>.json``: a page of app-only (servicePrincipal)
  sign-ins, i.e. the archiving application's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson

from mailhunt.simulate.signins import ODATA_CONTEXT
from mailhunt.simulate.tokens import Record


def _by_day(
    records: Sequence[tuple[datetime, Record]], first_day: date, days: int
) -> list[list[Record]]:
    """Records grouped per day of the period, each day sorted by (time, id)."""
    buckets: list[list[tuple[datetime, str, Record]]] = [[] for _ in range(days)]
    for moment, record in records:
        index = (moment.date() - first_day).days
        if not 0 <= index < days:
            raise ValueError(f"record at {moment.isoformat()} is outside the simulated period")
        buckets[index].append((moment, str(record.get("Id", record.get("id"))), record))
    return [[record for _, _, record in sorted(bucket, key=lambda b: b[:2])] for bucket in buckets]


def write_ual(
    directory: Path,
    records: Sequence[tuple[datetime, Record]],
    first_day: date,
    days: int,
    blob_day: int,
) -> tuple[Path, ...]:
    """One file per day; returns the paths in day order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index, day_records in enumerate(_by_day(records, first_day, days)):
        stamp = (first_day + timedelta(days=index)).isoformat()
        if index == blob_day:
            path = directory / f"blob-{stamp}.json"
            path.write_bytes(orjson.dumps(day_records))
        else:
            path = directory / f"audit-{stamp}.jsonl"
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in day_records))
        paths.append(path)
    return tuple(paths)


def write_signins(
    directory: Path,
    records: Sequence[tuple[datetime, Record]],
    first_day: date,
    days: int,
    prefix: str,
) -> tuple[Path, ...]:
    """One Graph page per day, newest first as Graph returns them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index, day_records in enumerate(_by_day(records, first_day, days)):
        stamp = (first_day + timedelta(days=index)).isoformat()
        path = directory / f"{prefix}-{stamp}.json"
        page = {"@odata.context": ODATA_CONTEXT, "value": day_records[::-1]}
        path.write_bytes(orjson.dumps(page))
        paths.append(path)
    return tuple(paths)
