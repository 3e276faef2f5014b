"""The SQL of the timeline (see :mod:`mailhunt.investigate.timeline`): one statement per
selector, assembled from fixed pieces of this module; the selector's value, the time range, the
inactivity gap and a network's bounds are bound parameters (``$value``, ``$since``, ``$until``,
``$gap_minutes``, ``$low``, ``$high``, ``$v4``), never text of the statement.

Shape of the statement: ``base`` is every event and sign-in in common columns; ``history`` the
records of the principals (mailboxes or users) the selected records concern, over the whole
store; ``marked`` adds, in one pass of window functions, which of each record's address,
application, client, country and ASN the principal had never shown before; ``selected`` keeps
the records the selector names within the range; ``sessions`` groups them.
"""

from __future__ import annotations

from mailhunt.alerts.suppressions import ip_keys_sql
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    APP_NAMES_CTE,
    COMMON_FIRST_PARTY_CLIENTS,
    MICROSOFT_TOOL_CLIENTS,
    addresses,
    guid_list,
)

# Operations of each kind of row (events); a sign-in is its own kind.
SEND_OPERATIONS = ("Send", "SendAs", "SendOnBehalf")
INBOX_RULE_OPERATIONS = (
    "New-InboxRule",
    "Set-InboxRule",
    "Remove-InboxRule",
    "Enable-InboxRule",
    "Disable-InboxRule",
    "UpdateInboxRules",
)
ADMIN_RECORD_TYPES = (1, 8)  # ExchangeAdmin, AzureActiveDirectory


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _known_apps() -> str:
    """CTE: Microsoft's own clients by id, with the names Microsoft gives them (fixed text of
    this code base: ids checked to be GUIDs, quotes in names doubled)."""
    known = {**COMMON_FIRST_PARTY_CLIENTS, **MICROSOFT_TOOL_CLIENTS}
    guid_list(sorted(known))
    pairs = ", ".join(f"('{app}', '{_quoted(name)}')" for app, name in sorted(known.items()))
    return f"known_apps AS (SELECT * FROM (VALUES {pairs}) AS k(known_app, known_name))"


def _names(values: tuple[str, ...]) -> str:
    """A SQL list of fixed names of this module (letters and dashes only)."""
    return ", ".join(f"'{value}'" for value in values)


_KIND = f"""CASE
        WHEN operation = 'MailItemsAccessed' THEN 'mail_access'
        WHEN operation IN ({_names(SEND_OPERATIONS)}) THEN 'send'
        WHEN operation IN ({_names(INBOX_RULE_OPERATIONS)}) THEN 'inbox_rule'
        WHEN workload = 'AzureActiveDirectory'
          OR record_type IN ({", ".join(map(str, ADMIN_RECORD_TYPES))})
          OR regexp_full_match(coalesce(operation, ''), '[A-Z][a-z]+-[A-Za-z0-9]+')
        THEN 'admin'
        ELSE 'other' END"""

# Every event and sign-in in the columns a timeline row shows. tbl orders a sign-in before the
# access it made possible when both carry one time. owner: whose record it is (the mailbox
# acted on, else the actor; the user who signed in).
_BASE = f"""base AS (
    SELECT 1 AS tbl, record_id, time, tenant_id, {_KIND} AS kind, operation, result,
           actor_upn AS actor, mailbox_upn AS mailbox, coalesce(mailbox_upn, actor_upn) AS owner,
           client_ip, {APP_KEY} AS app_id, lower(app_id) AS resource_app,
           lower(client_app_id) AS client_app, user_agent AS client,
           aad_session_id AS entra_session, session_id AS exchange_session, access_type,
           throttled, object_id, parameters, message_items, item_count,
           NULL::VARCHAR AS signin_app_name, NULL::VARCHAR AS signin_country, source
    FROM events
    UNION ALL
    SELECT 0, record_id, time, tenant_id, 'signin',
           CASE WHEN interactive THEN 'Sign-in (interactive)'
                WHEN NOT interactive THEN 'Sign-in (non-interactive)' ELSE 'Sign-in' END,
           CASE WHEN coalesce(error_code, 0) = 0 THEN 'Success'
                ELSE 'Failure ' || error_code || coalesce(': ' || failure_reason, '') END,
           user_upn, NULL, user_upn, client_ip, app_id, NULL, lower(app_id), user_agent,
           session_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, app_name, country, source
    FROM signins
)"""

# The cmdlets and directory changes that name the mailbox (by address) in their object or one
# of their parameters, when the record names no mailbox of its own.
_NAMES_MAILBOX = (
    f"list_contains({addresses('object_id')}, $value) "
    f"OR list_contains(flatten(list_transform(coalesce(parameters, []), "
    f"lambda p: {addresses('p.value')})), $value)"
)

# What each selector selects (over base), and whose history each selected record is judged
# against.
ABOUT = {
    "mailbox": f"""CASE WHEN tbl = 0 THEN actor = $value
                 WHEN mailbox IS NOT NULL THEN mailbox = $value
                 ELSE actor = $value OR {_NAMES_MAILBOX} END""",
    "user": "actor = $value",
    "ip": "client_ip IN (SELECT ip FROM matching_ips)",
    "app": "(app_id = $value OR resource_app = $value OR client_app = $value)",
}

# The addresses inside the network $low .. $high (of the family $v4): each distinct address of
# the store parsed once.
_MATCHING_IPS = f"""store_ips AS (
    SELECT DISTINCT client_ip AS k, client_ip AS ip FROM events WHERE client_ip IS NOT NULL
    UNION SELECT DISTINCT client_ip, client_ip FROM signins WHERE client_ip IS NOT NULL
),
matching_ips AS (
    SELECT k AS ip FROM ({ip_keys_sql("SELECT k, ip FROM store_ips")})
    WHERE ip_key BETWEEN CAST($low AS UHUGEINT) AND CAST($high AS UHUGEINT)
      AND ((ip_key >> 32) = 65535) = $v4
)"""


def _history(kind: str) -> str:
    """The records the principals of the selected records own, over the whole store: for a
    mailbox or a user, what the selector names (principal: the selector's value); for an address
    or an application, every record of the owners of the selected records."""
    about = ABOUT[kind]
    if kind in ("mailbox", "user"):
        return f"""history AS (
    SELECT *, $value AS principal, true AS about FROM base WHERE {about}
)"""
    return f"""flagged AS (SELECT *, coalesce({about}, false) AS about FROM base),
principals AS (SELECT DISTINCT owner FROM flagged WHERE about AND owner IS NOT NULL),
history AS (
    SELECT *, owner AS principal FROM flagged
    WHERE about OR owner IN (SELECT owner FROM principals)
)"""


def _first(entity: str, column: str) -> str:
    """SQL: the entity's name when the record is among the principal's first to show it."""
    return (
        f"CASE WHEN principal IS NOT NULL AND {column} IS NOT NULL AND time = "
        f"min(time) OVER (PARTITION BY principal, {column}) THEN '{entity}' END"
    )


_ENTITIES = (
    ("ip", "client_ip"),
    ("app", "app_id"),
    ("client", "client"),
    ("country", "country"),
    ("asn", "asn"),
)

_MARKED = f"""enriched AS (
    SELECT h.*, coalesce(i.country, h.signin_country) AS country, i.asn, i.as_org
    FROM history h LEFT JOIN ip_info i ON i.ip = h.client_ip
),
marked AS (
    SELECT *, list_filter([{", ".join(_first(e, c) for e, c in _ENTITIES)}],
                          lambda x: x IS NOT NULL) AS new_entities
    FROM enriched
)"""

_SELECTED = """selected AS (
    SELECT * FROM marked
    WHERE about AND ($since IS NULL OR time >= $since) AND ($until IS NULL OR time < $until)
)"""

# Sessions: an Entra session id, else an Exchange session id, else (principal, address,
# application, client) cut where the records pause longer than $gap_minutes.
_SESSIONS = """sessioned AS (
    SELECT *, CASE WHEN entra_session IS NOT NULL THEN 'entra'
                   WHEN exchange_session IS NOT NULL THEN 'exchange'
                   ELSE 'inferred' END AS session_kind,
           coalesce(entra_session, exchange_session) AS session_id,
           lag(time) OVER (PARTITION BY entra_session IS NULL AND exchange_session IS NULL,
                           principal, client_ip, app_id, client
                           ORDER BY time, tbl, record_id) AS previous_time
    FROM selected
),
bursts AS (
    SELECT *, sum(CASE WHEN previous_time IS NULL
                            OR time - previous_time > to_minutes($gap_minutes) THEN 1 ELSE 0 END)
                  OVER (PARTITION BY session_kind, principal, client_ip, app_id, client
                        ORDER BY time, tbl, record_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM sessioned
),
keyed AS (
    SELECT *, CASE WHEN session_kind = 'inferred'
                   THEN to_json([principal, client_ip, app_id, client, burst::VARCHAR])::VARCHAR
                   ELSE to_json([session_kind, session_id])::VARCHAR END AS session_key
    FROM bursts
),
numbered AS (
    SELECT *, dense_rank() OVER (ORDER BY session_start, session_key) AS session
    FROM (SELECT *, min(time) OVER (PARTITION BY session_key) AS session_start FROM keyed)
)"""

# The row as the timeline shows it (TimelineRow's fields, in order).
ROW_COLUMNS = """n.time, n.kind, n.operation, n.result, n.tenant_id, n.actor, n.mailbox,
    n.client_ip, n.country, n.asn, n.as_org, n.app_id,
    coalesce(n.signin_app_name, names.app_name, known.known_name) AS app_name, n.client,
    n.access_type,
    CASE WHEN n.kind = 'mail_access' THEN
        CASE WHEN len(n.message_items) > 0
             THEN len(list_filter(n.message_items, lambda i: i.internet_message_id IS NOT NULL))
             ELSE coalesce(n.item_count, 0) END END AS messages,
    list_sort(list_distinct(list_filter(
        list_transform(coalesce(n.message_items, []), lambda i: i.folder_path),
        lambda f: f IS NOT NULL))) AS folders,
    n.throttled, n.object_id, n.session, n.session_kind, n.session_id, n.principal,
    n.new_entities, n.record_id, n.source"""


def timeline_sql(kind: str) -> str:
    """The statement giving the selected records with their session, for selector ``kind``."""
    ctes = [APP_NAMES_CTE, _known_apps(), _BASE]
    if kind == "ip":
        ctes.append(_MATCHING_IPS)
    ctes += [_history(kind), _MARKED, _SELECTED, _SESSIONS]
    joined = ",\n".join(ctes)
    return f"""WITH {joined}
SELECT {ROW_COLUMNS}
FROM numbered n
LEFT JOIN app_names names ON names.named_app = n.app_id
LEFT JOIN known_apps known ON known.known_app = lower(n.app_id)
ORDER BY n.time, n.tbl, n.record_id"""


def _listed(column: str) -> str:
    return f"list_sort(list_distinct(list({column}) FILTER (WHERE {column} IS NOT NULL)))"


# The rows, in time order (a sign-in before the access it made possible), from the temp table
# {rows} holding the statement's rows.
ROWS_SQL = "SELECT * FROM {rows} ORDER BY time, kind <> 'signin', record_id"

# One row per session (Session's fields, in order) over the rows the statement above gave,
# held in the temp table {rows}.
SESSIONS_SQL = f"""SELECT session, any_value(session_kind), any_value(session_id), min(time),
    max(time), count(*), {_listed("principal")}, {_listed("client_ip")}, {_listed("country")},
    {_listed("asn")}, {_listed("app_id")}, {_listed("app_name")}, {_listed("client")},
    {_listed("kind")}, coalesce(sum(messages), 0),
    list_sort(list_distinct(flatten(list(new_entities))))
FROM {{rows}} GROUP BY session ORDER BY session"""
