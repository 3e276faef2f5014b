"""An inbox rule that forwards mail out of the tenant or hides it from the mailbox owner.

What it detects: inbox rules created or changed (``New-InboxRule``, ``Set-InboxRule``, and
Outlook's ``UpdateInboxRules``) that forward or redirect mail to an address outside the tenant's
own domains (``ForwardTo``, ``ForwardAsAttachmentTo``, ``RedirectTo``), or move it to a folder
its owner never looks at (RSS Feeds, RSS Subscriptions, Conversation History, Archive, Junk
Email, Deleted Items, a name of one or two characters, or of punctuation only such as ``.``),
or delete or mark read mail matching finance words (invoice, payment, wire, transfer, bank,
IBAN, SWIFT, ACH, payroll, W-2, remittance, purchase order). The tenant's domains are those of
the user principal names and mailboxes its records name. One alert per tenant, mailbox, rule
name and UTC day.

Why: business e-mail compromise and espionage both need the victim not to notice. Once in a
mailbox (often after a password spray), the actor creates a rule that forwards the
conversations it wants and hides the replies it provokes (an invoice thread moved to "RSS
Feeds" and marked read). Microsoft's incident response lists malicious inbox rules as the most
common persistence in compromised Exchange Online mailboxes.

Severity: medium for one sign (an external forward, or an obscure folder, or hidden finance
mail); high when an external forward is combined with hiding (delete, mark read, obscure folder)
or finance words, or an obscure folder with finance words; one step higher (high, critical) when
the rule was created from a network (IP address) first seen for its creator less than a day
before (with ``min_history_days`` of history), or in the day after a sign-in of the creator from
such a network or from an address that failed sign-ins of ``spray_min_users`` users within an
hour (a password spray).

Known false positives: users forwarding to a personal address (a policy matter, still worth a
look); users who file newsletters under "Archive"; a partner domain the tenant mails every day
but whose people never appear in its records (it is external here). Forwarding to colleagues,
moving newsletters to a folder of their own, and deleting mail of a given sender without finance
words are not raised. ``UpdateInboxRules`` (Outlook desktop) records carry the rule in
OperationProperties, which only some exports keep; it is judged on what the record holds.

References:
https://learn.microsoft.com/defender-office-365/detect-and-remediate-outlook-rules-forms-attack
https://learn.microsoft.com/powershell/module/exchange/new-inboxrule
https://learn.microsoft.com/security/operations/incident-response-playbook-compromised-malicious-app
https://www.microsoft.com/security/blog/2023/06/08/detecting-and-mitigating-a-multi-stage-aitm-phishing-and-bec-campaign/
https://attack.mitre.org/techniques/T1564/008/
https://attack.mitre.org/techniques/T1114/003/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    MAILBOX_DIRECTORY_CTE,
    TENANT_DOMAIN_LISTS_CTE,
    TENANT_DOMAINS_CTE,
    TENANT_UPNS_CTE,
    addresses,
    context_risk_ctes,
    distinct_list,
    external_addresses,
    flat_distinct,
    identity_alias,
    param,
    resolved_upn,
    succeeded,
    truthy,
    why_json,
)

# Folders a rule hides mail in (lower case, the last part of the folder path).
OBSCURE_FOLDERS = (
    "rss feeds",
    "rss subscriptions",
    "conversation history",
    "archive",
    "junk email",
    "deleted items",
)
FINANCE_WORDS = (
    r"invoice|payment|wire|transfer|bank|iban|swift|\bach\b|payroll|w-?2\b|remittance"
    r"|purchase order|remit"
)
_OBSCURE_SQL = "[" + ", ".join(f"'{name}'" for name in OBSCURE_FOLDERS) + "]"
_RULE_ACTIONS = param("RuleActions")
_CONDITION_TEXT = "lower(concat_ws(' ', {}))".format(
    ", ".join(
        param(name)
        for name in (
            "SubjectContainsWords",
            "SubjectOrBodyContainsWords",
            "BodyContainsWords",
            "HeaderContainsWords",
            "FromAddressContainsWords",
            "From",
            "RuleCondition",
        )
    )
)
_FORWARD_TEXT = (
    f"concat_ws(';', {param('ForwardTo')}, {param('ForwardAsAttachmentTo')}, "
    f"{param('RedirectTo')}, CASE WHEN regexp_matches(lower({_RULE_ACTIONS}), 'forward|redirect') "
    f"THEN {_RULE_ACTIONS} END)"
)
_FOLDER = (
    f"trim(regexp_extract(coalesce({param('MoveToFolder')}, {param('CopyToFolder')}), "
    "'([^\\\\:]*)$', 1))"
)
_IDENTITY = f"coalesce({param('Mailbox')}, nullif(split_part(object_id, '\\', 1), ''))"


_WHY = why_json(
    baseline="'the tenant''s own domains, and the networks its creator used before'",
    new="list_filter([CASE WHEN bool_or(forwards_out) THEN 'external forward' END, "
    "CASE WHEN bool_or(obscure) THEN 'obscure folder' END, "
    "CASE WHEN bool_or(deletes) THEN 'deletes' END, "
    "CASE WHEN bool_or(marks_read) THEN 'marks read' END, "
    "CASE WHEN bool_or(finance) THEN 'finance words' END, "
    "CASE WHEN bool_or(new_network) THEN 'new network' END, "
    "CASE WHEN bool_or(risky_signin) THEN 'after risky sign-in' END], "
    "lambda v: v IS NOT NULL)",
    forward_to=flat_distinct("external_to"),
    folder="max(folder)",
    finance_words=flat_distinct("finance_words"),
    risky_ips="flatten(list(risky_ips))",
)

# The records every detection starts from: with none stored the analytic has nothing to find
# (the runner then does not run it: see Analytic.requires).
_ROOT = f"operation IN ('New-InboxRule', 'Set-InboxRule', 'UpdateInboxRules') AND {succeeded()}"

SQL = f"""
WITH {TENANT_UPNS_CTE},
{TENANT_DOMAINS_CTE},
{TENANT_DOMAIN_LISTS_CTE},
{MAILBOX_DIRECTORY_CTE},
raw_rules AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, app_id, operation,
           coalesce({param("Name")}, {param("RuleName")},
                    nullif(split_part(object_id, '\\', 2), ''), {param("Identity")},
                    object_id) AS rule_name,
           {_IDENTITY} AS identity,
           {_FORWARD_TEXT} AS forward_text,
           {_FOLDER} AS folder,
           {truthy(param("DeleteMessage"))} OR {truthy(param("SoftDeleteMessage"))}
             OR coalesce(regexp_matches(lower({_RULE_ACTIONS}), 'delete'), false) AS deletes,
           {truthy(param("MarkAsRead"))}
             OR coalesce(regexp_matches(lower({_RULE_ACTIONS}), 'markasread|mark as read'),
                         false) AS marks_read,
           regexp_extract_all({_CONDITION_TEXT}, '{FINANCE_WORDS}') AS finance_words
    FROM events
    WHERE {_ROOT}
),
rules AS (
    SELECT r.*,
           coalesce({resolved_upn("r.identity")}, r.actor_upn) AS mailbox,
           {external_addresses(addresses("r.forward_text"))} AS external_to,
           coalesce(list_contains({_OBSCURE_SQL}, lower(r.folder))
                    OR (length(r.folder) BETWEEN 1 AND 2)
                    OR regexp_full_match(r.folder, '[^A-Za-z0-9]+'), false) AS obscure
    FROM raw_rules r
    LEFT JOIN tenant_domain_lists tdl ON tdl.tenant_id = r.tenant_id
    LEFT JOIN mailbox_directory ON mailbox_directory.tenant_id = r.tenant_id
     AND mailbox_directory.alias = {identity_alias("r.identity")}
),
flagged AS (
    SELECT *, len(external_to) > 0 AS forwards_out,
           len(finance_words) > 0 AS finance,
           deletes OR marks_read OR obscure AS hides
    FROM rules
),
suspicious AS (
    SELECT *, actor_upn AS who, client_ip AS ip FROM flagged
    WHERE forwards_out OR obscure OR ((deletes OR marks_read) AND finance)
),
{context_risk_ctes("suspicious")},
scored AS (
    SELECT s.*, r.new_network, r.risky_signin, r.risky_ips,
           CASE WHEN (forwards_out AND (hides OR finance)) OR (obscure AND finance) THEN 2
                ELSE 1 END
             + CASE WHEN r.new_network OR r.risky_signin THEN 1 ELSE 0 END AS level
    FROM suspicious s JOIN risk r USING (record_id)
)
SELECT
    CAST(to_json([tenant_id, mailbox, rule_name]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    ['medium', 'high', 'critical'][max(level)] AS severity,
    'Inbox rule "' || rule_name || '" on mailbox ' || mailbox ||
      ' (' || string_agg(DISTINCT operation, ', ') || ' by ' ||
      coalesce(string_agg(DISTINCT actor_upn, ', '), 'an unknown actor') || ')' ||
      CASE WHEN bool_or(forwards_out)
           THEN ' forwards mail outside the tenant to ' ||
                array_to_string({flat_distinct("external_to")}, ', ')
           ELSE '' END ||
      CASE WHEN bool_or(obscure)
           THEN '; moves mail to the rarely opened folder "' || max(folder) || '"' ELSE '' END ||
      CASE WHEN bool_or(deletes) THEN '; deletes it' ELSE '' END ||
      CASE WHEN bool_or(marks_read) THEN '; marks it read' ELSE '' END ||
      CASE WHEN bool_or(finance)
           THEN '; matches finance words (' ||
                array_to_string({flat_distinct("finance_words")}, ', ') || ')'
           ELSE '' END ||
      CASE WHEN bool_or(new_network) THEN '; created from a network new to its creator'
           ELSE '' END ||
      CASE WHEN bool_or(risky_signin)
           THEN '; created after a risky sign-in (new network or password-spray source)'
           ELSE '' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    [mailbox] AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    {_WHY} AS why
FROM scored
GROUP BY tenant_id, mailbox, rule_name, date_trunc('day', time)
"""

ANALYTIC = Analytic(
    requires=_ROOT,
    id="inbox-rule-abuse",
    title="Inbox rule forwards mail out or hides it",
    severity="medium",
    technique="T1564.008",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
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
