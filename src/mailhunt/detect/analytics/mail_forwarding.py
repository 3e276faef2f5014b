"""A mailbox, or the whole organisation's mail flow, is set to forward mail outside the tenant.

What it detects: ``Set-Mailbox`` (and ``New-Mailbox``/``Set-MailUser``-style cmdlets carrying
the same parameters) given ``-ForwardingSmtpAddress`` or ``-ForwardingAddress`` naming an
address outside the tenant's own domains (those of the user principal names and mailboxes its
records name), and transport rules (``New-TransportRule``, ``Set-TransportRule``) that redirect,
blind-copy or add an external recipient (``RedirectMessageTo``, ``BlindCopyTo``, ``CopyTo``,
``AddToRecipients``). One alert per tenant, mailbox (or transport rule) and UTC day.

Why: mailbox-level forwarding sends every message to the actor without an inbox rule the user
could see in Outlook, and a transport rule does it for the whole organisation; both keep
working after the password is reset. They are standard business e-mail compromise and
espionage persistence.

Not raised: forwarding to an address of the tenant's own domains (a colleague, a shared
mailbox), clearing forwarding (no address), and forwarding to what looks like the owner's own
mailbox in a sister organisation: the same local part in a domain whose name starts with the
owner's organisation name (``peter.smith@contoso-emea.com`` for
``peter.smith@contoso.onmicrosoft.com``). The cost of that exception: an actor who registers a
look-alike domain and reuses the victim's local part is not raised here (the inbox-rule and
new-network analytics may still see the session).

Severity: medium for forwarding to an external address; one step higher when the mailbox keeps
no copy (``DeliverToMailboxAndForward`` false) or for a transport rule (the whole
organisation's mail); one step higher again (up to critical) when the change came from a
network first seen for the person who made it less than a day before (with
``min_history_days`` of history), or in the day after their sign-in from such a network or from
a password-spray source (an address that failed sign-ins of ``spray_min_users`` users within an
hour).

Known false positives: users allowed to forward to a personal address; an administrator
forwarding a leaver's mailbox to a partner; mail-flow rules journaling to an external archive
service (add its domain as a suppression).

References:
https://learn.microsoft.com/powershell/module/exchange/set-mailbox
https://learn.microsoft.com/exchange/recipients-in-exchange-online/manage-user-mailboxes/configure-email-forwarding
https://learn.microsoft.com/powershell/module/exchange/new-transportrule
https://learn.microsoft.com/defender-office-365/outbound-spam-policies-external-email-forwarding
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
    falsy,
    flat_distinct,
    identity_alias,
    own_mailbox_elsewhere,
    param,
    resolved_upn,
    succeeded,
    why_json,
)

_MAILBOX_TARGETS = f"concat_ws(';', {param('ForwardingSmtpAddress')}, {param('ForwardingAddress')})"
_RULE_TARGETS = (
    f"concat_ws(';', {param('RedirectMessageTo')}, {param('BlindCopyTo')}, "
    f"{param('CopyTo')}, {param('AddToRecipients')})"
)
_TRANSPORT = "operation IN ('New-TransportRule', 'Set-TransportRule')"

_WHY = why_json(
    baseline="'the tenant''s own domains, and the networks the person who made the change "
    "used before'",
    new="list_filter(['forwarding to ' || array_to_string("
    + flat_distinct("external_to")
    + ", ', '),"
    " CASE WHEN bool_or(keeps_no_copy) THEN 'no copy kept' END,"
    " CASE WHEN bool_or(transport) THEN 'transport rule' END,"
    " CASE WHEN bool_or(new_network) THEN 'new network' END,"
    " CASE WHEN bool_or(risky_signin) THEN 'after risky sign-in' END], lambda v: v IS NOT NULL)",
    forward_to=flat_distinct("external_to"),
    risky_ips="flatten(list(risky_ips))",
)

# The records every detection starts from: with none stored the analytic has nothing to find
# (the runner then does not run it: see Analytic.requires).
_ROOT = (
    "(operation IN ('Set-Mailbox', 'New-Mailbox', 'Set-MailUser') "
    f"OR {_TRANSPORT}) AND {succeeded()}"
)

SQL = f"""
WITH {TENANT_UPNS_CTE},
{TENANT_DOMAINS_CTE},
{TENANT_DOMAIN_LISTS_CTE},
{MAILBOX_DIRECTORY_CTE},
changes AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, app_id, operation, object_id,
           {_TRANSPORT} AS transport,
           CASE WHEN {_TRANSPORT} THEN {_RULE_TARGETS} ELSE {_MAILBOX_TARGETS} END AS targets,
           coalesce({param("Identity")}, {param("Name")}, object_id) AS identity,
           {falsy(param("DeliverToMailboxAndForward"))} AS keeps_no_copy
    FROM events
    WHERE {_ROOT}
),
resolved AS (
    SELECT c.*, tdl.domains,
           CASE WHEN c.transport THEN 'transport rule ' || coalesce(c.identity, '?')
                ELSE coalesce({resolved_upn("c.identity")}, lower(c.identity)) END AS target
    FROM changes c
    LEFT JOIN tenant_domain_lists tdl ON tdl.tenant_id = c.tenant_id
    LEFT JOIN mailbox_directory ON mailbox_directory.tenant_id = c.tenant_id
     AND mailbox_directory.alias = {identity_alias("c.identity")}
    WHERE c.targets <> ''
),
forwards AS (
    SELECT *, actor_upn AS who, client_ip AS ip,
           list_filter({external_addresses(addresses("targets"), "domains")},
                       lambda a: transport OR NOT {own_mailbox_elsewhere("a", "target")})
             AS external_to
    FROM resolved
),
suspicious AS (SELECT * FROM forwards WHERE len(external_to) > 0),
{context_risk_ctes("suspicious")},
scored AS (
    SELECT s.*, r.new_network, r.risky_signin, r.risky_ips,
           1 + CASE WHEN s.keeps_no_copy OR s.transport THEN 1 ELSE 0 END
             + CASE WHEN r.new_network OR r.risky_signin THEN 1 ELSE 0 END AS level
    FROM suspicious s JOIN risk r USING (record_id)
)
SELECT
    CAST(to_json([tenant_id, target]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    ['medium', 'high', 'critical'][max(level)] AS severity,
    CASE WHEN bool_or(transport) THEN 'Transport rule "' || max(identity) || '"'
         ELSE 'Mailbox ' || target END ||
      ' set to forward mail outside the tenant to ' ||
      array_to_string({flat_distinct("external_to")}, ', ') ||
      ' (' || string_agg(DISTINCT operation, ', ') || ' by ' ||
      coalesce(string_agg(DISTINCT actor_upn, ', '), 'an unknown actor') || ')' ||
      CASE WHEN bool_or(keeps_no_copy) THEN '; the mailbox keeps no copy' ELSE '' END ||
      CASE WHEN bool_or(new_network) THEN '; changed from a network new to its author'
           ELSE '' END ||
      CASE WHEN bool_or(risky_signin)
           THEN '; changed after a risky sign-in (new network or password-spray source)'
           ELSE '' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    CASE WHEN bool_or(transport) THEN [] ELSE [target] END AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    {_WHY} AS why
FROM scored
GROUP BY tenant_id, target, date_trunc('day', time)
"""

ANALYTIC = Analytic(
    requires=_ROOT,
    id="mail-forwarding",
    title="Mail forwarded outside the tenant",
    severity="medium",
    technique="T1114.003",
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
