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
UNISSUED_TOKENS_CTE = f"""presented_tokens AS (
    SELECT tenant_id, token_id, min(time) AS first_used, bool_and({APP_ONLY}) AS app_only
    FROM events WHERE token_id IS NOT NULL AND mailbox_upn IS NOT NULL
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
MAILBOX_APP_FIRST_READ_CTE = f"""mailbox_app_first_read AS (
    SELECT tenant_id, mailbox_upn, {APP_KEY} AS app_key, min(time) AS first_read
    FROM events
    WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL AND {APP_KEY} IS NOT NULL
    GROUP BY ALL
),
mailbox_start AS (
    SELECT tenant_id, mailbox_upn, min(time) AS mailbox_since
    FROM events WHERE mailbox_upn IS NOT NULL GROUP BY ALL
)"""


def app_new_to_mailbox(first_read: str, since: str, at: str) -> str:
    """SQL: true when the application whose first read of the mailbox is ``first_read`` was new
    to it at ``at`` (the mailbox's activity starting at ``since``; see
    MAILBOX_APP_FIRST_READ_CTE)."""
    return (
        f"coalesce({first_read} >= {since} + to_days($min_history_days) "
        f"AND {at} - {first_read} <= to_days($baseline_days), false)"
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
