"""A whole mail folder is synced by an application or from a network new to the mailbox: the
folder is presumed stolen.

What it detects: MailItemsAccessed records with MailAccessType Sync (``events.access_type``):
the client downloaded a whole folder, and Exchange audits the folder, not the messages. One is
raised when, on that UTC day, it came

- from a network new to both the mailbox and the account syncing it, before any sign-in of
  theirs from that network (the same test as ``new-network-for-mailbox``: ASN for access
  networks, /24 or /48 prefix for hosting, VPN, Tor and proxy networks and when ip_info is
  empty, plus the country; ``baseline_days``, ``min_history_days``, ``clock_skew_minutes``), or
- through an application (ClientAppId, else AppId) that did not read the mailbox in the
  ``baseline_days`` before, unless it is one of Microsoft's common mail clients
  (``sql_pieces.COMMON_FIRST_PARTY_CLIENTS``), syncing the owner's own mailbox with a token a
  stored sign-in of the owner issued: that is a new phone or a new Outlook doing its first
  sync of the folders, the best known Sync false positive, and it is not raised. Nor is an
  application reading with its own permission (app-only) on a token its own service-principal
  sign-in issued: a backup or archiving product syncing every mailbox on its first night
  (seed 2 of the test bed raised 20 critical alerts on one). Such an application is judged by
  app-mailbox-fanout (fan-out new to it) and consent-then-mail-access (its consent); an
  app-only token no sign-in issued is still judged here. Where no sign-in log covers the day,
  the owner's first sync through a common Microsoft client is not raised either (nothing can
  tell a new phone from a forged token there; the coverage finding says the tenant is blind).

Detections are grouped per tenant, mailbox and UTC day; the summary names the folders synced
(``events.message_items`` folder paths: a Sync lists folders without items) so the responder
knows what to treat as disclosed.

Why: a Sync is how a client pulls a whole folder offline, and how an intruder takes a mailbox
with one request per folder: Storm-0558 and later mail thieves synced Inbox, Sent Items and
archives through Outlook's own protocols. MailItemsAccessed Sync records are often the only
trace, and they say nothing about individual messages, so everything in the folder must be
presumed read.

Severity: from a new network, high; critical when the network is a hosting, VPN, Tor or proxy
network, the token was issued by no stored sign-in, the syncing account is not the owner, or
the application is new to the mailbox too. Through a new application only: high when the
application is new to the tenant, the token was issued by no stored sign-in or the account is
not the owner; medium otherwise (a known, non-Microsoft client on the owner's own token). In a
tenant or on a day no sign-in covers, a new network of the owner's own residential or unknown
kind is not raised (as in ``new-network-for-mailbox``).

Known false positives: a user setting up a third-party mail client (medium); a migration or
backup tool newly consented for some mailboxes (new application, not the owner: high; suppress
the application); Outlook reconnecting through a new network with a token from the previous one.

References:
https://learn.microsoft.com/purview/audit-log-investigate-accounts (MailAccessType Sync / Bind)
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://attack.mitre.org/techniques/T1114/002/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    APP_NAMES_CTE,
    COMMON_CLIENTS_SQL,
    NETWORK,
    app_label,
    distinct_list,
    network_label,
)

_SKEW = "to_minutes($clock_skew_minutes)"
# the folder paths of the group's Sync records, sorted, once each
_FOLDERS = "list_sort(list_distinct(list_filter(flatten(list(folders)), lambda v: v IS NOT NULL)))"

SQL = f"""
WITH {NETWORK.ctes()},
{APP_NAMES_CTE},
app_known AS (
    SELECT tenant_id, mailbox_upn, app_key, day,
           lag(day) OVER (PARTITION BY tenant_id, mailbox_upn, app_key ORDER BY day)
             AS previous_day
    FROM (SELECT DISTINCT tenant_id, mailbox_upn, app_key, day FROM access_days
          WHERE app_key IS NOT NULL)
),
app_since AS (
    SELECT tenant_id, app_key, min(day) AS app_since FROM access_days
    WHERE app_key IS NOT NULL GROUP BY ALL
),
new_apps AS (
    SELECT k.tenant_id, k.mailbox_upn, k.app_key, k.day, a.app_since = k.day AS new_to_tenant
    FROM app_known k
    JOIN app_since a ON a.tenant_id = k.tenant_id AND a.app_key = k.app_key
    JOIN since m ON m.tenant_id = k.tenant_id AND m.principal = k.mailbox_upn
    JOIN since t ON t.tenant_id = k.tenant_id AND t.principal = ''
    WHERE (k.previous_day IS NULL OR k.day - k.previous_day > to_days($baseline_days))
      AND (k.day - m.since >= to_days($min_history_days)
           OR (a.app_since = k.day AND k.day - t.since >= to_days($min_history_days)))
),
syncs AS (
    SELECT e.record_id, e.time, e.tenant_id, e.mailbox_upn, e.actor_upn, e.client_ip,
           e.app_id, {APP_KEY} AS app_key, date_trunc('day', e.time) AS bucket,
           list_transform(coalesce(e.message_items, []), lambda m: m.folder_path) AS folders,
           r.new_keys, n.*,
           r.tenant_id IS NOT NULL AS new_net,
           a.tenant_id IS NOT NULL AS new_app, coalesce(a.new_to_tenant, false) AS new_to_tenant,
           coalesce(e.actor_upn, e.mailbox_upn) <> e.mailbox_upn AS not_own,
           c.tenant_id IS NOT NULL AS covered,
           e.token_id IS NOT NULL AND c.tenant_id IS NOT NULL
             AND e.token_id NOT IN (SELECT token_id FROM issued) AS unissued,
           (e.token_id, coalesce(e.actor_upn, e.mailbox_upn))
             IN (SELECT (token_id, user_upn) FROM issued) AS own_token,
           {APP_KEY} IN (SELECT unnest({COMMON_CLIENTS_SQL})) AS common_client,
           -- an application with its own permission, on a token its own (service-principal)
           -- sign-in issued: a backup or archiving product, judged by app-mailbox-fanout and
           -- consent-then-mail-access, not here
           coalesce(e.aad_session_id IS NULL AND NOT contains(coalesce(e.actor_upn, ''), '@')
             AND e.token_id IN (SELECT token_id FROM issued WHERE user_upn IS NULL), false)
             AS app_signed_in
    FROM events e
    JOIN networks n ON n.ip = e.client_ip
    LEFT JOIN new_rows r
      ON r.tenant_id = e.tenant_id AND r.mailbox_upn = e.mailbox_upn
     AND r.actor = coalesce(e.actor_upn, e.mailbox_upn) AND r.ip = e.client_ip
     AND r.day = date_trunc('day', e.time)
     AND (r.signed_in IS NULL OR e.time < r.signed_in - {_SKEW})
    LEFT JOIN new_apps a
      ON a.tenant_id = e.tenant_id AND a.mailbox_upn = e.mailbox_upn
     AND a.app_key = {APP_KEY} AND a.day = date_trunc('day', e.time)
    LEFT JOIN coverage c
      ON c.tenant_id = e.tenant_id
     AND date_trunc('day', e.time) BETWEEN c.covered_from AND c.covered_to
    WHERE e.access_type = 'Sync' AND e.mailbox_upn IS NOT NULL
      AND (r.tenant_id IS NOT NULL OR a.tenant_id IS NOT NULL)
),
evidence AS (
    SELECT s.*, {network_label("s")} AS label,
           CASE WHEN new_net AND (risky OR unissued OR not_own OR new_app) THEN 4
                WHEN new_net THEN 3
                WHEN unissued OR new_to_tenant OR not_own THEN 3
                ELSE 2 END AS rank
    FROM syncs s
    WHERE NOT app_signed_in
      AND ((new_net AND (covered OR risky OR not_own))
           OR (new_app AND NOT (common_client AND NOT not_own AND (own_token OR NOT covered))))
)
SELECT
    CAST(to_json([tenant_id, mailbox_upn]) AS VARCHAR) AS entity,  -- unambiguous: JSON array
    bucket,
    ['medium', 'high', 'critical'][max(rank) - 1] AS severity,
    'Mailbox ' || mailbox_upn || ': folder(s) ' ||
      coalesce(nullif(array_to_string({_FOLDERS}, ', '), ''),
               '(not named by the records)') ||
      ' synced whole (' || count(DISTINCT record_id) || ' Sync record(s)), presumed stolen; ' ||
      concat_ws('; ',
        CASE WHEN bool_or(new_net)
             THEN 'from network ' || min(label) FILTER (WHERE new_net) ||  -- the same on reruns
                  ', new to the mailbox, before any sign-in from it' END,
        CASE WHEN bool_or(new_app)
             THEN 'by application ' ||
                  {
    app_label(
        "min(app_key) FILTER (WHERE new_app)",
        "arg_min(n.app_name, app_key) FILTER (WHERE new_app)",
    )
} ||
                  ', new to the mailbox' ||
                  CASE WHEN bool_or(new_to_tenant) THEN ' and to the tenant' ELSE '' END END,
        CASE WHEN bool_or(unissued) THEN 'with a token no stored sign-in issued' END,
        CASE WHEN bool_or(not_own) THEN 'by someone other than the owner' END
      ) AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_key", "app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'applications that read the mailbox and networks it, its reader and their '
                    || 'sign-ins used in the ' || $baseline_days || ' days before',
        new := list_sort(list_distinct(
                 flatten(list(coalesce(new_keys, []))) ||
                 list('application ' || app_key) FILTER (WHERE new_app))),
        folders := {_FOLDERS},
        network_kind := any_value(network_kind),
        enrichment := bool_or(enriched),
        tokens_no_signin_issued := count(DISTINCT record_id) FILTER (WHERE unissued),
        not_owner := count(DISTINCT record_id) FILTER (WHERE not_own)
    )) AS VARCHAR) AS why
FROM evidence LEFT JOIN app_names n ON n.named_app = evidence.app_key
GROUP BY tenant_id, mailbox_upn, bucket
"""

ANALYTIC = Analytic(
    id="sync-from-new-context",
    title="Whole folder synced by an application or from a network new to the mailbox",
    severity="high",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    shared=(NETWORK,),
    tables=("events", "signins", "ip_info"),
    parameters=(
        Parameter(
            "baseline_days",
            int,
            14,
            "Days an access is compared with: an application or network used in them is not new.",
            minimum=1,
        ),
        Parameter(
            "min_history_days",
            int,
            7,
            "Days of stored activity a mailbox needs before it is judged.",
            minimum=0,
        ),
        Parameter(
            "clock_skew_minutes",
            int,
            10,
            "Minutes allowed between the audit log's and the sign-in log's clocks.",
            minimum=0,
        ),
    ),
)
