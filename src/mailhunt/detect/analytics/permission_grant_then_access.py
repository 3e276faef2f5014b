"""Mailbox access is granted, and the grantee reads that mailbox; or a non-delegate reads a
mailbox with an administrator's logon.

What it detects, two ways:

1. A permission grant followed by its use: ``Add-MailboxPermission`` (FullAccess...),
   ``Add-MailboxFolderPermission`` / ``Set-MailboxFolderPermission`` (a folder, e.g.
   ``bob:\\Inbox``), ``Add-RecipientPermission`` (SendAs), ``New-ManagementRoleAssignment``
   of ``ApplicationImpersonation`` or ``Mailbox Import Export`` (every mailbox), and
   ``New-/Set-/Remove-ApplicationAccessPolicy`` (what an application may read), followed within
   ``followup_days`` by the grantee (a user, or the application) accessing that mailbox (any
   mailbox other than its own for tenant-wide grants). The alert names the grant and the
   follow-up access. Raised when the grant is one the reader gave himself (the granting account
   is the grantee), or was made from a network first seen for the granting account less than a
   day before (with ``min_history_days`` of history) or after its sign-in from such a network
   or a password-spray source, or is an application access policy change followed by that
   application reading mail.
2. A mailbox read with the ``Admin`` logon type by a user who is not its owner, was granted
   nothing in the stored records and had never accessed it before (not a delegate by history),
   in a tenant with ``min_history_days`` of records before.

One alert per tenant, grantee and mailbox (``*`` for tenant-wide grants), UTC day.

Why: an administrator, or an actor holding an administrator's account, can read any mailbox by
granting himself FullAccess and opening it in Outlook: the reads then look like a delegate's,
through the ordinary client, and no application or token is new. The grant is the only
unusual record, and only its pairing with the reads makes it an intrusion rather than
administration.

Helpdesk grants (an administrator gives an assistant FullAccess on a manager's mailbox for a
ticket, and the assistant reads it) are deliberately not raised: the granting administrator is
not the reader and acted from networks he already used. The cost: an actor holding two
accounts (one administrator, one grantee) who grants from the administrator's usual network is
not raised here (the grantee's own sign-ins and networks are the other analytics' to judge).

Severity: high when a self-grant is followed by the grantee's access, critical when it was
also made from a new network or after a risky sign-in; medium for a self-grant not (yet)
followed by access, for a grant from a new network or after a risky sign-in followed by access,
for an application access policy change followed by the application's reads, and for the
administrator logon of a non-delegate.

Known false positives: administrators who grant themselves access to investigate or to migrate a
mailbox (a documented change should exist); a new assistant's first Admin-logon read of a
manager's mailbox when the grant predates the stored records.

References:
https://learn.microsoft.com/powershell/module/exchange/add-mailboxpermission
https://learn.microsoft.com/powershell/module/exchange/add-mailboxfolderpermission
https://learn.microsoft.com/powershell/module/exchange/add-recipientpermission
https://learn.microsoft.com/graph/auth-limit-mailbox-access
https://learn.microsoft.com/purview/audit-mailboxes#mailbox-actions-for-user-mailboxes-and-shared-mailboxes
https://attack.mitre.org/techniques/T1098/002/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    MAILBOX_DIRECTORY_CTE,
    TENANT_UPNS_CTE,
    context_risk_ctes,
    distinct_list,
    identity_alias,
    param,
    succeeded,
    why_json,
)

_MAILBOX_GRANTS = (
    "'Add-MailboxPermission', 'Add-MailboxFolderPermission', 'Set-MailboxFolderPermission', "
    "'Add-RecipientPermission'"
)
_APP_POLICY = (
    "'New-ApplicationAccessPolicy', 'Set-ApplicationAccessPolicy', 'Remove-ApplicationAccessPolicy'"
)
_TENANT_ROLES = "['applicationimpersonation', 'mailbox import export']"
_WINDOW = "to_days($followup_days)"
# the mailbox part of an identity: "bob:\\Inbox" -> "bob"
_MAILBOX_IDENTITY = f"split_part(coalesce({param('Identity')}, object_id), ':\\', 1)"
_GRANTEE = f"coalesce({param('User')}, {param('Trustee')})"


def _resolve(identity: str, directory: str) -> str:
    return (
        f"coalesce(CASE WHEN contains({identity}, '@') THEN lower({identity}) END, {directory}.upn)"
    )


_WHY = why_json(
    baseline="CASE WHEN bool_or(kind = 'admin-logon') "
    "THEN 'grants and earlier accesses of this reader to this mailbox in the stored records' "
    "ELSE 'who granted the access, and the networks the granting account used before' END",
    new="list_filter([CASE WHEN bool_or(self_grant) THEN 'self-grant' END, "
    "CASE WHEN bool_or(risky) THEN 'grant from a new network or after a risky sign-in' END, "
    "CASE WHEN bool_or(kind = 'app') THEN 'application access policy change' END, "
    "CASE WHEN bool_or(kind = 'admin-logon') THEN 'admin logon by a non-delegate' END, "
    "CASE WHEN sum(access_count) > 0 AND NOT bool_or(kind = 'admin-logon') "
    "THEN 'followed by access' END], lambda v: v IS NOT NULL)",
    grants="list_sort(list_distinct(list(grant_id) FILTER (WHERE kind <> 'admin-logon')))",
    followup_access="list_sort(list_distinct(flatten(list(access_ids))))",
    rights="list_sort(list_distinct(list(rights) FILTER (WHERE rights IS NOT NULL)))",
)

SQL = f"""
WITH {TENANT_UPNS_CTE},
{MAILBOX_DIRECTORY_CTE},
raw_grants AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, app_id, operation,
           CASE WHEN operation IN ({_APP_POLICY}) THEN 'app'
                WHEN operation = 'New-ManagementRoleAssignment' THEN 'tenant'
                ELSE 'mailbox' END AS kind,
           {_MAILBOX_IDENTITY} AS mailbox_identity,
           {_GRANTEE} AS grantee_identity,
           lower({param("AppId")}) AS grantee_app,
           coalesce({param("AccessRights")}, {param("AccessRight")}, {param("Role")}) AS rights
    FROM events
    WHERE (operation IN ({_MAILBOX_GRANTS}, {_APP_POLICY})
           OR (operation = 'New-ManagementRoleAssignment'
               AND list_contains({_TENANT_ROLES}, lower({param("Role")}))))
      AND {succeeded()}
),
grants AS (
    SELECT g.*,
           CASE WHEN g.kind = 'mailbox' THEN {_resolve("g.mailbox_identity", "mb")} ELSE '*' END
             AS mailbox,
           CASE WHEN g.kind = 'app' THEN g.grantee_app
                ELSE {_resolve("g.grantee_identity", "gr")} END AS grantee,
           g.kind <> 'app' AND {_resolve("g.grantee_identity", "gr")} = g.actor_upn
             AS self_grant
    FROM raw_grants g
    LEFT JOIN mailbox_directory mb
      ON mb.tenant_id = g.tenant_id AND mb.alias = {identity_alias("g.mailbox_identity")}
    LEFT JOIN mailbox_directory gr
      ON gr.tenant_id = g.tenant_id AND gr.alias = {identity_alias("g.grantee_identity")}
),
candidates AS (SELECT *, actor_upn AS who, client_ip AS ip FROM grants WHERE grantee IS NOT NULL),
{context_risk_ctes("candidates")},
access AS (
    SELECT record_id, time, tenant_id, actor_upn, mailbox_upn, client_ip, app_id, logon_type,
           operation, {APP_KEY} AS app_key
    FROM events
    WHERE mailbox_upn IS NOT NULL AND operation = 'MailItemsAccessed'
),
followups AS (
    SELECT c.record_id AS grant_id, a.record_id, a.time, a.client_ip, a.actor_upn,
           a.mailbox_upn, a.app_id, a.app_key
    FROM candidates c JOIN access a ON a.tenant_id = c.tenant_id AND a.actor_upn = c.grantee
    WHERE c.kind <> 'app' AND a.time > c.time AND a.time <= c.time + {_WINDOW}
      AND (a.mailbox_upn = c.mailbox OR (c.mailbox = '*' AND a.mailbox_upn <> c.grantee))
    UNION ALL
    SELECT c.record_id, a.record_id, a.time, a.client_ip, a.actor_upn, a.mailbox_upn,
           a.app_id, a.app_key
    FROM candidates c JOIN access a ON a.tenant_id = c.tenant_id AND a.app_key = c.grantee
    WHERE c.kind = 'app' AND a.time > c.time AND a.time <= c.time + {_WINDOW}
),
granted AS (
    SELECT c.record_id AS grant_id, c.time, c.tenant_id, c.kind, c.mailbox, c.grantee,
           c.self_grant, c.rights, c.operation, c.actor_upn, c.client_ip, c.app_id,
           r.new_network OR r.risky_signin AS risky,
           count(f.record_id) AS access_count,
           list(f.record_id) FILTER (WHERE f.record_id IS NOT NULL) AS access_ids,
           list(f.client_ip) FILTER (WHERE f.client_ip IS NOT NULL) AS access_ips,
           list(f.mailbox_upn) FILTER (WHERE f.mailbox_upn IS NOT NULL) AS access_mailboxes,
           list(f.actor_upn) FILTER (WHERE f.actor_upn IS NOT NULL) AS access_users,
           list(f.app_key) FILTER (WHERE f.app_key IS NOT NULL) AS access_apps,
           min(f.time) AS first_access, max(f.time) AS last_access
    FROM candidates c JOIN risk r USING (record_id)
    LEFT JOIN followups f ON f.grant_id = c.record_id
    GROUP BY ALL
),
raised_grants AS (
    SELECT *,
           CASE WHEN self_grant AND access_count > 0 AND risky THEN 4
                WHEN self_grant AND access_count > 0 THEN 3
                ELSE 2 END AS level
    FROM granted
    WHERE self_grant OR (risky AND access_count > 0) OR (kind = 'app' AND access_count > 0)
),
tenant_start AS (SELECT tenant_id, min(time) AS since FROM events GROUP BY tenant_id),
others AS (  -- non-owners' access, first day each reader met each mailbox
    SELECT *, min(time) OVER (PARTITION BY tenant_id, actor_upn, mailbox_upn) AS pair_since
    FROM access
    WHERE contains(coalesce(actor_upn, ''), '@') AND actor_upn <> mailbox_upn
),
admin_logons AS (
    SELECT o.* FROM others o JOIN tenant_start t USING (tenant_id)
    ANTI JOIN grants g ON g.tenant_id = o.tenant_id AND g.grantee = o.actor_upn
     AND (g.mailbox = o.mailbox_upn OR g.mailbox = '*')
    WHERE o.logon_type = 'Admin'
      AND date_trunc('day', o.time) = date_trunc('day', o.pair_since)
      AND o.pair_since - t.since >= to_days($min_history_days)
),
raised_logons AS (
    SELECT min(record_id) AS grant_id, min(time) AS time, tenant_id, 'admin-logon' AS kind,
           mailbox_upn AS mailbox, actor_upn AS grantee, false AS self_grant,
           NULL::VARCHAR AS rights, 'MailItemsAccessed' AS operation, actor_upn,
           NULL::VARCHAR AS client_ip, NULL::VARCHAR AS app_id, false AS risky,
           count(*) AS access_count, list(record_id) AS access_ids,
           list(client_ip) FILTER (WHERE client_ip IS NOT NULL) AS access_ips,
           [mailbox_upn] AS access_mailboxes, [actor_upn] AS access_users,
           list(app_key) FILTER (WHERE app_key IS NOT NULL) AS access_apps,
           min(time) AS first_access, max(time) AS last_access, 2 AS level
    FROM admin_logons GROUP BY tenant_id, actor_upn, mailbox_upn, date_trunc('day', time)
),
raised AS (
    SELECT * FROM raised_grants
    UNION ALL BY NAME
    SELECT * FROM raised_logons
)
SELECT
    CAST(to_json([tenant_id, grantee, mailbox]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    ['low', 'medium', 'high', 'critical'][max(level)] AS severity,
    CASE WHEN bool_or(kind = 'admin-logon')
         THEN actor_upn_list[1] || ' read mailbox ' || mailbox ||
              ' with the Admin logon type, without any grant in the records and never having '
              || 'accessed it before (' || sum(access_count) || ' access(es))'
         ELSE string_agg(DISTINCT operation, ', ') || ' by ' ||
              array_to_string(actor_upn_list, ', ') || ' granted ' ||
              coalesce(max(rights) || ' on ', 'access to ') ||
              CASE WHEN mailbox = '*' THEN 'every mailbox' ELSE 'mailbox ' || mailbox END ||
              ' to ' || CASE WHEN bool_or(kind = 'app') THEN 'application ' ELSE '' END ||
              grantee ||
              CASE WHEN bool_or(self_grant) THEN ' (a self-grant)' ELSE '' END ||
              CASE WHEN bool_or(risky)
                   THEN '; granted from a network new to the granting account or after a '
                        || 'risky sign-in' ELSE '' END ||
              CASE WHEN sum(access_count) > 0
                   THEN '; then read by the grantee in ' || sum(access_count) ||
                        ' access(es) from ' || strftime(min(first_access), '%Y-%m-%d %H:%M UTC')
                        || ' (mailboxes: ' || array_to_string(list_sort(list_distinct(
                           flatten(list(access_mailboxes)))), ', ') || ')'
                   ELSE '; no access by the grantee seen yet' END
    END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    list_sort(list_distinct(coalesce(list(mailbox) FILTER (WHERE mailbox <> '*'), [])
                            || flatten(list(access_mailboxes)))) AS mailboxes,
    list_sort(list_distinct(list(actor_upn) || flatten(list(access_users)))) AS users,
    list_sort(list_distinct(list_filter(list(app_id) || flatten(list(access_apps))
                                        || coalesce(list(grantee) FILTER (WHERE kind = 'app'),
                                                    []),
                                        lambda v: v IS NOT NULL))) AS app_ids,
    list_sort(list_distinct(list_filter(list(client_ip) || flatten(list(access_ips)),
                                        lambda v: v IS NOT NULL))) AS client_ips,
    least(min(time), min(first_access)) AS first_seen,
    greatest(max(time), max(last_access)) AS last_seen,
    list_sort(list_distinct(coalesce(list(grant_id) FILTER (WHERE kind <> 'admin-logon'), [])
                            || flatten(list(access_ids)))) AS event_ids,
    {_WHY} AS why
FROM (SELECT *, list_sort(list_distinct(list(actor_upn) OVER (
          PARTITION BY tenant_id, grantee, mailbox, date_trunc('day', time)))) AS actor_upn_list
      FROM raised)
GROUP BY tenant_id, grantee, mailbox, date_trunc('day', time), actor_upn_list
"""

ANALYTIC = Analytic(
    id="permission-grant-then-access",
    title="Mailbox access granted and used, or read with an Admin logon by a non-delegate",
    severity="medium",
    technique="T1098.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "followup_days",
            int,
            7,
            "Days after a grant, consent or change in which the access it enabled is looked "
            "for (and, before it, the history it is compared with).",
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
            "spray_min_users",
            int,
            5,
            "Users whose sign-ins one address must fail within an hour to be a password spray.",
            minimum=2,
        ),
    ),
)
