"""SQL pieces several analytics share: the application a mail access is attributed to, the name
sign-ins give it, the common first-party mail clients, and list columns of a detection row.

Everything here is fixed text written in this code base (application ids are checked to be
GUIDs before they become SQL literals); values from logs only ever reach SQL as columns.
"""

from __future__ import annotations

import re

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


def network_ctes() -> str:
    """CTEs (to follow ``WITH``) that find mailbox access from a network new to the mailbox.

    ``access_days``: one pass over events, access per tenant, mailbox, actor, address,
    application and UTC day. ``signin_days``: one pass over signins, successful user sign-ins
    per user, address and day. ``networks``: each address once, with ip_info's answer and the
    key it is judged by (its ASN for access networks, its /24 or /48 prefix otherwise) plus its
    country. ``known``: per tenant, principal (mailbox, user, or '' for the whole tenant), key
    and day, whether the key was seen in the ``$baseline_days`` before (``fresh``) and when the
    principal first signed in from it that day. ``new_rows``: access rows (mailbox, actor,
    address, day) whose network is new to both the mailbox and the actor, once the mailbox has
    ``$min_history_days`` of history (a younger mailbox only for a network new to the tenant),
    with the time of the first sign-in from it that day (``signed_in``: later access is the
    user's own). ``coverage``: per tenant, the days its sign-ins cover. ``issued``: tokens a
    successful sign-in issued, with their user.
    """
    return f"""
access_days AS (
    SELECT tenant_id, mailbox_upn, coalesce(actor_upn, mailbox_upn) AS actor, client_ip AS ip,
           {APP_KEY} AS app_key, date_trunc('day', time) AS day
    FROM events
    WHERE mailbox_upn IS NOT NULL AND client_ip IS NOT NULL AND tenant_id IS NOT NULL
    GROUP BY ALL
),
signin_days AS (
    SELECT tenant_id, user_upn, client_ip AS ip, date_trunc('day', time) AS day,
           min(time) AS first_time
    FROM signins
    WHERE user_upn IS NOT NULL AND client_ip IS NOT NULL AND tenant_id IS NOT NULL
      AND coalesce(error_code, 0) = 0
    GROUP BY ALL
),
networks AS (
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
),
access_rows AS (
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
),
known AS (
    SELECT tenant_id, principal, key, day, min(signed_in) AS signed_in,
           lag(day) OVER (PARTITION BY tenant_id, principal, key ORDER BY day) AS previous_day
    FROM sightings GROUP BY tenant_id, principal, key, day
),
fresh AS (
    SELECT tenant_id, principal, key, day, signed_in FROM known
    WHERE previous_day IS NULL OR day - previous_day > to_days($baseline_days)
),
since AS (
    SELECT tenant_id, principal, min(day) AS since FROM known GROUP BY ALL
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
),
new_rows AS (
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
),
coverage AS (
    SELECT tenant_id, min(day) AS covered_from, max(day) AS covered_to
    FROM signin_days GROUP BY ALL
),
issued AS (
    SELECT DISTINCT unique_token_id AS token_id, user_upn FROM signins
    WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0
)"""


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
