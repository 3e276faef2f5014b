"""sync-from-new-context: whole-folder Sync from a new network or by a new application, the new
phone's first sync, and the test bed (folder-sync-theft; benign noise).

Every hand-built dataset is twelve days (0 to 11) of alice signing in from home each morning and
reading (and now and then syncing her Inbox) with Outlook; then the records under test.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.sync_from_new_context import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.enrich import enrich_ips
from mailhunt.ingest import ingest
from mailhunt.simulate import simulate_tenant
from mailhunt.simulate.noise import NOISES
from mailhunt.store.db import Store
from tests.enrich.world import write_world
from tests.helpers import (
    OUTLOOK,
    OUTLOOK_MOBILE,
    ROGUE_APP,
    TENANT,
    Record,
    at,
    mail_access,
    signin_record,
    write_jsonl,
)

ALICE = "alice@contoso.onmicrosoft.com"
HOME = "86.12.40.7"
CARRIER = "148.252.7.9"
VPS = "45.77.12.34"


def sync(
    record_id: str,
    moment: datetime,
    ip: str,
    app: str = OUTLOOK,
    token: str | None = None,
    *,
    folders: tuple[str, ...] = ("\\Inbox",),
    **fields: object,
) -> Record:
    """A MailItemsAccessed Sync of whole folders (no items listed) of alice's mailbox."""
    record = mail_access(
        record_id, moment, ALICE, app, uti=token or f"tok-{record_id}", ip=ip, **fields
    )
    record["OperationProperties"] = [
        {"Name": "MailAccessType", "Value": "Sync"},
        {"Name": "IsThrottled", "Value": "False"},
    ]
    record["Folders"] = [{"Path": path} for path in folders]
    return record


def history() -> tuple[list[Record], list[Record]]:
    audit, signins = [], []
    for d in range(12):
        token = f"tok-home-{d}"
        signins.append(signin_record(f"s-{d}", at(d, 7), ALICE, OUTLOOK, uti=token, ip=HOME))
        audit.append(mail_access(f"h-{d}", at(d, 7, 5), ALICE, OUTLOOK, uti=token, ip=HOME))
        if d % 3 == 0:
            audit.append(sync(f"hs-{d}", at(d, 7, 6), HOME, token=token))
    return audit, signins


def detect(
    store: Store, tmp_path: Path, extra: list[Record], extra_signins: list[Record] | None = None
) -> list[Alert]:
    audit, signins = history()
    write_jsonl(tmp_path / "in" / "ual.jsonl", audit + extra)
    write_jsonl(tmp_path / "in" / "signins.jsonl", signins + (extra_signins or []))
    ingest(store, [tmp_path / "in"])
    enrich_ips(store, write_world(tmp_path / "world"))
    summary = run_detections(store, analytics=[ANALYTIC])
    assert summary.failed == {}
    return list_alerts(store)


def test_history_alone_raises_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []


def test_folders_synced_from_a_new_server_are_presumed_stolen(store: Store, tmp_path: Path) -> None:
    extra = [
        sync("steal-1", at(10, 2), VPS, folders=("\\Inbox",)),
        sync("steal-2", at(10, 2, 1), VPS, folders=("\\Sent Items", "\\Archive")),
    ]
    [alert] = detect(store, tmp_path, extra)
    assert alert.rule_id == "sync-from-new-context"
    assert json.loads(alert.entity) == [TENANT, ALICE]
    assert (alert.severity, alert.event_ids) == ("critical", ["steal-1", "steal-2"])
    assert alert.summary == (
        f"Mailbox {ALICE}: folder(s) \\Archive, \\Inbox, \\Sent Items synced whole (2 Sync "
        'record(s)), presumed stolen; from network AS20473 "AS-CHOOPA" 45.77.12.0/24 (hosting, '
        "US), new to the mailbox, before any sign-in from it; with a token no stored sign-in "
        "issued"
    )


def test_a_new_phone_s_first_sync_is_not_raised(store: Store, tmp_path: Path) -> None:
    """Outlook Mobile, new to the mailbox, from a carrier address alice just signed in from."""
    extra_signins = [
        signin_record("s-phone", at(10, 12), ALICE, OUTLOOK_MOBILE, uti="tok-phone", ip=CARRIER)
    ]
    extra = [
        sync(f"phone-{n}", at(10, 12, n + 1), CARRIER, OUTLOOK_MOBILE, "tok-phone", folders=(path,))
        for n, path in enumerate(("\\Inbox", "\\Sent Items", "\\Archive"))
    ]
    assert detect(store, tmp_path, extra, extra_signins) == []


def test_a_new_phone_on_a_token_no_sign_in_issued_is_raised(store: Store, tmp_path: Path) -> None:
    extra = [sync("phone", at(10, 12), HOME, OUTLOOK_MOBILE, "tok-forged")]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "high"
    assert alert.summary.endswith(
        f"by application {OUTLOOK_MOBILE} (no sign-in names it), new to the mailbox and to the "
        "tenant; with a token no stored sign-in issued"
    )


def test_a_new_third_party_client_on_the_owner_s_token_is_medium(
    store: Store, tmp_path: Path
) -> None:
    extra_signins = [signin_record("s-app", at(10, 9), ALICE, ROGUE_APP, uti="tok-app", ip=HOME)]
    extra = [
        mail_access("seen-by-bob", at(9, 9), "bob@contoso.onmicrosoft.com", ROGUE_APP, ip=HOME),
        sync("client", at(10, 9, 1), HOME, ROGUE_APP, "tok-app"),
    ]
    [alert] = detect(store, tmp_path, extra, extra_signins)
    assert (alert.severity, alert.event_ids) == ("medium", ["client"])


def test_bind_reads_are_not_this_analytic_s(store: Store, tmp_path: Path) -> None:
    extra = [mail_access("bind", at(10, 2), ALICE, OUTLOOK, uti="tok-x", ip=VPS)]
    assert detect(store, tmp_path, extra) == []


# -- the test bed --------------------------------------------------------------------------


def bed(tmp_path: Path, *, inject: bool) -> tuple[list[Alert], set[str]]:
    tenant = simulate_tenant(
        tmp_path / "tenant",
        seed=6,
        days=12,
        users=10,
        attacks=["folder-sync-theft"],
        inject=inject,
        noise=sorted(NOISES),
    )
    with Store.open(None) as store:
        ingest(store, [tmp_path / "tenant" / "ual", tmp_path / "tenant" / "signins"])
        run_detections(store, analytics=[ANALYTIC])
        alerts = list_alerts(store)
    keys = {r for i in tenant.intrusions for r in (i.key_record_ids or i.record_ids)}
    return alerts, keys


def test_test_bed_folder_sync_theft_is_caught_and_the_folders_named(tmp_path: Path) -> None:
    alerts, keys = bed(tmp_path, inject=True)
    assert len(alerts) == 2  # the executive's and one other mailbox
    assert {r for a in alerts for r in a.event_ids} == keys
    assert all("\\Archive, \\Inbox, \\Sent Items synced whole" in a.summary for a in alerts)


def test_test_bed_benign_tenant_with_every_noise_raises_nothing(tmp_path: Path) -> None:
    alerts, keys = bed(tmp_path, inject=False)
    assert (alerts, keys) == ([], set())
