"""Builders shared by the tests of the administrative analytics (permission grants, inbox rules,
forwarding, consent, audit tampering, protocols): twelve ordinary days of alice, bob and the
administrator reading their own mail from their usual addresses and signing in there, and
cmdlet or directory records on top."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.base import Analytic
from mailhunt.detect.runner import detections, run_detections
from mailhunt.ingest import ingest
from mailhunt.simulate import simulate_tenant
from mailhunt.simulate.admin import Caller, Change, directory_audit, exchange_cmdlet
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store
from tests.helpers import OUTLOOK, TENANT, Record, at, mail_access, signin_record, write_jsonl

DOMAIN = "contoso.onmicrosoft.com"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
ADMIN = f"it-admin@{DOMAIN}"
HOME = {ALICE: "203.0.113.10", BOB: "203.0.113.20", ADMIN: "203.0.113.30"}
ATTACKER_IP = "45.77.12.34"
DAYS = range(12)


def caller(upn: str, ip: str | None = None) -> Caller:
    return Caller(upn, f"1003{abs(hash(upn)) % 10**12:012d}", ip or HOME[upn])


def history() -> tuple[list[Record], list[Record]]:
    """(audit records, sign-ins) of the twelve ordinary days."""
    audit: list[Record] = []
    signins: list[Record] = []
    for d in DAYS:
        for n, user in enumerate((ALICE, BOB, ADMIN)):
            ip = HOME[user]
            signins.append(signin_record(f"s-{n}-{d}", at(d, 7 + n), user, OUTLOOK, ip=ip))
            audit.append(mail_access(f"h-{n}-{d}", at(d, 8 + n), user, OUTLOOK, ip=f"{ip}:5000"))
    return audit, signins


def cmdlet(
    record_id: str,
    moment: datetime,
    operation: str,
    parameters: Mapping[str, str],
    *,
    by: str = ADMIN,
    ip: str | None = None,
    object_id: str | None = None,
    succeeded: bool = True,
) -> Record:
    """An Exchange cmdlet record run by ``by`` from its usual address (or ``ip``)."""
    return exchange_cmdlet(
        record_id,
        moment,
        TENANT,
        caller(by, ip),
        domain=DOMAIN,
        operation=operation,
        object_id=object_id or parameters.get("Identity", ""),
        parameters=parameters,
        succeeded=succeeded,
    )


def directory(
    record_id: str,
    moment: datetime,
    operation: str,
    changes: Sequence[tuple[str, str]],
    *,
    by: str = ALICE,
    ip: str | None = None,
    object_id: str = "6a1d3c5e-7f90-4b2a-8c4d-5e6f7a8b9c0d",
) -> Record:
    """An Entra directory audit (consent, permission grant) by ``by``."""
    return directory_audit(
        record_id,
        moment,
        TENANT,
        caller(by, ip),
        operation=operation,
        object_id=object_id,
        changes=[Change(name, value) for name, value in changes],
        targets=[(object_id, 2)],
    )


def detect(
    store: Store,
    tmp_path: Path,
    analytic: Analytic,
    extra: list[Record],
    extra_signins: list[Record] | None = None,
    **overrides: object,
) -> list[Alert]:
    """Ingest the ordinary days plus ``extra``, run ``analytic``, return its alerts."""
    audit, signins = history()
    write_jsonl(tmp_path / "ual.jsonl", audit + extra)
    write_jsonl(tmp_path / "signins.jsonl", signins + (extra_signins or []))
    summary = ingest(store, [tmp_path])
    assert summary.quarantined == 0
    run_detections(store, analytics=[analytic], overrides=overrides)
    return list_alerts(store)


def why(store: Store, analytic: Analytic) -> list[dict[str, object]]:
    """The ``why`` column of the analytic's detections, run once more on the store."""
    with detections(store, analytic) as table:
        rows = store.query(f"SELECT why FROM {table} ORDER BY entity, bucket")
    return [json.loads(row[0]) for row in rows]


ATTACK_KINDS = ("bec-inbox-rule", "illicit-consent", "admin-self-grant", "audit-tampering")


@functools.cache
def simulated_bed(inject: bool) -> tuple[tuple[Alert, ...], tuple[Intrusion, ...]]:
    """A small simulated tenant (12 days, 10 users) with every noise source planted and, when
    ``inject``, the four administrative attacks: (its alerts of every analytic, its truth).
    Built once per test session and shared by the analytics' test-bed tests."""
    folder = Path(tempfile.mkdtemp(prefix="mailhunt-admin-simulated_bed-"))
    truth = simulate_tenant(
        folder / "tenant",
        seed=5,
        days=12,
        users=10,
        attacks=ATTACK_KINDS,
        inject=inject,
        noise=sorted(NOISES),
    )
    with Store.open(folder / "db.duckdb") as store:
        ingest(store, [folder / "tenant"])
        run_detections(store)
        alerts = tuple(list_alerts(store))
    return alerts, truth.intrusions


def intrusion(kind: str) -> tuple[tuple[Alert, ...], Intrusion]:
    """The attacked test bed's alerts and its intrusion of ``kind``."""
    alerts, intrusions = simulated_bed(True)
    return alerts, next(i for i in intrusions if i.kind == kind)


def of_rule(alerts: tuple[Alert, ...], rule: str) -> list[Alert]:
    return [alert for alert in alerts if alert.rule_id == rule]
