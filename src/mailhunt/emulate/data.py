"""What the emulator serves: a tenant's records as the Microsoft feeds would deliver them.

The records come from the simulator's test bed (``mailhunt.simulate``: ``ual/*.jsonl``,
``ual/blob-*.json``, ``signins/*.json``) or are given directly. Each UAL record becomes
available some minutes after it happened (optionally days: ``late``), is packed with the
records of its content type that became available in the same hour into a content blob, and a
blob may be delivered several times (``copies``): listed again later under the same content id,
or re-packed under a new id with its records shuffled. That is what the Management Activity
API documents: "actions and events in a content blob will not necessarily appear in the order
in which they occurred", first blobs up to 12 hours after subscribing, content kept 7 days
(https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

Record = dict[str, Any]

# Workload -> content type (Audit.General holds every workload the others do not).
CONTENT_TYPES = {
    "Exchange": "Audit.Exchange",
    "AzureActiveDirectory": "Audit.AzureActiveDirectory",
    "SharePoint": "Audit.SharePoint",
    "OneDrive": "Audit.SharePoint",
}
ALL_CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
SIGNIN_EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal")
BLOB_BUCKET = timedelta(hours=1)


def parse_time(text: str) -> datetime:
    """A feed's timestamp (``2026-06-01T10:00:00``, ``...Z``, fractions) as aware UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Delivery:
    """How records are delivered: delay, lateness and repeated blobs, all seeded."""

    seed: int = 1
    delay_minutes: tuple[float, float] = (2.0, 30.0)
    late_fraction: float = 0.0  # share of UAL records made available days late
    late_days: tuple[float, float] = (1.0, 5.0)
    signin_late_fraction: float = 0.0  # share of sign-ins available hours late
    signin_late_hours: tuple[float, float] = (1.0, 6.0)
    copies: tuple[int, int] = (1, 1)  # each blob delivered between these many times
    shuffle: bool = False  # listing pages in shuffled order


@dataclass(frozen=True)
class Blob:
    """One content blob as listed: id, type, when it became available, its body."""

    content_id: str
    content_type: str
    created: datetime
    body: bytes
    record_ids: tuple[str, ...]


@dataclass(frozen=True)
class Timed:
    """A Graph record with its event time and the time the API starts returning it."""

    time: datetime
    available: datetime
    record: Record


@dataclass
class TenantData:
    """One emulated tenant: its identity, its app registration and its records."""

    tenant_id: str
    ual: list[Record] = field(default_factory=list)
    signins: list[Record] = field(default_factory=list)
    directory_audits: list[Record] = field(default_factory=list)

    @classmethod
    def from_test_bed(cls, folder: Path) -> TenantData:
        """A simulated tenant's folder (see ``mailhunt.simulate.simulate_tenant``)."""
        truth = orjson.loads((folder / "ground_truth.json").read_bytes())
        tenant_id = str(truth["tenant_id"])
        ual: list[Record] = []
        for path in sorted((folder / "ual").glob("*.json*")):
            data = path.read_bytes()
            if path.suffix == ".json":
                ual.extend(orjson.loads(data))
            else:
                ual.extend(orjson.loads(line) for line in data.splitlines() if line.strip())
        signins: list[Record] = []
        for path in sorted((folder / "signins").glob("*.json")):
            signins.extend(orjson.loads(path.read_bytes())["value"])
        return cls(tenant_id, ual, signins)


def content_type_of(record: Record) -> str:
    return CONTENT_TYPES.get(str(record.get("Workload")), "Audit.General")


def _content_id(content_type: str, created: datetime, digest: str) -> str:
    """Shaped like the service's: time, a key, the type (``...$audit_exchange$Audit_Exchange``)."""
    stamp = created.strftime("%Y%m%d%H%M%S%f")
    kind = content_type.replace(".", "_")
    return f"{stamp}${digest}${kind.lower()}${kind}$emu0001"


def _pack(content_type: str, created: datetime, records: Sequence[Record], salt: str) -> Blob:
    body = orjson.dumps(list(records))
    digest = hashlib.sha256(salt.encode() + body).hexdigest()[:20]
    ids = tuple(str(r.get("Id")) for r in records)
    return Blob(_content_id(content_type, created, digest), content_type, created, body, ids)


def build_blobs(records: Iterable[Record], delivery: Delivery) -> list[Blob]:
    """The content blobs the records are delivered in, every copy, sorted by availability."""
    rng = random.Random(f"{delivery.seed}/blobs")
    buckets: dict[tuple[str, datetime], list[Record]] = defaultdict(list)
    for record in records:
        available = parse_time(str(record["CreationTime"])) + timedelta(
            minutes=rng.uniform(*delivery.delay_minutes)
        )
        if rng.random() < delivery.late_fraction:
            available += timedelta(days=rng.uniform(*delivery.late_days))
        hour = available.replace(minute=0, second=0, microsecond=0)
        buckets[content_type_of(record), hour].append(record)
    blobs: list[Blob] = []
    for (content_type, hour), bucket in sorted(buckets.items()):
        first = _pack(content_type, hour + BLOB_BUCKET, bucket, "0")
        blobs.append(first)
        for copy in range(1, rng.randint(*delivery.copies)):
            later = first.created + timedelta(minutes=7 * copy + rng.randint(0, 90))
            if copy % 2:  # listed again, same id, same body
                blobs.append(
                    Blob(first.content_id, content_type, later, first.body, first.record_ids)
                )
            else:  # the same records re-packed under another id
                shuffled = list(bucket)
                rng.shuffle(shuffled)
                blobs.append(_pack(content_type, later, shuffled, str(copy)))
    return sorted(blobs, key=lambda b: (b.created, b.content_id))


def timed_signins(records: Iterable[Record], delivery: Delivery) -> list[Timed]:
    """Sign-ins with the time Graph starts returning them."""
    rng = random.Random(f"{delivery.seed}/signins")
    timed: list[Timed] = []
    for record in records:
        time = parse_time(str(record["createdDateTime"]))
        available = time + timedelta(minutes=rng.uniform(*delivery.delay_minutes))
        if rng.random() < delivery.signin_late_fraction:
            available += timedelta(hours=rng.uniform(*delivery.signin_late_hours))
        timed.append(Timed(time, available, record))
    return timed


def timed_audits(records: Iterable[Record], delivery: Delivery) -> list[Timed]:
    """Directory audits with the time Graph starts returning them."""
    rng = random.Random(f"{delivery.seed}/audits")
    out = []
    for record in records:
        time = parse_time(str(record["activityDateTime"]))
        out.append(
            Timed(time, time + timedelta(minutes=rng.uniform(*delivery.delay_minutes)), record)
        )
    return out


def signin_kind(record: Record) -> str:
    kinds = record.get("signInEventTypes") or []
    if kinds:
        return str(kinds[0])
    return "interactiveUser" if record.get("isInteractive", True) else "nonInteractiveUser"


def now_utc() -> datetime:
    return datetime.now(UTC)
