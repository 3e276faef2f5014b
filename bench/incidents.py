"""What building and listing incidents costs against ingest (issue 10: `mailhunt incidents`
over the 1M-record benchmark store in <= 25% of ingest time).

The detection-cost corpus (bench/detect.py, cached in bench/data) is ingested into a new
database (`mailhunt ingest`, timed), then detected with parameters loosened so that the benign
corpus raises thousands of alerts (every baseline one day, no history required: each mailbox's
new applications and networks fire) — the work incidents do grows with the alerts and their
evidence, and a benign corpus at the default parameters raises none. The last build is then
forgotten and `mailhunt incidents --format jsonl` timed: it regroups every alert and stores
every incident's blast radius before listing. Figures: bench/RESULTS.md, section 'Incidents
cost'.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
from ingest import timed_cli
from results import replace_section

from detect import corpus

RESULTS = Path(__file__).parent / "RESULTS.md"
SECTION = "## Incidents cost"
MAX_SHARE = 0.25  # of ingest time
# Loosened so the benign corpus raises alerts (see the docstring).
STRESS = ("--param", "baseline_days=1", "--param", "min_history_days=0")


def measure(records: int, work: Path) -> dict[str, float]:
    folder = corpus(records)
    db = work / "incidents.duckdb"
    figures: dict[str, float] = {}
    figures["ingest_s"], _, figures["ingest_cpu"] = timed_cli(
        "ingest", str(folder), "--db", str(db)
    )
    figures["detect_s"], _, _ = timed_cli("detect", "--db", str(db), *STRESS)
    with duckdb.connect(str(db)) as connection:
        connection.execute("DELETE FROM incident_builds")
        (figures["alerts"],) = connection.execute(
            "SELECT count(*) FROM alerts WHERE suppressed_by IS NULL"
        ).fetchone() or (0,)
    figures["incidents_s"], _, figures["incidents_cpu"] = timed_cli(
        "incidents", "--db", str(db), "--format", "jsonl"
    )
    with duckdb.connect(str(db), read_only=True) as connection:
        (figures["incidents"],) = connection.execute(
            "SELECT count(*) FROM incidents WHERE merged_into IS NULL AND len(alert_ids) > 0"
        ).fetchone() or (0,)
        (figures["records"],) = connection.execute(
            "SELECT count(*) FROM incident_records"
        ).fetchone() or (0,)
    return figures


def report(records: int, figures: dict[str, float]) -> tuple[str, bool]:
    share = figures["incidents_s"] / figures["ingest_s"]
    ok = share <= MAX_SHARE
    text = "\n".join(
        [
            SECTION,
            "",
            f"`python bench/incidents.py`: the {records:,}-record detection corpus, detected with "
            f"`{' '.join(STRESS)}` (every baseline one day: the benign corpus then raises "
            f"{int(figures['alerts']):,} alerts), the last incident build forgotten, then "
            "`mailhunt incidents --format jsonl` (regroup every alert, store every blast "
            "radius, list) against `mailhunt ingest` of the same corpus, same run. Target "
            f"(issue 10): at most {MAX_SHARE:.0%} of ingest.",
            "",
            "| step | wall s | CPU s |",
            "| --- | --- | --- |",
            f"| ingest | {figures['ingest_s']:.2f} | {figures['ingest_cpu']:.2f} |",
            f"| incidents | {figures['incidents_s']:.2f} | {figures['incidents_cpu']:.2f} |",
            "",
            f"{int(figures['incidents']):,} incidents, {int(figures['records']):,} attributed "
            f"records. incidents / ingest: {share:.3f} (wall), "
            f"{figures['incidents_cpu'] / figures['ingest_cpu']:.3f} (CPU)"
            + (". The target holds." if ok else f". Above the {MAX_SHARE:.0%} target."),
        ]
    )
    return text + "\n", ok


def write_section(text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (bench/results.py)."""
    replace_section(SECTION, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 records, no RESULTS.md")
    options = parser.parse_args()
    records = 20_000 if options.quick else options.records
    work = Path(tempfile.mkdtemp(prefix="mailhunt-bench-incidents-"))
    try:
        figures = measure(records, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text, ok = report(records, figures)
    print(text)
    if not options.quick:
        write_section(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
