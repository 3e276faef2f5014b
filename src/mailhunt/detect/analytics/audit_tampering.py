"""Mailbox auditing or the unified audit log is turned off, bypassed or shortened.

What it detects: the cmdlets that blind the very logs this tool reads:

- ``Set-Mailbox -AuditEnabled $false`` (a mailbox stops being audited);
- ``Set-MailboxAuditBypassAssociation -AuditBypassEnabled $true`` (an account, typically the
  actor's own or an application's, is no longer audited on any mailbox it opens);
- ``Set-Mailbox -AuditLogAgeLimit`` below ``min_audit_age_days`` (default 90: mailbox audit
  records are deleted sooner);
- ``Set-Mailbox -AuditOwner/-AuditDelegate/-AuditAdmin`` given a list without
  ``MailItemsAccessed`` (mail reads stop being recorded for that logon type);
- ``Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false`` (or
  ``-AdminAuditLogEnabled $false``): the tenant's unified audit log stops;
- ``Set-OrganizationConfig -AuditDisabled $true``: mailbox auditing off for the organisation.

One alert per tenant, audited object (mailbox, account or the organisation) and UTC day.

Why: an actor reading mail wants no MailItemsAccessed record of it. Turning auditing off for a
victim's mailbox, or bypassing it for the actor's own account, are documented defence-evasion
steps (Microsoft's investigations of Midnight Blizzard and of BEC groups; MITRE T1562.008); they
are rare in normal administration, and each is itself audited (the record of the change is the
last one the log holds).

Severity: critical when the tenant's unified audit log ingestion or organisation-wide mailbox
auditing is turned off; high for auditing turned off or bypassed for a mailbox or an account,
or MailItemsAccessed removed from what is audited; medium for a shorter audit log age limit.

Known false positives: administrators bypassing auditing for a service account whose volume
floods the log (backup, archiving or migration tools); short retention set on purpose for
privacy reasons; tenants where an E3 licence change makes an administrator trim the audited
actions. Each is a decision worth a look, and rare.

References:
https://learn.microsoft.com/purview/audit-mailboxes
https://learn.microsoft.com/powershell/module/exchange/set-mailboxauditbypassassociation
https://learn.microsoft.com/powershell/module/exchange/set-adminauditlogconfig
https://learn.microsoft.com/powershell/module/exchange/set-organizationconfig
https://learn.microsoft.com/purview/audit-log-enable-disable
https://attack.mitre.org/techniques/T1562/008/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import distinct_list, falsy, param, succeeded, truthy, why_json

_AGE = param("AuditLogAgeLimit")
# "90.00:00:00" (a TimeSpan: days.hours:minutes:seconds) or "90" -> days
_AGE_DAYS = f"TRY_CAST(regexp_extract({_AGE}, '^\\s*([0-9]+)', 1) AS INTEGER)"
_ACTION_LISTS = [param(name) for name in ("AuditOwner", "AuditDelegate", "AuditAdmin")]
_MIA_REMOVED = " OR ".join(
    f"({value} IS NOT NULL AND NOT contains(lower({value}), 'mailitemsaccessed'))"
    for value in _ACTION_LISTS
)

_FINDINGS = f"""list_filter([
    CASE WHEN operation = 'Set-AdminAuditLogConfig'
              AND ({falsy(param("UnifiedAuditLogIngestionEnabled"))}
                   OR {falsy(param("AdminAuditLogEnabled"))})
         THEN 'unified audit log ingestion turned off' END,
    CASE WHEN operation = 'Set-OrganizationConfig' AND {truthy(param("AuditDisabled"))}
         THEN 'mailbox auditing turned off for the organisation' END,
    CASE WHEN operation = 'Set-MailboxAuditBypassAssociation'
              AND {truthy(param("AuditBypassEnabled"))}
         THEN 'mailbox auditing bypassed for this account' END,
    CASE WHEN operation = 'Set-Mailbox' AND {falsy(param("AuditEnabled"))}
         THEN 'mailbox auditing turned off' END,
    CASE WHEN operation = 'Set-Mailbox' AND ({_MIA_REMOVED})
         THEN 'MailItemsAccessed removed from the audited actions' END,
    CASE WHEN operation = 'Set-Mailbox' AND {_AGE_DAYS} < $min_audit_age_days
         THEN 'audit log age limit lowered to ' || {_AGE_DAYS} || ' days' END
], lambda v: v IS NOT NULL)"""

# The records every detection starts from: with none stored the analytic has nothing to find
# (the runner then does not run it: see Analytic.requires).
_ROOT = (
    "operation IN ('Set-Mailbox', 'Set-MailboxAuditBypassAssociation', "
    f"'Set-AdminAuditLogConfig', 'Set-OrganizationConfig') AND {succeeded()}"
)

SQL = f"""
WITH changes AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, app_id, operation,
           CASE WHEN operation IN ('Set-AdminAuditLogConfig', 'Set-OrganizationConfig')
                THEN 'the organisation'
                ELSE lower(coalesce({param("Identity")}, object_id, '?')) END AS target,
           {_FINDINGS} AS findings
    FROM events
    WHERE {_ROOT}
),
found AS (
    SELECT *,
           CASE WHEN operation IN ('Set-AdminAuditLogConfig', 'Set-OrganizationConfig') THEN 3
                WHEN len(list_filter(findings,
                                     lambda f: NOT starts_with(f, 'audit log age'))) > 0 THEN 2
                ELSE 1 END AS level
    FROM changes WHERE len(findings) > 0
)
SELECT
    CAST(to_json([tenant_id, target]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    ['medium', 'high', 'critical'][max(level)] AS severity,
    'Audit tampering on ' || target || ': ' ||
      array_to_string(list_sort(list_distinct(flatten(list(findings)))), '; ') ||
      ' (' || string_agg(DISTINCT operation, ', ') || ' by ' ||
      coalesce(string_agg(DISTINCT actor_upn, ', '), 'an unknown actor') || ')' AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    CASE WHEN target LIKE '%@%' THEN [target] ELSE [] END AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    {
    why_json(
        baseline="'auditing as Microsoft 365 keeps it by default (on, 90 days or more, "
        "MailItemsAccessed audited)'",
        new="list_sort(list_distinct(flatten(list(findings))))",
    )
} AS why
FROM found
GROUP BY tenant_id, target, date_trunc('day', time)
"""

ANALYTIC = Analytic(
    requires=_ROOT,
    id="audit-tampering",
    title="Mailbox or unified auditing turned off, bypassed or shortened",
    severity="high",
    technique="T1562.008",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events",),
    parameters=(
        Parameter(
            "min_audit_age_days",
            int,
            90,
            "Mailbox audit log age limits below this many days are raised (default 90).",
            minimum=1,
        ),
    ),
)
