"""An application is consented mail scopes, then reads mail.

What it detects: Entra ID directory audits granting an application access to mail —
``Consent to application.``, ``Add delegated permission grant.`` and ``Add app role assignment
to service principal.`` whose permissions (ConsentAction.Permissions,
DelegatedPermissionGrant.Scope, AppRole.Value) include ``Mail.Read``, ``Mail.ReadWrite``,
``Mail.ReadBasic``, ``MailboxSettings.*``, ``full_access_as_app``, ``full_access_as_user``,
``EWS.AccessAsUser.All``, ``IMAP.AccessAsUser.All``/``IMAP.AccessAsApp`` or
``POP.AccessAsUser.All``/``POP.AccessAsApp`` — followed within ``followup_days`` by that
application (ClientAppId, else AppId) reading mail (MailItemsAccessed). The application is named
by the consent's TargetId.ServicePrincipalNames or ServicePrincipal.AppId; a delegated grant
naming only the service principal's object id is tied to the application another record of the
tenant gives that object id. The alert names the follow-up access. One alert per tenant,
application and UTC day of the consent.

Why: illicit consent grants give an actor's multi-tenant application a refresh token for the
victim's mail: the application then signs in (non-interactively) and reads mail with tokens
Entra really issued, from the actor's servers, and a password reset does not stop it. Only the
consent ties those reads to an intrusion. Midnight Blizzard used the application-permission
variant (full_access_as_app granted by a compromised administrator).

Not raised: consent given by an administrator for the whole tenant (ConsentContext.IsAdminConsent
or OnBehalfOfAll true, ConsentType AllPrincipals, or any application permission, which only
administrators grant) from networks that administrator already used: that is how line-of-business
applications are approved; and re-consent to an application that already read mail in the
tenant before. The cost: a compromised administrator granting from his usual network is not
raised here.

Severity: high for a user's own consent followed by the application reading mail, critical when
the consent came from a network new to that user or after a risky sign-in (a new network or a
password-spray source in the day before); low for a user's consent with no reads seen (yet);
for administrator consent from a new network or after a risky sign-in: high when followed by
reads, medium otherwise.

Known false positives: users consenting to a legitimate mail add-in or scheduling tool that then
syncs their mail (raise it with the application's publisher in mind); administrators approving
an application while travelling.

References:
https://learn.microsoft.com/defender-office-365/detect-and-remediate-illicit-consent-grants
https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities
https://learn.microsoft.com/entra/architecture/security-operations-applications
https://www.microsoft.com/security/blog/2024/01/25/midnight-blizzard-guidance-for-responders-on-nation-state-attack/
https://attack.mitre.org/techniques/T1528/
https://attack.mitre.org/techniques/T1098/003/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    APP_NAMES_CTE,
    app_label,
    context_risk_ctes,
    distinct_list,
    param,
    succeeded,
    truthy,
    why_json,
)

MAIL_SCOPES = (
    r"mail\.read(write)?(basic)?(\.all|\.shared)*|mailboxsettings\.[a-z]+|full_access_as_app"
    r"|full_access_as_user|ews\.accessasuser\.all|imap\.accessas(user\.all|app)"
    r"|pop\.accessas(user\.all|app)"
)
_GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_OPERATIONS = (
    "'Consent to application.', 'Add delegated permission grant.', "
    "'Add app role assignment to service principal.'"
)
_TEXT = "lower(array_to_string(list_transform(parameters, lambda p: coalesce(p.value, '')), ' '))"
_APP_ID = (
    f"nullif(lower(regexp_extract(coalesce({param('TargetId.ServicePrincipalNames')}, "
    f"{param('ServicePrincipal.AppId')}, ''), '{_GUID}')), '')"
)
_SP_ID = (
    f"nullif(lower(regexp_extract(coalesce({param('ServicePrincipal.ObjectID')}, ''), "
    f"'{_GUID}')), '')"
)
_ADMIN = (
    f"({truthy(param('ConsentContext.IsAdminConsent'))} "
    f"OR {truthy(param('ConsentContext.OnBehalfOfAll'))} "
    f"OR contains(lower(coalesce({param('DelegatedPermissionGrant.ConsentType')}, '')), "
    "'allprincipals') OR contains(lower(coalesce("
    f"{param('ConsentAction.Permissions')}, '')), 'consenttype: allprincipals') "
    "OR operation = 'Add app role assignment to service principal.')"
)
_WINDOW = "to_days($followup_days)"

_WHY = why_json(
    baseline="'the application''s earlier mail access in the tenant, and the networks the "
    "consenting account used before'",
    new="list_filter(['consent to ' || array_to_string(" + "list_sort(list_distinct(flatten("
    "list(scopes)))), ' '), CASE WHEN bool_or(NOT admin) THEN 'user consent' END, "
    "CASE WHEN bool_or(risky) THEN 'consent from a new network or after a risky sign-in' END, "
    "CASE WHEN sum(access_count) > 0 THEN 'followed by mail access' END], "
    "lambda v: v IS NOT NULL)",
    followup_access="list_sort(list_distinct(flatten(list(access_ids))))",
)

# The records every detection starts from: with none stored the analytic has nothing to find
# (the runner then does not run it: see Analytic.requires).
_ROOT = f"operation IN ({_OPERATIONS}) AND {succeeded()}"

SQL = f"""
WITH raw_consents AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, operation, object_id,
           {_APP_ID} AS named_app, {_SP_ID} AS sp_id,
           list_distinct(regexp_extract_all({_TEXT}, '{MAIL_SCOPES}')) AS scopes,
           {_ADMIN} AS admin
    FROM events
    WHERE {_ROOT}
),
sp_apps AS (  -- service principal object id -> application id, as the tenant's records say
    SELECT tenant_id, sp, min(named_app) AS app FROM (
        SELECT tenant_id, lower(object_id) AS sp, named_app FROM raw_consents
        WHERE operation = 'Consent to application.' AND named_app IS NOT NULL
        UNION ALL
        SELECT tenant_id, sp_id, named_app FROM raw_consents
        WHERE sp_id IS NOT NULL AND named_app IS NOT NULL)
    GROUP BY tenant_id, sp
),
consents AS (
    SELECT c.*, coalesce(c.named_app, s.app) AS app
    FROM raw_consents c LEFT JOIN sp_apps s ON s.tenant_id = c.tenant_id AND s.sp = c.sp_id
    WHERE len(c.scopes) > 0
),
access AS (
    SELECT e.record_id, e.time, e.tenant_id, e.mailbox_upn, e.actor_upn, e.client_ip,
           e.app_id, {APP_KEY} AS app_key
    FROM events e SEMI JOIN consents c
      ON c.tenant_id = e.tenant_id AND c.app = coalesce(e.client_app_id, e.app_id)
    WHERE e.operation = 'MailItemsAccessed'
),
app_first_read AS (SELECT tenant_id, app_key, min(time) AS since FROM access GROUP BY ALL),
candidates AS (
    SELECT c.*, c.actor_upn AS who, c.client_ip AS ip
    FROM consents c LEFT JOIN app_first_read f
      ON f.tenant_id = c.tenant_id AND f.app_key = c.app
    WHERE c.app IS NOT NULL AND (f.since IS NULL OR f.since > c.time)
),
{context_risk_ctes("candidates")},
judged AS (
    SELECT c.record_id, c.time, c.tenant_id, c.actor_upn, c.client_ip, c.operation, c.app,
           c.scopes, c.admin, r.new_network OR r.risky_signin AS risky,
           count(a.record_id) AS access_count,
           list(a.record_id) FILTER (WHERE a.record_id IS NOT NULL) AS access_ids,
           list(a.mailbox_upn) FILTER (WHERE a.mailbox_upn IS NOT NULL) AS access_mailboxes,
           list(a.actor_upn) FILTER (WHERE a.actor_upn IS NOT NULL) AS access_users,
           list(a.client_ip) FILTER (WHERE a.client_ip IS NOT NULL) AS access_ips,
           list(a.app_id) FILTER (WHERE a.app_id IS NOT NULL) AS access_apps,
           min(a.time) AS first_access, max(a.time) AS last_access
    FROM candidates c JOIN risk r USING (record_id)
    LEFT JOIN access a ON a.tenant_id = c.tenant_id AND a.app_key = c.app
     AND a.time > c.time AND a.time <= c.time + {_WINDOW}
    GROUP BY ALL
),
raised AS (
    SELECT *,
           CASE WHEN NOT admin AND access_count > 0 AND risky THEN 4
                WHEN access_count > 0 THEN 3
                WHEN NOT admin AND NOT risky THEN 1
                ELSE 2 END AS level
    FROM judged WHERE NOT admin OR risky
),
{APP_NAMES_CTE}
SELECT
    CAST(to_json([tenant_id, app]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    ['low', 'medium', 'high', 'critical'][max(level)] AS severity,
    CASE WHEN bool_or(NOT admin) THEN 'User ' ELSE 'Administrator ' END ||
      array_to_string({distinct_list("actor_upn")}, ', ') ||
      ' consented application ' || {app_label("app", "any_value(n.app_name)")} || ' ' ||
      array_to_string(list_sort(list_distinct(flatten(list(scopes)))), ' ') ||
      CASE WHEN bool_or(admin) THEN ' for the tenant' ELSE '' END ||
      CASE WHEN bool_or(risky)
           THEN ' from a network new to the consenting account or after a risky sign-in'
           ELSE '' END ||
      CASE WHEN sum(access_count) > 0
           THEN '; the application then read ' ||
                len(list_distinct(flatten(list(access_mailboxes)))) || ' mailbox(es) in ' ||
                len(list_distinct(flatten(list(access_ids)))) || ' access(es), the first at ' ||
                strftime(min(first_access), '%Y-%m-%d %H:%M UTC')
           ELSE '; no mail read by the application seen yet' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    list_sort(list_distinct(flatten(list(access_mailboxes)))) AS mailboxes,
    list_sort(list_distinct(list(actor_upn) || flatten(list(access_users)))) AS users,
    list_sort(list_distinct(list(app) || flatten(list(access_apps)))) AS app_ids,
    list_sort(list_distinct(list_filter(list(client_ip) || flatten(list(access_ips)),
                                        lambda v: v IS NOT NULL))) AS client_ips,
    least(min(time), min(first_access)) AS first_seen,
    greatest(max(time), max(last_access)) AS last_seen,
    list_sort(list_distinct(list(record_id) || flatten(list(access_ids)))) AS event_ids,
    {_WHY} AS why
FROM raised LEFT JOIN app_names n ON n.named_app = raised.app
GROUP BY tenant_id, app, date_trunc('day', time)
"""

ANALYTIC = Analytic(
    requires=_ROOT,
    id="consent-then-mail-access",
    title="Application consented mail scopes, then reads mail",
    severity="high",
    technique="T1528",
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
