"""token-without-signin: tokens no sign-in issued, coverage, app-only tokens, parameters.

Every dataset is built here: twelve days (day 0 to 11) in which alice signs in interactively
each morning and reads her mail with Outlook on that token, and bob's Outlook Mobile refreshes
its token silently (a non-interactive sign-in) and reads his; then the accesses under test.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.detect.analytics.token_without_signin import ANALYTIC
from mailhunt.detect.runner import run_detections
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.helpers import (
    EXO,
    GRAPH,
    OTHER_TENANT,
    OUTLOOK,
    OUTLOOK_MOBILE,
    ROGUE_APP,
    TENANT,
    Record,
    at,
    mail_access,
    signin_record,
    ual_time,
    write_jsonl,
)

ALICE = "alice@contoso.onmicrosoft.com"
BOB = "bob@contoso.onmicrosoft.com"
ADMIN = "it-admin@contoso.onmicrosoft.com"
ARCHIVER = "archiver-app"  # UAL names an app-only caller by its application, not a UPN
ARCHIVER_APP = "5f3c8d21-7a4e-4b9c-9e1f-2d6a8b0c4e71"
ALICE_SESSION = "5b0e8f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
BOB_SESSION = "6c1f9a8b-2d3e-4f5a-9b0c-1d2e3f4a5b6c"
FORGED_SESSION = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
DAYS = range(12)


def context(record: Record, **fields: Any) -> Record:
    """The record with its AppAccessContext fields replaced (None removes one)."""
    merged = {**record["AppAccessContext"], **fields}
    return {**record, "AppAccessContext": {k: v for k, v in merged.items() if v is not None}}


def access(
    record_id: str,
    moment: datetime,
    mailbox: str,
    app: str,
    token: str,
    *,
    session: str | None = ALICE_SESSION,
    issued: datetime | None = None,
    **fields: Any,
) -> Record:
    """A MailItemsAccessed with the given token, session and issue time (default: 5 min)."""
    record = mail_access(record_id, moment, mailbox, app, uti=token, **fields)
    return context(
        record,
        AADSessionId=session,
        IssuedAtTime=ual_time(issued or moment - timedelta(minutes=5)),
    )


def signin(
    record_id: str,
    moment: datetime,
    user: str | None,
    app: str,
    token: str,
    *,
    session: str | None = ALICE_SESSION,
    interactive: bool = True,
    error: int = 0,
    tenant: str = TENANT,
) -> Record:
    """A sign-in that issued `token`; `user` None is a service principal (app-only) sign-in."""
    record = signin_record(record_id, moment, user or "", app, uti=token, tenant=tenant)
    record.update(sessionId=session, isInteractive=interactive)
    record["status"] = {"errorCode": error, "failureReason": "Invalid password" if error else None}
    if user is None:
        record.update(userPrincipalName=None, userId=None, sessionId=None, isInteractive=False)
    return record


def history() -> tuple[list[Record], list[Record]]:
    """(audit records, sign-ins) of the twelve ordinary days."""
    audit, signins = [], []
    for d in DAYS:
        signins.append(signin(f"s-a-{d}", at(d, 7), ALICE, OUTLOOK, f"tok-a-{d}"))
        audit.append(access(f"h-a-{d}", at(d, 7, 30), ALICE, OUTLOOK, f"tok-a-{d}"))
        signins.append(
            signin(
                f"s-b-{d}",
                at(d, 8),
                BOB,
                OUTLOOK_MOBILE,
                f"tok-b-{d}",
                session=BOB_SESSION,
                interactive=d == 0,
            )
        )
        audit.append(
            access(f"h-b-{d}", at(d, 8, 30), BOB, OUTLOOK_MOBILE, f"tok-b-{d}", session=BOB_SESSION)
        )
    return audit, signins


def detect(
    store: Store,
    tmp_path: Path,
    extra: list[Record],
    extra_signins: list[Record] | None = None,
    *,
    signins: list[Record] | None = None,
    **overrides: object,
) -> list[Alert]:
    audit, ordinary = history()
    write_jsonl(tmp_path / "ual.jsonl", audit + extra)
    write_jsonl(
        tmp_path / "signins.jsonl",
        (ordinary if signins is None else signins) + (extra_signins or []),
    )
    summary = ingest(store, [tmp_path])
    assert summary.quarantined == 0
    run_detections(store, analytics=[ANALYTIC], overrides=overrides)
    return list_alerts(store)


def forged(record_id: str, moment: datetime, mailbox: str = ALICE, **fields: Any) -> Record:
    """Outlook, the application alice reads with every day, on a token and session no sign-in
    issued: the Storm-0558 case the other analytics let through."""
    return access(
        record_id,
        moment,
        mailbox,
        OUTLOOK,
        f"tok-{record_id}",
        session=FORGED_SESSION,
        ip="45.77.191.159:4431",
        **fields,
    )


def test_tokens_sign_ins_issued_raise_nothing(store: Store, tmp_path: Path) -> None:
    assert detect(store, tmp_path, []) == []


def test_forged_token_on_an_application_the_mailbox_uses_is_high(
    store: Store, tmp_path: Path
) -> None:
    [alert] = detect(
        store, tmp_path, [forged("evil-1", at(10, 2, 13)), forged("evil-2", at(10, 3))]
    )
    assert alert.rule_id == "token-without-signin"
    assert (alert.severity, alert.technique) == ("high", "T1550.001")
    assert json.loads(alert.entity) == [TENANT, OUTLOOK]
    assert alert.summary == (
        f'Application "Microsoft Office" ({OUTLOOK}) read 1 mailbox(es) in 2 access(es) with '
        "2 token(s) no stored sign-in issued; 2 in a session no sign-in opened"
    )
    assert (alert.tenant_ids, alert.mailboxes, alert.users) == ([TENANT], [ALICE], [ALICE])
    assert alert.app_ids == sorted([EXO, OUTLOOK])
    assert alert.client_ips == ["45.77.191.159"]
    assert alert.event_ids == ["evil-1", "evil-2"]
    assert alert.why is not None
    baseline, new = alert.why["baseline"], alert.why["new"]
    assert baseline["compared_with"] == "user sign-ins, interactive and non-interactive"
    assert (baseline["token_lifetime_hours"], baseline["clock_skew_minutes"]) == (24, 10)
    assert baseline["signins_from"] < baseline["signins_to"]
    assert new == {
        "tokens": ["tok-evil-1", "tok-evil-2"],
        "token_count": 2,
        "accesses": 2,
        "in_unknown_session": 2,
    }
    assert (alert.first_seen, alert.last_seen) == (at(10, 2, 13), at(10, 3))


def test_unknown_token_in_a_known_session_is_high_without_the_session_note(
    store: Store, tmp_path: Path
) -> None:
    extra = [access("odd", at(10, 12), ALICE, OUTLOOK, "tok-never-logged")]
    [alert] = detect(store, tmp_path, extra)
    assert alert.severity == "high"
    assert alert.summary.endswith("with 1 token(s) no stored sign-in issued")


def test_someone_elses_mailbox_read_with_a_forged_token_is_critical(
    store: Store, tmp_path: Path
) -> None:
    [alert] = detect(store, tmp_path, [forged("evil", at(10, 2), BOB, actor=ADMIN)])
    assert (alert.severity, alert.mailboxes, alert.users) == ("critical", [BOB], [ADMIN])
    assert alert.summary.endswith("; read as someone other than the mailbox owner")


@pytest.mark.parametrize(("hours", "alerts"), [(23, 0), (30, 1)])
def test_token_lifetime_bounds_the_issuing_sign_in(
    store: Store, tmp_path: Path, hours: int, alerts: int
) -> None:
    issued = at(10, 9) - timedelta(hours=hours)
    extra_signins = [signin("s-old", issued, ALICE, OUTLOOK, "tok-old")]
    extra = [access("late", at(10, 9), ALICE, OUTLOOK, "tok-old", issued=issued)]
    found = detect(store, tmp_path, extra, extra_signins)
    assert [a.event_ids for a in found] == [["late"]] * alerts


def test_token_lifetime_hours_is_configurable(store: Store, tmp_path: Path) -> None:
    issued = at(10, 9) - timedelta(hours=30)
    extra_signins = [signin("s-old", issued, ALICE, OUTLOOK, "tok-old")]
    extra = [access("late", at(10, 9), ALICE, OUTLOOK, "tok-old", issued=issued)]
    assert detect(store, tmp_path, extra, extra_signins, token_lifetime_hours=31) == []


@pytest.mark.parametrize(("skew", "alerts"), [(10, 0), (1, 1)])
def test_clock_skew_minutes_is_configurable(
    store: Store, tmp_path: Path, skew: int, alerts: int
) -> None:
    """The sign-in log's clock runs 4 minutes behind: its sign-in comes after the access."""
    extra_signins = [signin("s-late", at(10, 9, 4), ALICE, OUTLOOK, "tok-skewed")]
    extra = [access("skewed", at(10, 9), ALICE, OUTLOOK, "tok-skewed")]
    found = detect(store, tmp_path, extra, extra_signins, clock_skew_minutes=skew)
    assert [a.event_ids for a in found] == [["skewed"]] * alerts


def test_a_failed_sign_in_issues_no_token(store: Store, tmp_path: Path) -> None:
    extra_signins = [signin("s-fail", at(10, 8), ALICE, OUTLOOK, "tok-fail", error=50126)]
    extra = [access("after-fail", at(10, 9), ALICE, OUTLOOK, "tok-fail")]
    [alert] = detect(store, tmp_path, extra, extra_signins)
    assert alert.event_ids == ["after-fail"]


def test_tenant_without_sign_in_logs_is_not_judged(store: Store, tmp_path: Path) -> None:
    """Fabrikam's mail access is stored, its sign-ins are not: silence (the coverage finding's
    to report), while Contoso's forged access beside it still alerts."""
    elsewhere = [
        forged(f"fab-{d}", at(d, 10), "x@fabrikam.example", tenant=OTHER_TENANT) for d in DAYS
    ]
    found = detect(store, tmp_path, [*elsewhere, forged("evil", at(10, 2))])
    assert [(a.tenant_ids, a.event_ids) for a in found] == [([TENANT], ["evil"])]


@pytest.mark.parametrize("moment", [at(0, 3), at(12, 9), at(20)])
def test_access_outside_the_covered_period_is_not_judged(
    store: Store, tmp_path: Path, moment: datetime
) -> None:
    """Sign-ins are stored from day 0 07:00 to day 11 08:00."""
    assert detect(store, tmp_path, [forged("outside", moment)]) == []


def test_only_interactive_sign_ins_stored_is_not_coverage(store: Store, tmp_path: Path) -> None:
    """Without the non-interactive log, silent refreshes look unissued: not judged."""
    _, ordinary = history()
    interactive = [s for s in ordinary if s["isInteractive"]]
    assert detect(store, tmp_path, [forged("evil", at(10, 2))], signins=interactive) == []


def test_session_stands_in_when_the_record_names_no_token(store: Store, tmp_path: Path) -> None:
    extra = [
        context(access("known", at(10, 9), ALICE, OUTLOOK, "x"), UniqueTokenId=None),
        context(forged("unknown", at(10, 10)), UniqueTokenId=None),
    ]
    [alert] = detect(store, tmp_path, extra)
    assert alert.event_ids == ["unknown"]
    assert "in 1 access(es) with 1 token(s) no stored sign-in issued" in alert.summary


def test_sign_ins_without_token_ids_are_matched_by_session(store: Store, tmp_path: Path) -> None:
    """Sign-ins exported without uniqueTokenIdentifier (Graph v1.0): tokens the records name
    cannot be looked up, so their sessions are."""
    _, ordinary = history()
    untokened = [{**s, "uniqueTokenIdentifier": None} for s in ordinary]
    extra = [
        access("known", at(10, 9), ALICE, OUTLOOK, "tok-unlogged"),
        forged("unknown", at(10, 10)),
    ]
    [alert] = detect(store, tmp_path, extra, signins=untokened)
    assert alert.event_ids == ["unknown"]


def app_only(record_id: str, moment: datetime, mailbox: str, token: str) -> Record:
    """The archiving application reading a mailbox with a client-credentials token."""
    record = access(record_id, moment, mailbox, ARCHIVER_APP, token, session=None, actor=ARCHIVER)
    return {**record, "AppId": GRAPH}


def archiver_signins() -> list[Record]:
    signins = [signin(f"s-app-{d}", at(d, 2), None, ARCHIVER_APP, f"tok-app-{d}") for d in DAYS]
    return [{**s, "appDisplayName": ARCHIVER} for s in signins]


def test_app_only_token_is_judged_against_service_principal_sign_ins(
    store: Store, tmp_path: Path
) -> None:
    extra = [
        app_only("arch-ok", at(10, 2, 5), ALICE, "tok-app-10"),
        app_only("arch-forged", at(10, 2, 6), BOB, "tok-app-forged"),
    ]
    [alert] = detect(store, tmp_path, extra, archiver_signins())
    assert (alert.severity, alert.event_ids, alert.users) == ("high", ["arch-forged"], [ARCHIVER])
    assert json.loads(alert.entity) == [TENANT, ARCHIVER_APP]
    assert alert.summary == (
        f'Application "{ARCHIVER}" ({ARCHIVER_APP}) read 1 mailbox(es) in 1 access(es) '
        "with 1 token(s) no stored sign-in issued (app-only: checked against service-principal "
        "sign-ins)"
    )


def test_app_only_token_without_service_principal_sign_ins_is_not_judged(
    store: Store, tmp_path: Path
) -> None:
    """User sign-ins cover the tenant, but app-only tokens have no user sign-in to match."""
    extra = [app_only("arch", at(10, 2, 5), ALICE, "tok-app-unlogged")]
    assert detect(store, tmp_path, extra) == []


def test_one_alert_per_application_and_utc_day(store: Store, tmp_path: Path) -> None:
    extra = [
        forged("e-a", at(9, 23, 59)),
        forged("e-b", at(10, 0, 1), BOB),
        forged("e-c", at(10, 1), ALICE),
        access("e-rogue", at(10, 2), ALICE, ROGUE_APP, "tok-rogue", session=FORGED_SESSION),
    ]
    found = detect(store, tmp_path, extra)
    assert [(json.loads(a.entity)[1], a.event_ids, a.mailboxes) for a in found] == [
        (OUTLOOK, ["e-a"], [ALICE]),
        (OUTLOOK, ["e-b", "e-c"], [ALICE, BOB]),
        (ROGUE_APP, ["e-rogue"], [ALICE]),
    ]
    assert len({a.id for a in found}) == 3
