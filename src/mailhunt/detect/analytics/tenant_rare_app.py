"""An application few mailboxes of the tenant use reads a mailbox it had not read.

What it detects: MailItemsAccessed by an application (ClientAppId, else AppId) that, counted
over the ``rarity_days`` (default 30) ending with the day of the access, read at most
``rare_max_mailboxes`` (default 5) mailboxes of the tenant and at most ``rare_max_share``
(default 0.25) of the tenant's mailboxes read by anything in those days. It is raised on the
UTC days the application reads a mailbox it had not read in the ``rarity_days`` before, one
alert per tenant, application and day listing those mailboxes; an established niche application
reading the same mailbox day after day is raised once, when it starts, and again only when it
spreads. The common Microsoft first-party mail clients (Outlook desktop, Outlook on the web,
Outlook Mobile, the new Outlook, Teams, Office: ``detect/sql_pieces.py``) are never rare: one
user on Outlook Mobile is not an intrusion.

Why: Storm-0558 read mail through a client application id the victims' tenants had never used,
and read a handful of chosen mailboxes (executives, diplomats), not the whole tenant. A
customer's alert on mail read by an unexpected application exposed it. ``mailbox-first-seen-app``
asks whether the application is new to the mailbox; this analytic asks whether the tenant as a
whole knows the application, whatever the mailbox's history: it still sees an application that
reads a new employee's mailbox, or a mailbox it had read once weeks ago, as long as it stays
confined to a few mailboxes. Small tenants need the share: in a tenant of four mailboxes an
application used by one of them is not rare (a tenant of three or fewer mailboxes is never
judged with the default share).

Severity: medium. Rarity alone is not proof: the tokens and networks behind the access decide
(``token-without-signin``, ``mailbox-first-seen-app`` raise the forged-token case high).

Not judged: a person reading their own mailbox (actor = owner) with a token a stored sign-in
issued: an administrator's Graph Command Line Tools or a scripting tool on their own mail is a
person's choice of client, not another party in the mailbox. A forged token (no sign-in issued
it) on the owner's mailbox is still judged, and without sign-in logs every access is.

Known false positives: a line-of-business or third-party application a few people use (a CRM
add-in, a mail merge tool, an e-signature app), raised when it starts and each time it reaches
another mailbox; administrators' tools reading their own mailboxes (Microsoft Graph Command Line
Tools, Graph Explorer, PowerShell: first-party but not mail clients, so not exempt); a new
application's pilot with a few users; in the first days of a tenant's data every non-exempt
application is new, so each is judged on its reach so far. Access without any application id
(classic MAPI, ``Client=MSExchangeRPC``) is not judged.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/troubleshoot/azure/entra/entra-id/governance/verify-first-party-apps-sign-in
https://attack.mitre.org/techniques/T1114/002/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    APP_NAMES_CTE,
    COMMON_CLIENTS_SQL,
    app_label,
    distinct_list,
)

_WINDOW = "to_days($rarity_days)"

SQL = f"""
WITH issued_tokens AS (  -- tokens a stored, successful sign-in issued
    SELECT DISTINCT unique_token_id AS token_id FROM signins
    WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0
),
access AS (
    SELECT record_id, time, tenant_id, mailbox_upn, actor_upn, client_ip, app_id,
           {APP_KEY} AS app_key, date_trunc('day', time) AS day
    FROM events
    WHERE operation = 'MailItemsAccessed'
      AND mailbox_upn IS NOT NULL
      AND {APP_KEY} IS NOT NULL
      -- a person's own tool on their own mailbox, with a token their sign-in issued
      AND NOT (actor_upn IS NOT DISTINCT FROM mailbox_upn
               AND token_id IN (SELECT token_id FROM issued_tokens))
),
pair_days AS (  -- one row per tenant, application, mailbox and day of access
    SELECT tenant_id, app_key, mailbox_upn, day FROM access GROUP BY ALL
),
mailbox_days AS (  -- the tenant's mailboxes read by anything, per day
    SELECT DISTINCT tenant_id, mailbox_upn, day FROM pair_days
),
reached AS (  -- an application reading a mailbox it had not read in the window before
    SELECT tenant_id, app_key, mailbox_upn, day FROM (
        SELECT *, lag(day) OVER (PARTITION BY tenant_id, app_key, mailbox_upn ORDER BY day)
                  AS previous
        FROM pair_days
        WHERE NOT list_contains({COMMON_CLIENTS_SQL}, app_key)
    )
    WHERE previous IS NULL OR day - previous > {_WINDOW}
),
candidates AS (SELECT DISTINCT tenant_id, app_key, day FROM reached),
app_reach AS (
    SELECT c.tenant_id, c.app_key, c.day, count(DISTINCT p.mailbox_upn) AS app_mailboxes
    FROM candidates c JOIN pair_days p
      ON p.tenant_id = c.tenant_id AND p.app_key = c.app_key
     AND p.day BETWEEN c.day - {_WINDOW} AND c.day
    GROUP BY ALL
),
population AS (
    SELECT c.tenant_id, c.day, count(DISTINCT m.mailbox_upn) AS tenant_mailboxes
    FROM (SELECT DISTINCT tenant_id, day FROM candidates) c JOIN mailbox_days m
      ON m.tenant_id = c.tenant_id AND m.day BETWEEN c.day - {_WINDOW} AND c.day
    GROUP BY ALL
),
rare AS (
    SELECT r.*, p.tenant_mailboxes FROM app_reach r JOIN population p USING (tenant_id, day)
    WHERE r.app_mailboxes <= $rare_max_mailboxes
      AND r.app_mailboxes <= $rare_max_share * p.tenant_mailboxes
),
evidence AS (
    SELECT a.*, r.app_mailboxes, r.tenant_mailboxes
    FROM rare r
    JOIN reached n USING (tenant_id, app_key, day)
    JOIN access a USING (tenant_id, app_key, mailbox_upn, day)
),
{APP_NAMES_CTE}
SELECT
    CAST(to_json([tenant_id, app_key]) AS VARCHAR) AS entity,  -- unambiguous: a JSON array
    day AS bucket,
    'medium' AS severity,
    'Application ' || {app_label("app_key", "any_value(n.app_name)")} ||
      ' read ' || count(DISTINCT mailbox_upn) || ' mailbox(es) new to it; it read ' ||
      any_value(app_mailboxes) || ' of the ' || any_value(tenant_mailboxes) ||
      ' mailboxes read in the tenant in the last ' || $rarity_days || ' days' AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_key", "app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := struct_pack(days := $rarity_days,
                                app_mailboxes := any_value(app_mailboxes),
                                tenant_mailboxes := any_value(tenant_mailboxes)),
        new := struct_pack(app := app_key, mailboxes := {distinct_list("mailbox_upn")})
    )) AS VARCHAR) AS why
FROM evidence LEFT JOIN app_names n ON n.named_app = evidence.app_key
GROUP BY tenant_id, app_key, day
"""

ANALYTIC = Analytic(
    id="tenant-rare-app",
    title="Application few mailboxes of the tenant use reads mail",
    severity="medium",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "rarity_days",
            int,
            30,
            "Days over which an application's mailboxes are counted (and a mailbox is new to it).",
            minimum=1,
        ),
        Parameter(
            "rare_max_mailboxes",
            int,
            5,
            "Most mailboxes an application may have read and still be rare.",
            minimum=1,
        ),
        Parameter(
            "rare_max_share",
            float,
            0.25,
            "Largest share of the tenant's mailboxes an application may have read and be rare.",
            minimum=0,
        ),
    ),
)
