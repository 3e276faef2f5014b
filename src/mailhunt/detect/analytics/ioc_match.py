"""A stored record matches an indicator of compromise.

What it detects: audit records and sign-ins whose client address, user or mailbox, user's
domain, application id or client string matches an indicator in the ``indicators`` table: the
Storm-0558 indicators Microsoft published (shipped with mailhunt, ``intel/data``, each list
citing its source) and the lists imported with ``mailhunt ioc import`` (STIX 2.1 bundles, CSV).
The match is retroactive: every run looks at everything stored, so an indicator published
today finds last year's access. One alert per tenant, indicator and UTC day.

Why: indicators age fast, but when a campaign's infrastructure is published, the first question
of every tenant it may have touched is "did it reach us?". Storm-0558's token web panels and
SoftEther proxies were published with first- and last-seen dates; a provider watching many
tenants needs that answer for all of them at once.

Severity: critical when a matched record is mail access (MailItemsAccessed) or another mailbox
operation, or a successful sign-in; high otherwise (a failed sign-in, an admin or directory
operation). The summary says when the record falls inside the indicator's published first-seen
to last-seen window (a stronger match) and names the list.

Known false positives: addresses of shared hosting and VPN providers (Storm-0558's SoftEther
proxies were rented servers) reassigned to someone else since; user agents that are common
strings; indicators from a list of poor quality. The indicator's source and dates are in the
alert so the responder can weigh it.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://docs.oasis-open.org/cti/stix/v2.1/stix-v2.1.html (patterns, indicators)
https://attack.mitre.org/techniques/T1550/001/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic
from mailhunt.detect.sql_pieces import distinct_list
from mailhunt.intel import builtin_lists, store_indicators
from mailhunt.store.db import Store

_EVENT_FIELDS = (
    "e.record_id, e.time, e.tenant_id, e.mailbox_upn, e.actor_upn AS user_upn, e.client_ip, "
    "coalesce(e.client_app_id, e.app_id) AS app, "
    "e.mailbox_upn IS NOT NULL AND e.record_type <> 1 AS mail_or_signin"
)
_SIGNIN_FIELDS = (
    "s.record_id, s.time, s.tenant_id, NULL AS mailbox_upn, s.user_upn, s.client_ip, "
    "s.app_id AS app, coalesce(s.error_code, 0) = 0 AS mail_or_signin"
)
_IND = "i.source, i.kind, i.value, i.description, i.first_seen, i.last_seen"

SQL = f"""
WITH ind AS (SELECT * FROM indicators WHERE kind <> 'signing_key'),
hits AS (
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e JOIN ind i
      ON i.kind = 'ip' AND lower(e.client_ip) = i.value
    UNION ALL
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e JOIN ind i
      ON i.kind = 'app_id' AND coalesce(e.client_app_id, e.app_id) = i.value
    UNION ALL
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e JOIN ind i
      ON i.kind = 'email' AND coalesce(e.actor_upn, e.mailbox_upn) = i.value
    UNION ALL
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e JOIN ind i
      ON i.kind = 'email' AND e.mailbox_upn = i.value AND e.actor_upn <> e.mailbox_upn
    UNION ALL
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e JOIN ind i
      ON i.kind = 'domain' AND split_part(e.actor_upn, '@', 2) = i.value
    UNION ALL
    SELECT {_EVENT_FIELDS}, {_IND} FROM events e
      JOIN (SELECT * FROM ind WHERE kind = 'user_agent') i
      ON contains(lower(e.user_agent), i.value)
    UNION ALL
    SELECT {_SIGNIN_FIELDS}, {_IND} FROM signins s JOIN ind i
      ON i.kind = 'ip' AND lower(s.client_ip) = i.value
    UNION ALL
    SELECT {_SIGNIN_FIELDS}, {_IND} FROM signins s JOIN ind i
      ON i.kind = 'app_id' AND s.app_id = i.value
    UNION ALL
    SELECT {_SIGNIN_FIELDS}, {_IND} FROM signins s JOIN ind i
      ON i.kind = 'email' AND s.user_upn = i.value
    UNION ALL
    SELECT {_SIGNIN_FIELDS}, {_IND} FROM signins s JOIN ind i
      ON i.kind = 'domain' AND split_part(s.user_upn, '@', 2) = i.value
    UNION ALL
    SELECT {_SIGNIN_FIELDS}, {_IND} FROM signins s
      JOIN (SELECT * FROM ind WHERE kind = 'user_agent') i
      ON contains(lower(s.user_agent), i.value)
),
marked AS (
    SELECT *, date_trunc('day', time) AS bucket,
           CAST(time AS DATE) BETWEEN first_seen AND last_seen AS in_window
    FROM hits
)
SELECT
    CAST(to_json([coalesce(tenant_id, '-'), source, kind, value]) AS VARCHAR) AS entity,
    bucket,
    CASE WHEN bool_or(mail_or_signin) THEN 'critical' ELSE 'high' END AS severity,
    count(DISTINCT record_id) || ' record(s) match ' || any_value(kind) || ' indicator ' ||
      any_value(value) || ' of ' || any_value(source) ||
      coalesce(' (' || any_value(description) || ')', '') ||
      CASE WHEN bool_or(in_window) THEN ', inside its published first/last-seen window'
           ELSE '' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("user_upn")} AS users,
    {distinct_list("app")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := struct_pack(list := any_value(source),
                                first_seen := any_value(first_seen),
                                last_seen := any_value(last_seen)),
        new := struct_pack(kind := any_value(kind), indicator := any_value(value),
                           inside_window := bool_or(in_window))
    )) AS VARCHAR) AS why
FROM marked
GROUP BY tenant_id, source, kind, value, bucket
"""


def _load_builtin(store: Store) -> None:
    """The shipped indicator lists, brought up to date in the store (a new mailhunt may ship
    more)."""
    store_indicators(store, builtin_lists())


ANALYTIC = Analytic(
    id="ioc-match",
    title="Record matches an indicator of compromise",
    severity="high",
    technique="T1550.001",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins", "indicators"),
    setup=_load_builtin,
)
