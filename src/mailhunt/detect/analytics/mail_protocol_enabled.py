"""A legacy mail protocol (IMAP, POP, EWS, ActiveSync) is turned on for a mailbox, and used.

What it detects: ``Set-CASMailbox`` turning ``-ImapEnabled``, ``-PopEnabled``, ``-EwsEnabled``
or ``-ActiveSyncEnabled`` on for a mailbox, and whether that mailbox was then accessed through
that protocol within ``followup_days`` (default 7): mailbox audit records whose client
(ClientInfoString) names it (``Client=IMAP4``, ``Client=POP3``, ``Client=WebServices``,
``Client=ActiveSync``/``Airsync``). The alert names the follow-up access. One alert per tenant,
mailbox and UTC day of the change.

Why: IMAP and POP download a whole mailbox with a password or an app token, outside the
clients and conditional-access policies the tenant watches; EWS is what Storm-0558 and
Midnight Blizzard used to read executives' mail. Tenants that turned these protocols off see
an actor turn them back on for the mailbox it wants, then download it.

Severity: low for the change alone; medium when the mailbox is then accessed through the
protocol; high when that access comes from an address the mailbox's records never showed in
the ``followup_days`` before the change.

Known false positives: administrators enabling IMAP for a scanner, a CRM connector or a
migration; ActiveSync turned on for a new phone. Those are followed by access from a known
address (medium at most) or by none (low).

References:
https://learn.microsoft.com/powershell/module/exchange/set-casmailbox
https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/pop3-and-imap4/enable-or-disable-pop3-or-imap4-access
https://www.microsoft.com/security/blog/2024/01/25/midnight-blizzard-guidance-for-responders-on-nation-state-attack/
https://attack.mitre.org/techniques/T1114/002/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    MAILBOX_DIRECTORY_CTE,
    TENANT_UPNS_CTE,
    distinct_list,
    identity_alias,
    param,
    resolved_upn,
    succeeded,
    truthy,
    why_json,
)

# Set-CASMailbox parameter -> (protocol name, ClientInfoString pattern of an access through it)
PROTOCOLS = {
    "ImapEnabled": ("IMAP", "client=imap4"),
    "PopEnabled": ("POP", "client=pop3"),
    "EwsEnabled": ("EWS", "client=webservices"),
    "ActiveSyncEnabled": ("ActiveSync", "client=activesync|client=airsync"),
}
_ENABLED = "list_filter([{}], lambda v: v IS NOT NULL)".format(
    ", ".join(
        f"CASE WHEN {truthy(param(name))} THEN '{protocol}' END"
        for name, (protocol, _) in PROTOCOLS.items()
    )
)
_THROUGH = "CASE {} END".format(
    " ".join(
        f"WHEN regexp_matches(lower(user_agent), '{pattern}') THEN '{protocol}'"
        for protocol, pattern in PROTOCOLS.values()
    )
)
_WINDOW = "to_days($followup_days)"

# The records every detection starts from: with none stored the analytic has nothing to find
# (the runner then does not run it: see Analytic.requires).
_ROOT = f"operation = 'Set-CASMailbox' AND {succeeded()}"

SQL = f"""
WITH {TENANT_UPNS_CTE},
{MAILBOX_DIRECTORY_CTE},
raw_changes AS (
    SELECT record_id, time, tenant_id, actor_upn, client_ip, app_id, object_id,
           coalesce({param("Identity")}, object_id) AS identity, {_ENABLED} AS protocols
    FROM events
    WHERE {_ROOT}
),
changes AS (
    SELECT c.*, coalesce({resolved_upn("c.identity")}, lower(c.identity)) AS mailbox
    FROM raw_changes c
    LEFT JOIN mailbox_directory ON mailbox_directory.tenant_id = c.tenant_id
     AND mailbox_directory.alias = {identity_alias("c.identity")}
    WHERE len(c.protocols) > 0
),
mailbox_access AS (  -- access to the changed mailboxes through a legacy protocol or not
    SELECT e.record_id, e.time, e.tenant_id, e.mailbox_upn, e.actor_upn, e.client_ip,
           e.app_id, {_THROUGH} AS protocol
    FROM events e SEMI JOIN changes c
      ON c.tenant_id = e.tenant_id AND c.mailbox = e.mailbox_upn
    WHERE e.mailbox_upn IS NOT NULL
),
known_ips AS (  -- addresses each changed mailbox was accessed from before the change
    SELECT DISTINCT c.record_id, a.client_ip
    FROM changes c JOIN mailbox_access a
      ON a.tenant_id = c.tenant_id AND a.mailbox_upn = c.mailbox
    WHERE a.time < c.time AND a.time >= c.time - {_WINDOW} AND a.client_ip IS NOT NULL
),
followups AS (
    SELECT c.record_id AS change_id, a.*,
           a.client_ip IS NOT NULL AND k.client_ip IS NULL AS new_ip
    FROM changes c JOIN mailbox_access a
      ON a.tenant_id = c.tenant_id AND a.mailbox_upn = c.mailbox
    LEFT JOIN known_ips k ON k.record_id = c.record_id AND k.client_ip = a.client_ip
    WHERE a.time > c.time AND a.time <= c.time + {_WINDOW}
      AND list_contains(c.protocols, a.protocol)
),
judged AS (
    SELECT c.*,
           coalesce(count(f.record_id), 0) AS access_count,
           list(f.record_id) FILTER (WHERE f.record_id IS NOT NULL) AS access_ids,
           list(f.client_ip) FILTER (WHERE f.client_ip IS NOT NULL) AS access_ips,
           list(f.actor_upn) FILTER (WHERE f.actor_upn IS NOT NULL) AS access_users,
           list(f.protocol) FILTER (WHERE f.protocol IS NOT NULL) AS used,
           min(f.time) AS first_access, max(f.time) AS last_access,
           coalesce(bool_or(f.new_ip), false) AS from_new_ip
    FROM changes c LEFT JOIN followups f ON f.change_id = c.record_id
    GROUP BY ALL
)
SELECT
    CAST(to_json([tenant_id, mailbox]) AS VARCHAR) AS entity,
    date_trunc('day', time) AS bucket,
    CASE WHEN bool_or(from_new_ip) THEN 'high'
         WHEN sum(access_count) > 0 THEN 'medium' ELSE 'low' END AS severity,
    array_to_string(list_sort(list_distinct(flatten(list(protocols)))), ', ') ||
      ' turned on for mailbox ' || mailbox || ' (Set-CASMailbox by ' ||
      coalesce(string_agg(DISTINCT actor_upn, ', '), 'an unknown actor') || ')' ||
      CASE WHEN sum(access_count) > 0
           THEN '; then accessed through ' ||
                array_to_string(list_sort(list_distinct(flatten(list(used)))), ', ') ||
                ' in ' || sum(access_count) || ' record(s), the first at ' ||
                strftime(min(first_access), '%Y-%m-%d %H:%M UTC') ||
                CASE WHEN bool_or(from_new_ip)
                     THEN ', from an address the mailbox had not used' ELSE '' END
           ELSE '; no access through it seen yet' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    [mailbox] AS mailboxes,
    list_sort(list_distinct(list(actor_upn) || flatten(list(access_users)))) AS users,
    {distinct_list("app_id")} AS app_ids,
    list_sort(list_distinct(list(client_ip) || flatten(list(access_ips)))) AS client_ips,
    min(time) AS first_seen,
    greatest(max(time), max(last_access)) AS last_seen,
    list_sort(list_distinct(list(record_id) || flatten(list(access_ids)))) AS event_ids,
    {
    why_json(
        baseline="'the addresses the mailbox was accessed from in the ' || $followup_days || "
        "' day(s) before the change'",
        new="list_sort(list_distinct(flatten(list(protocols)))) || "
        "CASE WHEN bool_or(from_new_ip) THEN ['access from a new address'] ELSE [] END",
        followup_access="list_sort(list_distinct(flatten(list(access_ids))))",
    )
} AS why
FROM judged
GROUP BY tenant_id, mailbox, date_trunc('day', time)
"""

ANALYTIC = Analytic(
    requires=_ROOT,
    id="mail-protocol-enabled",
    title="Legacy mail protocol turned on for a mailbox",
    severity="low",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events",),
    parameters=(
        Parameter(
            "followup_days",
            int,
            7,
            "Days after a grant, consent or change in which the access it enabled is looked "
            "for (and, before it, the history it is compared with).",
            minimum=1,
        ),
    ),
)
