"""An application reads a mailbox it has not read before.

What it detects: MailItemsAccessed records on a mailbox by an application (ClientAppId, or
AppId when no client app is named) that did not access that mailbox during the baseline window
before (default 14 days). Detections are grouped per tenant, application and UTC day, so one
intruding application reading several mailboxes is one alert listing them all.

Why: this is the signal that exposed Storm-0558 in 2023. Forged tokens let the actor read
Outlook mail through an application that had never touched those mailboxes; a customer's alert
on exactly that (MailItemsAccessed with an unexpected AppId/ClientAppId) revealed a month-long
intrusion.

Severity: high when an access carried a token that no stored sign-in issued (a forged or stolen
token: the Storm-0558 signature), or when an application new to the whole tenant reads a mailbox
as someone other than its owner; medium when an application new to the tenant reads only its
own users' mailboxes with tokens sign-ins issued (an administrator trying a new tool, or a
consented app: worth a look); low when the application is known in the tenant and the owner
reads with issued tokens (typically a new device or client); medium otherwise.

History: a mailbox is only judged once it has at least ``min_history_days`` (default 7) of
stored activity before the access. Without that, every application would be "first seen" in the
first days of data and new mailboxes (new employees) would flood the queue. One exception: an
application new to the whole tenant (once the tenant itself has that much history) is raised on
every mailbox it reads, young or not, so an intruder reading a new employee's mailbox is still
listed. The cost: in the first week of a tenant's data this analytic raises nothing.

Not judged: the owner reading their own mailbox through a common Microsoft mail client
(Outlook desktop, mobile, on the web, Teams: ``detect/sql_pieces.py``) with a token a stored,
successful sign-in issued: a new phone or a new Outlook is the owner's, and the sign-in that
issued its token is in the log. A token no sign-in issued on the same client is judged, as is
every access in a tenant without sign-in logs.

Known false positives: a user starting a new client or device (Outlook mobile, a new add-in);
a newly deployed line-of-business or backup application; delegates starting to use a different
client. Access without any application id (classic MAPI, ``Client=MSExchangeRPC``) is not
judged here.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://learn.microsoft.com/purview/audit-log-investigate-accounts
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import APP_KEY, APP_NAMES_CTE, COMMON_CLIENTS_SQL, app_label

# Mail reads an analytic judges: a mailbox and an application named.
_READS = f"operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL AND {APP_KEY} IS NOT NULL"
# The owner on a common Microsoft mail client with a token a sign-in issued: a new device or
# client of the owner's, not another party (see "Not judged"); part of the baseline, never
# evidence.
_OWNER_DEVICE = f"""coalesce(actor_upn = mailbox_upn
    AND list_contains({COMMON_CLIENTS_SQL}, {APP_KEY})
    AND token_id IN (SELECT unique_token_id FROM signins
                     WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0),
    false)"""

SQL = f"""
WITH access AS (  -- what the per-day baseline needs (read twice: kept narrow)
    SELECT record_id, time, tenant_id, mailbox_upn, {APP_KEY} AS app_key,
           {_OWNER_DEVICE} AS owner_device
    FROM events
    WHERE {_READS}
),
mailbox_since AS (
    SELECT tenant_id, mailbox_upn, min(time) AS since
    FROM events WHERE mailbox_upn IS NOT NULL GROUP BY tenant_id, mailbox_upn
),
tenant_since AS (
    SELECT tenant_id, min(time) AS tenant_start FROM events GROUP BY tenant_id
),
tenant_signins AS (
    SELECT DISTINCT tenant_id FROM signins
),
-- what sign-ins call each application (none for a forged token's client)
{APP_NAMES_CTE},
-- each application's reads of each mailbox per UTC day: a first read is always a day's first
-- (baseline_days >= 1, so an earlier read the same day is never a baseline gap away), and
-- windowing these rows, not every access, is what keeps the analytic cheap
daily_reads AS (
    SELECT tenant_id, mailbox_upn, app_key, date_trunc('day', time) AS bucket,
           min(time) AS first_time, max(time) AS last_time,
           arg_min(owner_device, (time, record_id)) AS first_by_owner_device
    FROM access GROUP BY ALL
),
-- when each application first read each mailbox: the baseline the why names
mailbox_apps AS (
    SELECT tenant_id, mailbox_upn, app_key, min(first_time) AS since
    FROM daily_reads GROUP BY tenant_id, mailbox_upn, app_key
),
marked AS (
    SELECT *,
           lag(last_time) OVER (PARTITION BY tenant_id, mailbox_upn, app_key
                                ORDER BY bucket) AS previous,
           min(first_time) OVER (PARTITION BY tenant_id, app_key) AS app_since
    FROM daily_reads
),
firsts AS (
    SELECT m.tenant_id, m.mailbox_upn, m.app_key, m.first_time, m.bucket,
           date_trunc('day', m.app_since) = m.bucket AS app_new_in_tenant
    FROM marked m
    JOIN mailbox_since s USING (tenant_id, mailbox_upn)
    JOIN tenant_since t USING (tenant_id)
    WHERE NOT m.first_by_owner_device
      AND (m.previous IS NULL OR m.first_time - m.previous > to_days($baseline_days))
      AND (m.first_time - s.since >= to_days($min_history_days)
           OR (date_trunc('day', m.app_since) = m.bucket
               AND m.first_time - t.tenant_start >= to_days($min_history_days)))
),
known_before AS (  -- applications that read the judged mailboxes before the new one did
    SELECT f.tenant_id, f.app_key, f.bucket, list_sort(list_distinct(list(k.app_key))) AS apps
    FROM firsts f JOIN mailbox_apps k
      ON k.tenant_id = f.tenant_id AND k.mailbox_upn = f.mailbox_upn
     AND k.app_key <> f.app_key AND k.since < f.first_time
    GROUP BY f.tenant_id, f.app_key, f.bucket
),
access_rows AS (  -- the judged mailboxes' reads, with what the evidence shows
    SELECT record_id, time, tenant_id, mailbox_upn, actor_upn, client_ip, token_id, app_id,
           {APP_KEY} AS app_key, {_OWNER_DEVICE} AS owner_device
    FROM events
    WHERE {_READS} AND (tenant_id, mailbox_upn) IN (SELECT (tenant_id, mailbox_upn) FROM firsts)
),
evidence AS (
    SELECT f.*, a.record_id, a.time, a.actor_upn, a.client_ip, a.app_id,
           a.token_id IS NOT NULL
             AND a.tenant_id IN (SELECT tenant_id FROM tenant_signins)
             AND NOT EXISTS (SELECT 1 FROM signins s WHERE s.unique_token_id = a.token_id)
             AS token_not_issued
    FROM firsts f JOIN access_rows a
      ON a.tenant_id = f.tenant_id AND a.mailbox_upn = f.mailbox_upn AND a.app_key = f.app_key
     AND a.time >= f.first_time AND date_trunc('day', a.time) = f.bucket
    WHERE NOT a.owner_device
)
SELECT
    CAST(to_json([tenant_id, app_key]) AS VARCHAR) AS entity,  -- unambiguous: a JSON array
    bucket,
    CASE WHEN bool_or(token_not_issued) THEN 'high'
         WHEN bool_or(app_new_in_tenant) AND NOT bool_and(actor_upn = mailbox_upn) THEN 'high'
         WHEN bool_or(app_new_in_tenant) THEN 'medium'
         WHEN bool_and(actor_upn = mailbox_upn) THEN 'low'
         ELSE 'medium' END AS severity,
    'Application ' || {app_label("app_key", "any_value(n.app_name)")} ||
      ' read ' || count(DISTINCT mailbox_upn) ||
      ' mailbox(es) it had not read before' ||
      CASE WHEN bool_or(app_new_in_tenant) THEN '; the application is new to the tenant'
           ELSE '' END ||
      CASE WHEN bool_or(token_not_issued)
           THEN '; ' || count(DISTINCT record_id) FILTER (WHERE token_not_issued) ||
                ' access(es) used a token no sign-in issued'
           ELSE '' END AS summary,
    list_sort(list_distinct(list(tenant_id))) AS tenant_ids,
    list_sort(list_distinct(list(mailbox_upn))) AS mailboxes,
    list_sort(list_distinct(list(actor_upn))) AS users,
    list_sort(list_distinct(list(app_key) || list(app_id))) AS app_ids,
    list_sort(list_distinct(list(client_ip))) AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    list_sort(list_distinct(list(record_id))) AS event_ids,
    to_json(struct_pack(
        baseline := struct_pack(
            compared_with := 'applications that read these mailboxes before (at most 20)',
            apps_seen_before := coalesce(any_value(kb.apps), [])[1:20],
            baseline_days := $baseline_days,
            min_history_days := $min_history_days
        ),
        new := struct_pack(
            app := app_key,
            app_name := any_value(n.app_name),
            new_to_tenant := bool_or(app_new_in_tenant),
            mailboxes := count(DISTINCT mailbox_upn),
            accesses_with_unissued_token :=
                count(DISTINCT record_id) FILTER (WHERE token_not_issued)
        )
    )) AS why
FROM evidence LEFT JOIN app_names n ON n.named_app = evidence.app_key
LEFT JOIN known_before kb USING (tenant_id, app_key, bucket)
GROUP BY tenant_id, app_key, bucket
"""

ANALYTIC = Analytic(
    id="mailbox-first-seen-app",
    title="Application reads a mailbox it never read before",
    severity="medium",
    technique="T1114.002",
    techniques=("T1114.002", "T1550.001"),
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "baseline_days",
            int,
            14,
            "Days an access is compared with: an application that read the mailbox in them is "
            "not new.",
            minimum=1,
        ),
        Parameter(
            "min_history_days",
            int,
            7,
            "Days of stored activity a mailbox needs before it is judged.",
            minimum=0,
        ),
    ),
)
