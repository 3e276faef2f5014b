"""SQL pieces several analytics share: the application a mail access is attributed to, the name
sign-ins give it, the common first-party mail clients, and list columns of a detection row.

Everything here is fixed text written in this code base (application ids are checked to be
GUIDs before they become SQL literals); values from logs only ever reach SQL as columns.
"""

from __future__ import annotations

import re

from mailhunt.detect.base import Shared

# The application an access is attributed to: the client that held the token (ClientAppId),
# else the application (AppId) that accessed the data.
APP_KEY = "coalesce(client_app_id, app_id)"

# Microsoft first-party mail and Office clients that most tenants' users read mail with. An
# application on this list is not "rare" however few mailboxes use it: one user on Outlook
# Mobile is not an intrusion. Ids as Microsoft lists them in
# https://learn.microsoft.com/troubleshoot/azure/entra/entra-id/governance/verify-first-party-apps-sign-in
COMMON_FIRST_PARTY_CLIENTS: dict[str, str] = {
    "00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online (Outlook on the web)",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c": "Microsoft Office",
    "27922004-5251-4030-b22d-91ecd9a37ea4": "Outlook Mobile",
    "5d661950-3475-41cd-a2c3-d671a3162bc1": "Microsoft Outlook",
    "9199bf20-a13f-4107-85dc-02114787ef48": "One Outlook Web",
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3": "Outlook Online Add-in App",
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264": "Microsoft Teams",
    "5e3ce6c0-2b1f-4285-8d4b-75ee78787346": "Microsoft Teams Web Client",
    "4765445b-32c6-49b0-83e6-1d93765276ca": "OfficeHome",
    "0ec893e0-5785-4de6-99da-4ed124e5296c": "Office UWP PWA",
}

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def guid_list(ids: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal of application ids (each must be a lower-case GUID)."""
    for value in ids:
        if not _GUID.fullmatch(value):
            raise ValueError(f"not a lower-case GUID: {value!r}")
    return "[" + ", ".join(f"'{value}'" for value in ids) + "]"


COMMON_CLIENTS_SQL = guid_list(sorted(COMMON_FIRST_PARTY_CLIENTS))

# What sign-ins call each application (none for a forged token's client): join ON
# app_names.named_app = <app key>.
APP_NAMES_CTE = """app_names AS (
    SELECT app_id AS named_app, min(app_name) AS app_name FROM signins
    WHERE app_id IS NOT NULL AND app_name IS NOT NULL GROUP BY app_id
)"""


def app_label(key: str, name: str) -> str:
    """SQL for how a summary names an application: '"Name" (id)' or 'id (no sign-in names it)'."""
    return (
        f"""coalesce('"' || {name} || '" (' || {key} || ')', {key} || ' (no sign-in names it)')"""
    )


def distinct_list(*expressions: str) -> str:
    """SQL aggregate: the sorted distinct non-NULL values of the expressions, as one list."""
    lists = " || ".join(f"list({e})" for e in expressions)
    return f"list_sort(list_distinct(list_filter({lists}, lambda v: v IS NOT NULL)))"


# Messages one MailItemsAccessed record stands for: the items a Bind lists; a Sync (a whole
# folder downloaded, its items unlisted) counts as one folder.
MESSAGES_READ = "CASE WHEN access_type = 'Sync' THEN 1 ELSE coalesce(item_count, 0) END"

# An access made with an application's own permission (client credentials): no Entra session,
# and UAL names the application, not a user principal, as the actor.
APP_ONLY = "(aad_session_id IS NULL AND NOT contains(coalesce(actor_upn, ''), '@'))"


# Tokens presented to a mailbox (events.token_id) that no successful stored sign-in issued, one
# row per (tenant_id, token_id). The token-level form of token-without-signin's rule: judged
# only where sign-in logs cover the tenant (first to last sign-in carrying token ids, of the
# token's kind: user or service principal; user tokens only where non-interactive sign-ins are
# stored), with $clock_skew_minutes at both ends; any successful sign-in of that
# uniqueTokenIdentifier counts as the issuer, whenever it was. Join ON (tenant_id, token_id).
def unissued_tokens_ctes(among: str) -> str:
    """The CTEs above (ending in ``unissued_tokens``) for the tokens of the CTE ``among``
    (tenant_id, token_id) only, which the query defines first: a throttled window's few
    sessions need not group every token of the store."""
    return f"""presented_tokens AS (
    SELECT tenant_id, token_id, min(time) AS first_used, bool_and({APP_ONLY}) AS app_only
    FROM events SEMI JOIN {among} t USING (tenant_id, token_id)
    WHERE token_id IS NOT NULL AND mailbox_upn IS NOT NULL
    GROUP BY tenant_id, token_id
),
token_coverage AS (
    SELECT tenant_id, user_upn IS NULL AND user_id IS NULL AS app_only,
           min(time) AS covered_from, max(time) AS covered_to,
           bool_or(interactive IS DISTINCT FROM true) AS silent_logged
    FROM signins WHERE unique_token_id IS NOT NULL GROUP BY ALL
),
issued_tokens AS (
    SELECT DISTINCT unique_token_id AS issued_token FROM signins
    WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0
      AND unique_token_id IN (SELECT token_id FROM {among})
),
unissued_tokens AS (
    SELECT p.tenant_id, p.token_id
    FROM presented_tokens p
    JOIN token_coverage c ON c.tenant_id = p.tenant_id AND c.app_only = p.app_only
    LEFT JOIN issued_tokens i ON i.issued_token = p.token_id
    WHERE i.issued_token IS NULL AND (p.app_only OR c.silent_logged)
      AND p.first_used BETWEEN c.covered_from + to_minutes($clock_skew_minutes)
                           AND c.covered_to - to_minutes($clock_skew_minutes)
)"""


# When each application (APP_KEY) first read each mailbox, and when each mailbox's stored
# activity starts: an access is by an application new to the mailbox when the application's
# first read came at least $min_history_days after the mailbox's start and at most
# $baseline_days before the access (see APP_NEW_TO_MAILBOX). Join ON (tenant_id, mailbox_upn,
# app_key) and (tenant_id, mailbox_upn).
def mailbox_app_first_read_ctes(among: str) -> str:
    """The CTEs above for the mailboxes of the CTE ``among`` (tenant_id, mailbox_upn) only: the
    query defines it first."""
    return f"""mailbox_app_first_read AS (
    SELECT tenant_id, mailbox_upn, {APP_KEY} AS app_key, min(time) AS first_read
    FROM events SEMI JOIN {among} m USING (tenant_id, mailbox_upn)
    WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL AND {APP_KEY} IS NOT NULL
    GROUP BY ALL
),
mailbox_start AS (
    SELECT tenant_id, mailbox_upn, min(time) AS mailbox_since
    FROM events SEMI JOIN {among} m USING (tenant_id, mailbox_upn)
    WHERE mailbox_upn IS NOT NULL GROUP BY ALL
)"""


def app_new_to_mailbox(first_read: str, since: str, at: str) -> str:
    """SQL: true when the application whose first read of the mailbox is ``first_read`` was new
    to it at ``at`` (the mailbox's activity starting at ``since``; see
    MAILBOX_APP_FIRST_READ_CTE)."""
    return (
        f"coalesce({first_read} >= {since} + to_days($min_history_days) "
        f"AND {at} - {first_read} <= to_days($baseline_days), false)"
    )


# -- administrative operations (issue 9: permission grants, BEC and persistence) ------------------

_PARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def param(name: str, column: str = "parameters") -> str:
    """SQL for the value of an operation's parameter ``name`` (cmdlet Parameters or directory
    ModifiedProperties, in ``events.parameters``), matched in any letter case: NULL when the
    record has none. ``name`` is fixed text of this code base (checked), never log text."""
    if not _PARAMETER_NAME.fullmatch(name):
        raise ValueError(f"not a parameter name: {name!r}")
    return f"list_filter({column}, lambda p: lower(p.name) = '{name.lower()}')[1].value"


def truthy(value: str) -> str:
    """SQL: the parameter text is a PowerShell/JSON true ($true, True, 1)."""
    return f"coalesce(ltrim(lower(trim({value})), '$') IN ('true', '1'), false)"


def falsy(value: str) -> str:
    """SQL: the parameter text is a PowerShell/JSON false ($false, False, 0)."""
    return f"coalesce(ltrim(lower(trim({value})), '$') IN ('false', '0'), false)"


def address_domain(value: str) -> str:
    """SQL: the lower-cased domain of the first e-mail address in the text (``smtp:`` prefixes,
    display names and brackets around it allowed), NULL when there is none."""
    return f"nullif(lower(regexp_extract({value}, '@([A-Za-z0-9.-]+[A-Za-z0-9])', 1)), '')"


def address_local(value: str) -> str:
    """SQL: the lower-cased local part of the first e-mail address in the text."""
    return f"nullif(lower(regexp_extract({value}, '([A-Za-z0-9._%+''-]+)@', 1)), '')"


# Each tenant's distinct user principal names (actors and mailbox owners of events, users of
# sign-ins; ``from_events``: named by an event), deduplicated before any string work: the CTE
# the two below start from (put it before them in the WITH list). Grouping each column on its
# own keeps it one cheap pass (an unnest of [actor, mailbox] per event cost a second at 1M).
TENANT_UPNS_CTE = """tenant_upns AS (
    SELECT tenant_id, upn, bool_or(from_events) AS from_events FROM (
        SELECT tenant_id, actor_upn AS upn, true AS from_events FROM events GROUP BY ALL
        UNION ALL
        SELECT tenant_id, mailbox_upn, true FROM events GROUP BY ALL
        UNION ALL
        SELECT tenant_id, user_upn, false FROM signins GROUP BY ALL)
    WHERE upn IS NOT NULL GROUP BY ALL
)"""

# The domains the tenant's own people have (the domains of the user principal names and mailbox
# owners its records name): an address in one of them is internal. Join ON tenant and domain.
TENANT_DOMAINS_CTE = """tenant_domains AS (
    SELECT DISTINCT tenant_id, lower(split_part(upn, '@', 2)) AS domain
    FROM tenant_upns WHERE contains(upn, '@')
)"""

# The mailboxes the tenant's records name, by user principal name and by alias (the local part),
# for resolving a cmdlet's Identity/User given either way: join ON tenant and alias.
MAILBOX_DIRECTORY_CTE = """mailbox_directory AS (
    SELECT tenant_id, alias, min(upn) AS upn FROM (
        SELECT DISTINCT tenant_id, upn, split_part(upn, '@', 1) AS alias
        FROM tenant_upns WHERE from_events AND contains(upn, '@'))
    GROUP BY tenant_id, alias HAVING count(*) = 1
)"""


def resolved_upn(identity: str, directory: str = "mailbox_directory") -> str:
    """SQL: the user principal name a cmdlet's identity names: itself when it is one (lower-
    cased), else the directory's mailbox of that alias (join ``directory`` ON tenant_id and
    ``alias = lower(<identity's last path part>)``, see ``identity_alias``)."""
    return (
        f"coalesce(CASE WHEN contains({identity}, '@') THEN lower({identity}) END, {directory}.upn)"
    )


def identity_alias(identity: str) -> str:
    """SQL: the alias an identity names: the last part of a path (``org/alias``,
    ``mailbox:\\Inbox`` is cut before), lower-cased."""
    return f"lower(trim(regexp_extract({identity}, '([^/\\\\]+)$', 1)))"


def context_risk_ctes(candidates: str) -> str:
    """CTEs ending in ``risk`` (record_id, new_network, risky_signin, risky_ips): for each row of
    the CTE ``candidates`` (record_id, tenant_id, who, ip, time: an administrative action and
    the user who took it), whether the action came from a network (IP) first seen for that user
    less than a day before it while the user already had ``$min_history_days`` of history
    (``new_network``), and whether the user had, in the day before it, a successful sign-in
    from such a new network or from an address that failed sign-ins of at least
    ``$spray_min_users`` users within one hour (a password spray: ``risky_signin``). One pass
    over each table, restricted to the candidates' users by hash semi-joins."""
    return f"""risk_people AS (SELECT DISTINCT tenant_id, who FROM {candidates}),
risk_seen AS (
    SELECT e.tenant_id, e.actor_upn AS who, e.client_ip AS ip, e.time FROM events e
    SEMI JOIN risk_people p ON p.tenant_id = e.tenant_id AND p.who = e.actor_upn
    WHERE e.client_ip IS NOT NULL
    UNION ALL
    SELECT s.tenant_id, s.user_upn, s.client_ip, s.time FROM signins s
    SEMI JOIN risk_people p ON p.tenant_id = s.tenant_id AND p.who = s.user_upn
    WHERE s.client_ip IS NOT NULL AND coalesce(s.error_code, 0) = 0
),
risk_ip_since AS (SELECT tenant_id, who, ip, min(time) AS since FROM risk_seen GROUP BY ALL),
risk_who_since AS (SELECT tenant_id, who, min(since) AS since FROM risk_ip_since GROUP BY ALL),
risk_sprayers AS (
    SELECT DISTINCT tenant_id, ip FROM (
        SELECT tenant_id, client_ip AS ip FROM signins
        WHERE coalesce(error_code, 0) <> 0 AND client_ip IS NOT NULL
        GROUP BY tenant_id, client_ip, time_bucket(INTERVAL 1 HOUR, time)
        HAVING count(DISTINCT user_upn) >= $spray_min_users)
),
risk_contexts AS (
    SELECT record_id, tenant_id, who, ip, time, true AS own FROM {candidates}
    UNION ALL
    SELECT c.record_id, c.tenant_id, c.who, s.client_ip, s.time, false
    FROM {candidates} c JOIN signins s ON s.tenant_id = c.tenant_id AND s.user_upn = c.who
    WHERE coalesce(s.error_code, 0) = 0 AND s.client_ip IS NOT NULL
      AND s.time BETWEEN c.time - INTERVAL 1 DAY AND c.time
),
risk_judged AS (
    SELECT x.record_id, x.ip, x.own,
           coalesce(i.since >= x.time - INTERVAL 1 DAY
                    AND i.since - w.since >= to_days($min_history_days), false) AS fresh,
           sp.ip IS NOT NULL AS sprayer
    FROM risk_contexts x
    LEFT JOIN risk_ip_since i
      ON i.tenant_id = x.tenant_id AND i.who = x.who AND i.ip = x.ip
    LEFT JOIN risk_who_since w ON w.tenant_id = x.tenant_id AND w.who = x.who
    LEFT JOIN risk_sprayers sp ON sp.tenant_id = x.tenant_id AND sp.ip = x.ip
),
risk AS (
    SELECT record_id,
           coalesce(bool_or(own AND fresh), false) AS new_network,
           coalesce(bool_or(NOT own AND (fresh OR sprayer)), false) AS risky_signin,
           list_sort(list_distinct(list(ip) FILTER (WHERE fresh OR sprayer))) AS risky_ips
    FROM risk_judged GROUP BY record_id
)"""


_ADDRESS = "'[A-Za-z0-9._%+''-]+@[A-Za-z0-9.-]+[A-Za-z0-9]'"


def addresses(text: str) -> str:
    """SQL: every e-mail address in the text (``smtp:`` prefixes, display names, separators
    around them allowed), lower-cased, as a list (empty when there is none)."""
    return (
        f"list_transform(regexp_extract_all(coalesce({text}, ''), {_ADDRESS}), lambda a: lower(a))"
    )


# Per tenant, its domains as one list (join ON tenant_id): see TENANT_DOMAINS_CTE.
TENANT_DOMAIN_LISTS_CTE = """tenant_domain_lists AS (
    SELECT tenant_id, list(domain) AS domains FROM tenant_domains GROUP BY tenant_id
)"""


def external_addresses(addresses_sql: str, domains: str = "tdl.domains") -> str:
    """SQL: the addresses of the list whose domain is none of ``domains`` (the tenant's)."""
    return (
        f"list_filter({addresses_sql}, lambda a: NOT list_contains(coalesce({domains}, []), "
        "split_part(a, '@', 2)))"
    )


def own_mailbox_elsewhere(address: str, mailbox: str) -> str:
    """SQL: the address looks like the mailbox owner's own mailbox in a sister organisation: the
    same local part, in a domain whose name starts with the owner's organisation name (the first
    label of the owner's domain: ``peter.smith@contoso-emea.com`` for
    ``peter.smith@contoso.onmicrosoft.com``)."""
    return (
        f"(split_part({address}, '@', 1) = split_part({mailbox}, '@', 1) "
        f"AND starts_with(split_part({address}, '@', 2), "
        f"split_part(split_part({mailbox}, '@', 2), '.', 1)))"
    )


def succeeded(result: str = "result") -> str:
    """SQL: the operation did not fail (Exchange admin records say True/False, directory audits
    Success/Failure, mailbox audits Succeeded/Failed; unknown counts as done)."""
    return f"coalesce(lower({result}), 'true') NOT IN ('false', 'failed', 'failure')"


def why_json(**fields: str) -> str:
    """SQL: the ``why`` column, a JSON object of the given SQL values by key (``baseline`` and
    ``new`` at least)."""
    if "baseline" not in fields or "new" not in fields:
        raise ValueError("why needs 'baseline' and 'new'")
    pairs = ", ".join(f"{key} := {sql}" for key, sql in fields.items())
    return f"CAST(to_json(struct_pack({pairs})) AS VARCHAR)"


def flat_distinct(column: str) -> str:
    """SQL aggregate: the sorted distinct values of a list column over the group."""
    return f"list_sort(list_distinct(flatten(list({column}))))"


# -- networks (new-network-for-mailbox, sync-from-new-context) --------------------------------

# Network kinds that anybody can rent or hide behind: their ASN says nothing about the user, so
# only the address prefix can be theirs; an access from one weighs more.
RISKY_NETWORK_KINDS = "['hosting', 'vpn', 'tor', 'proxy']"


def ip_prefix(ip: str) -> str:
    """SQL for an address's network prefix: '203.0.113.0/24' for IPv4 (IPv4-mapped IPv6 too),
    '2a00:23c5:1a2b::/48' for IPv6 (the '::' expanded, leading zeros dropped); NULL for text
    that is not an address. ``ip`` is a column name (fixed text of this code base)."""
    v6 = f"lower(split_part({ip}, '%', 1))"
    head = f"split_part({v6}, '::', 1)"
    tail = f"CASE WHEN contains({v6}, '::') THEN split_part({v6}, '::', 2) ELSE '' END"
    head_groups = f"CASE WHEN {head} = '' THEN [] ELSE string_split({head}, ':') END"
    tail_groups = f"CASE WHEN {tail} = '' THEN [] ELSE string_split({tail}, ':') END"
    groups = (
        f"({head_groups} || list_transform(range(greatest(0, 8 - len({head_groups}) - "
        f"len({tail_groups}))), lambda z: '0') || {tail_groups})[1:3]"
    )
    v4 = r"'^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$'"
    return (
        f"CASE WHEN regexp_matches({ip}, {v4}) "
        f"THEN regexp_extract({ip}, {v4}, 1) || '.0/24' "
        rf"WHEN regexp_matches({v6}, '^[0-9a-f:]+$') AND contains({v6}, ':') "
        f"THEN array_to_string(list_transform({groups}, "
        f"lambda g: coalesce(nullif(ltrim(g, '0'), ''), '0')), ':') || '::/48' END"
    )


def _network_steps() -> tuple[tuple[str, str], ...]:
    """The steps of NETWORK, in order (see its comment); what only one step needs is a CTE
    of that step, not a table."""
    return (
        (
            "access_days",
            f"""
    SELECT tenant_id, mailbox_upn, coalesce(actor_upn, mailbox_upn) AS actor, client_ip AS ip,
           {APP_KEY} AS app_key, date_trunc('day', time) AS day
    FROM events
    WHERE mailbox_upn IS NOT NULL AND client_ip IS NOT NULL AND tenant_id IS NOT NULL
    GROUP BY ALL
""",
        ),
        (
            "signin_days",
            """
    SELECT tenant_id, user_upn, client_ip AS ip, date_trunc('day', time) AS day,
           min(time) AS first_time
    FROM signins
    WHERE user_upn IS NOT NULL AND client_ip IS NOT NULL AND tenant_id IS NOT NULL
      AND coalesce(error_code, 0) = 0
    GROUP BY ALL
""",
        ),
        (
            "networks",
            f"""
    SELECT *, list_filter([net, 'country ' || country], lambda k: k IS NOT NULL) AS keys
    FROM (
        SELECT a.ip, {ip_prefix("a.ip")} AS prefix, i.country, i.asn, i.as_org,
               i.network_kind, i.ip IS NOT NULL AS enriched,
               coalesce(i.network_kind, '') IN (SELECT unnest({RISKY_NETWORK_KINDS})) AS risky,
               CASE WHEN i.asn IS NOT NULL
                         AND coalesce(i.network_kind, '') NOT IN
                             (SELECT unnest({RISKY_NETWORK_KINDS}))
                    THEN 'AS' || i.asn ELSE {ip_prefix("a.ip")} END AS net
        FROM (SELECT DISTINCT ip FROM access_days UNION SELECT DISTINCT ip FROM signin_days) a
        LEFT JOIN ip_info i ON i.ip = a.ip
    )
    WHERE net IS NOT NULL
""",
        ),
        (
            "known",
            """
    WITH access_rows AS (
    SELECT tenant_id, mailbox_upn, actor, ip, day FROM access_days GROUP BY ALL
    ),
    sightings AS (
    SELECT tenant_id, principal, unnest(keys) AS key, day, signed_in
    FROM (
        SELECT r.tenant_id, unnest(list_distinct([r.mailbox_upn, r.actor, ''])) AS principal,
               n.keys, r.day, NULL::TIMESTAMPTZ AS signed_in
        FROM access_rows r JOIN networks n ON n.ip = r.ip
        UNION ALL
        SELECT s.tenant_id, unnest([s.user_upn, '']), n.keys, s.day, s.first_time
        FROM signin_days s JOIN networks n ON n.ip = s.ip
    )
    )
    SELECT tenant_id, principal, key, day, min(signed_in) AS signed_in,
           lag(day) OVER (PARTITION BY tenant_id, principal, key ORDER BY day) AS previous_day
    FROM sightings GROUP BY tenant_id, principal, key, day
""",
        ),
        (
            "fresh",
            """
    SELECT tenant_id, principal, key, day, signed_in FROM known
    WHERE previous_day IS NULL OR day - previous_day > to_days($baseline_days)
""",
        ),
        (
            "since",
            """
    SELECT tenant_id, principal, min(day) AS since FROM known GROUP BY ALL
""",
        ),
        (
            "new_rows",
            """
    WITH access_rows AS (
    SELECT tenant_id, mailbox_upn, actor, ip, day FROM access_days GROUP BY ALL
    ),
    judged AS (
    SELECT r.tenant_id, r.mailbox_upn, r.actor, r.ip, r.day, r.key,
           fm.key IS NOT NULL AND (r.actor = r.mailbox_upn OR fa.key IS NOT NULL) AS new,
           ft.key IS NOT NULL AS new_for_tenant,
           least(fm.signed_in, fa.signed_in) AS signed_in
    FROM (SELECT r.*, unnest(n.keys) AS key FROM access_rows r JOIN networks n ON n.ip = r.ip) r
    LEFT JOIN fresh fm
      ON fm.tenant_id = r.tenant_id AND fm.principal = r.mailbox_upn AND fm.key = r.key
     AND fm.day = r.day
    LEFT JOIN fresh fa
      ON fa.tenant_id = r.tenant_id AND fa.principal = r.actor AND fa.key = r.key
     AND fa.day = r.day
    LEFT JOIN fresh ft
      ON ft.tenant_id = r.tenant_id AND ft.principal = '' AND ft.key = r.key AND ft.day = r.day
    )
    SELECT j.tenant_id, j.mailbox_upn, j.actor, j.ip, j.day,
           list_sort(list(j.key) FILTER (WHERE j.new)) AS new_keys,
           min(j.signed_in) FILTER (WHERE j.new) AS signed_in
    FROM judged j
    JOIN since m ON m.tenant_id = j.tenant_id AND m.principal = j.mailbox_upn
    JOIN since t ON t.tenant_id = j.tenant_id AND t.principal = ''
    WHERE j.new
      AND (j.day - m.since >= to_days($min_history_days)
           OR (j.new_for_tenant AND j.day - t.since >= to_days($min_history_days)))
    GROUP BY ALL
""",
        ),
        (
            "coverage",
            """
    SELECT tenant_id, min(day) AS covered_from, max(day) AS covered_to
    FROM signin_days GROUP BY ALL
""",
        ),
        (
            "issued",
            """
    SELECT DISTINCT unique_token_id AS token_id, user_upn FROM signins
    WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0
""",
        ),
    )


# Mailbox access from a network new to the mailbox, computed once per detection run for
# new-network-for-mailbox and sync-from-new-context (read with ``WITH {NETWORK.ctes()}``).
# Its steps:
#
# ``access_days``: one pass over events, access per tenant, mailbox, actor, address,
# application and UTC day. ``signin_days``: one pass over signins, successful user sign-ins
# per user, address and day. ``networks``: each address once, with ip_info's answer and the
# key it is judged by (its ASN for access networks, its /24 or /48 prefix otherwise) plus its
# country. ``known``: per tenant, principal (mailbox, user, or '' for the whole tenant), key
# and day, whether the key was seen in the ``$baseline_days`` before (``fresh``) and when the
# principal first signed in from it that day. ``new_rows``: access rows (mailbox, actor,
# address, day) whose network is new to both the mailbox and the actor, once the mailbox has
# ``$min_history_days`` of history (a younger mailbox only for a network new to the tenant),
# with the time of the first sign-in from it that day (``signed_in``: later access is the
# user's own). ``coverage``: per tenant, the days its sign-ins cover. ``issued``: tokens a
# successful sign-in issued, with their user.
NETWORK = Shared("network", _network_steps())


# An evidence row's network described for a summary: 'AS20473 "AS-CHOOPA" (hosting, US)' or
# '45.77.12.0/24 (enrichment off)'.
def network_label(alias: str) -> str:
    """SQL naming the network of ``alias`` (a join of ``networks``) for a summary."""
    return (
        f"CASE WHEN {alias}.enriched THEN coalesce('AS' || {alias}.asn || ' ', '') || "
        f"""coalesce('"' || {alias}.as_org || '" ', '') || {alias}.prefix || ' (' || """
        f"concat_ws(', ', {alias}.network_kind, {alias}.country) || ')' "
        f"ELSE {alias}.prefix || ' (IP enrichment off)' END"
    )


# Microsoft's own first-party client tools, beside the mail clients above: administrators and
# scripts in every tenant use them, so their id says nothing about who used them (an actor
# with a forged token can claim them too; the address still tells). Ids as Microsoft lists them
# in the page above and in the sign-in logs' appDisplayName.
MICROSOFT_TOOL_CLIENTS: dict[str, str] = {
    "00b41c95-dab0-4487-9791-b9d2c32c80f2": "Office 365 Management",
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
    "0f698dd4-f011-4d23-a33e-b36416dcb1e6": "Microsoft Office Client Service",
    "14d82eec-204b-4c2f-b7e8-296a70dab67e": "Microsoft Graph Command Line Tools",
    "1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
    "1b730954-1685-4b74-9bfd-dac224a7b894": "Azure Active Directory PowerShell",
    "22098786-6e16-43cc-a27d-191a01a1e3b5": "Microsoft To-Do client",
    "29d9ed98-a469-4536-ade2-f981bc1d605e": "Microsoft Authentication Broker",
    "4345a7b9-9a63-4910-a426-35363201d503": "O365 Suite UX",
    "4813382a-8fa7-425e-ab75-3b753aab3abb": "Microsoft Authenticator App",
    "872cd9fa-d31f-45e0-9eab-6e460a02d1f1": "Visual Studio",
    "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7": "Office 365 Shell Suite",
    "a0c73c16-a7e3-4564-9a95-2bdf47383716": "Microsoft Exchange Online Remote PowerShell",
    "ab9b8c07-8f02-4f72-87fa-80105867a763": "OneDrive SyncEngine",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure Portal",
    "de8bc8b5-d9f9-48b1-a8ad-b748da725064": "Graph Explorer",
    "fb78d390-0c51-40cd-8e17-fdbfab77341b": "Microsoft Exchange REST API Based Powershell",
}


def microsoft_app(app: str) -> str:
    """SQL: true when the application id ``app`` (a column, lower-case) is Microsoft's own: a
    common mail client, a first-party tool, or a first-party resource (Exchange, Graph,
    SharePoint, Skype, Azure AD Graph ...: ids ending -0000-0ff1-ce00-000000000000 or
    -0000-0000-c000-000000000000)."""
    ids = guid_list(sorted({*COMMON_FIRST_PARTY_CLIENTS, *MICROSOFT_TOOL_CLIENTS}))
    return (
        f"(list_contains({ids}, {app}) "
        f"OR regexp_matches({app}, '-0000-(0ff1-ce00|0000-c000)-000000000000$'))"
    )
