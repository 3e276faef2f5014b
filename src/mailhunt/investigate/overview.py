"""What a store holds at a glance: its tenants, its ingest runs and the last ingest per source
format, and which incidents an alert belongs to. Typed rows for the web UI's overview, alerts
and ingest pages (and any other reader); values bound, SQL fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailhunt.store.db import Store


@dataclass(frozen=True)
class TenantSummary:
    """One tenant: its records and alerts."""

    tenant_id: str
    events: int
    signins: int
    alerts: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class SourceIngest:
    """The last ingest of one source format."""

    format: str
    last_ingest: datetime
    files: int
    records_read: int
    records_new: int
    records_quarantined: int


@dataclass(frozen=True)
class IngestRun:
    """One input file of one ingest run."""

    ingest_run_id: str
    started_at: datetime
    source_path: str
    format: str | None
    status: str
    records_read: int
    records_new: int
    records_quarantined: int
    detail: str | None


_TENANTS = """
WITH e AS (SELECT tenant_id, count(*) AS n, min(time) AS f, max(time) AS l FROM events
           WHERE tenant_id IS NOT NULL GROUP BY 1),
     s AS (SELECT tenant_id, count(*) AS n, min(time) AS f, max(time) AS l FROM signins
           WHERE tenant_id IS NOT NULL GROUP BY 1),
     a AS (SELECT t AS tenant_id, count(*) AS n FROM (SELECT unnest(tenant_ids) AS t FROM alerts
           WHERE suppressed_by IS NULL) GROUP BY 1),
     ids AS (SELECT tenant_id FROM e UNION SELECT tenant_id FROM s UNION SELECT tenant_id FROM a)
SELECT ids.tenant_id, coalesce(e.n, 0), coalesce(s.n, 0), coalesce(a.n, 0),
       least(e.f, s.f), greatest(e.l, s.l)
FROM ids LEFT JOIN e USING (tenant_id) LEFT JOIN s USING (tenant_id) LEFT JOIN a USING (tenant_id)
ORDER BY 1
"""


def tenants(store: Store) -> list[TenantSummary]:
    """Every tenant named by a record or an alert, with its counts and period."""
    return [TenantSummary(*row) for row in store.query(_TENANTS)]


_SOURCES = """
SELECT format, max(started_at), count(*), coalesce(sum(records_read), 0),
       coalesce(sum(records_new), 0), coalesce(sum(records_quarantined), 0)
FROM ingest_runs WHERE format IS NOT NULL AND status = 'ingested'
GROUP BY format ORDER BY 2 DESC, 1
"""


def last_ingest(store: Store) -> list[SourceIngest]:
    """Per source format: when it was last ingested, and its files and records in all."""
    return [SourceIngest(*row) for row in store.query(_SOURCES)]


_RUNS = """
SELECT ingest_run_id, started_at, source_path, format, coalesce(status, 'unknown'),
       coalesce(records_read, 0), coalesce(records_new, 0), coalesce(records_quarantined, 0),
       detail
FROM ingest_runs ORDER BY started_at DESC, source_path LIMIT ?
"""


def ingest_runs(store: Store, *, limit: int = 500) -> list[IngestRun]:
    """The latest input files ingested (newest first), at most ``limit``."""
    return [IngestRun(*row) for row in store.query(_RUNS, [limit])]


def incidents_of_alert(store: Store, alert_id: str) -> list[str]:
    """The live incidents holding the alert (an incident merged into another is followed)."""
    rows = store.query(
        "SELECT DISTINCT coalesce(i.merged_into, i.id) FROM incidents i "
        "WHERE list_contains(i.alert_ids, ?) ORDER BY 1",
        [alert_id],
    )
    return [str(row[0]) for row in rows]
