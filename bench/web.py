"""Server time of every page of `mailhunt serve` on a store of 1M records (issue 13: p95 under
500 ms per page).

The store: the 1M-record detection corpus (bench/detect.py, cached in bench/data) with
`mailhunt evaluate`'s test bed beside it (bench/incidents.py), ingested, detected and grouped
into incidents with the command line. Then every page and its JSON twin is requested in
process through the ASGI app (FastAPI's TestClient: the server's whole work, no socket),
once to warm up and ``--repeat`` times timed; the p95 of each is reported.

Figures: bench/RESULTS.md, section 'Web UI server time'.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from incidents import test_bed
from ingest import timed_cli
from results import replace_section

from detect import corpus

SECTION = "## Web UI server time"
TARGET_MS = 500.0
TOKEN = "bench-token"  # noqa: S105 - the bench's own server
PORT = 8765


def build(records: int, work: Path) -> Path:
    db = work / "web.duckdb"
    timed_cli("ingest", str(corpus(records)), str(test_bed(work)), "--db", str(db), partial_ok=True)
    timed_cli("detect", "--db", str(db))
    timed_cli("incidents", "--db", str(db), "--format", "jsonl")
    return db


def pages(client: object) -> list[str]:
    """The pages to time, ids and values taken from the store through its own twins."""
    get = client.get  # type: ignore[attr-defined]
    first = get("/api/alerts", params={"limit": 50}).json()
    alert = first["alerts"][0]
    incidents = get("/api/incidents").json()
    biggest = max(incidents, key=lambda i: i["event_count"])
    mailbox = biggest["mailboxes"][0]
    found = [
        "/", "/api/overview", "/alerts", "/api/alerts", "/alerts?severity=high",
        f"/alerts?mailbox={mailbox}", f"/api/alerts?cursor={first['next_cursor']}",
        f"/alerts/{alert['id']}", "/incidents", "/api/incidents",
        f"/incidents/{biggest['id']}", f"/api/incidents/{biggest['id']}",
        f"/timeline/mailbox?value={mailbox}", f"/api/timeline/mailbox?value={mailbox}",
        f"/records/{alert['event_ids'][0]}", "/rules", "/api/rules", "/ingest", "/api/ingest",
    ]  # fmt: skip
    if biggest["client_ips"]:
        found.append(f"/timeline/ip?value={biggest['client_ips'][0]}")
    if biggest["app_ids"]:
        found.append(f"/timeline/app?value={biggest['app_ids'][0]}")
    return found


def measure(db: Path, repeat: int) -> list[tuple[str, float, float]]:
    """(page, median ms, p95 ms) per page."""
    from fastapi.testclient import TestClient

    from mailhunt.web import Settings, create_app

    app = create_app(Settings(db=db, token=TOKEN, port=PORT))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rows = []
    with TestClient(app, base_url=f"http://127.0.0.1:{PORT}", headers=headers) as client:
        for page in pages(client):
            client.get(page)  # warm up
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                response = client.get(page)
                times.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{page}: {response.status_code}")
            times.sort()
            rows.append(
                (page, times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))])
            )
            print(f"{page[:70]}: median {rows[-1][1]:.0f} ms, p95 {rows[-1][2]:.0f} ms", flush=True)
    return rows


def report(records: int, stored: int, rows: list[tuple[str, float, float]], repeat: int) -> str:
    worst = max(p95 for _, _, p95 in rows)
    lines = [
        SECTION,
        "",
        f"`python bench/web.py`: every page and JSON twin of `mailhunt serve` over the "
        f"{records:,}-record detection corpus with the evaluate test bed ({stored:,} records "
        f"stored), requested in process through the ASGI app, {repeat} times after a warm-up. "
        f"Target (issue 13): p95 under {TARGET_MS:.0f} ms per page.",
        "",
        "| page | median ms | p95 ms |",
        "| --- | --- | --- |",
        *(f"| `{page[:60]}` | {median:.0f} | {p95:.0f} |" for page, median, p95 in rows),
        "",
        "The target holds." if worst < TARGET_MS else f"Above target: worst p95 {worst:.0f} ms.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="20,000 records, no RESULTS.md")
    options = parser.parse_args()
    records = 20_000 if options.quick else options.records
    work = Path(tempfile.mkdtemp(prefix="mailhunt-bench-web-"))
    try:
        db = build(records, work)
        import duckdb

        with duckdb.connect(str(db), read_only=True) as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM signins)"
            ).fetchone()
        rows = measure(db, options.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(records, int(row[0]) if row else 0, rows, options.repeat)
    print(text)
    if not options.quick:
        replace_section(SECTION, text)
    sys.exit(0 if max(p95 for _, _, p95 in rows) < TARGET_MS else 1)


if __name__ == "__main__":
    main()
