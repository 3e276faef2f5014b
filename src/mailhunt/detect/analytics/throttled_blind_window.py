"""A mailbox's read auditing was throttled: 24 hours of unaudited access.

What it detects: MailItemsAccessed records with ``IsThrottled=True`` (``events.throttled``).
Exchange Online writes one when a mailbox produces more than 1,000 MailItemsAccessed records in
24 hours, then stops auditing Bind access (single messages read) to that mailbox for the next
24 hours; Sync records (whole folders downloaded) go on. Each such record opens a blind window,
declared once as the store's ``blind_windows`` view (mailbox, start, end, reason, the record):
the investigation presumes every message of the mailbox read in it. One alert per tenant,
mailbox and UTC day of the window's start.

Why: bulk reading is how mailbox espionage ends (Storm-0558 pulled whole folders), and a reader
fast enough to trip throttling also blinds the log that would show what it read. The window is
the part of the intrusion the audit log can no longer tell; the alert says so rather than let
an investigator read the silence as "nothing read".

Severity: medium by default: throttling alone happens to a few heavy mailboxes (less than 1% of
mailboxes, Microsoft says). Raised when the session that tripped it is already suspicious. The
throttled record's session is every access sharing one of its keys (the token's
UniqueTokenId, the Entra AADSessionId, the Exchange SessionId, or the client application with
the client IP) from ``session_lookback_hours`` (24) before the window to its end: critical
when one of them carried a token no stored sign-in issued (the token-level rule of
token-without-signin, judged only where sign-in logs cover the tenant); high when one read a
mailbox through an application new to that mailbox (its first read of the mailbox came at
least ``min_history_days`` after the mailbox's first stored activity and at most
``baseline_days`` before the access).

Known false positives: mailboxes read heavily by legitimate tools (eDiscovery, migration,
backup or archiving products that bind each message, a user's client re-indexing a large
mailbox): medium, and their sessions use known applications and issued tokens. A mailbox whose
throttling started before the stored period shows no window here.

References:
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema#exchange-mailbox-schema
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://attack.mitre.org/techniques/T1114/002/
https://attack.mitre.org/techniques/T1562/008/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import (
    APP_KEY,
    APP_NAMES_CTE,
    app_new_to_mailbox,
    distinct_list,
    mailbox_app_first_read_ctes,
    unissued_tokens_ctes,
)

# The keys an access shares with others of its session (each NULL when the record lacks it).
_KEYS = (
    ("token", "token_id"),
    ("entra-session", "aad_session_id"),
    ("exchange-session", "session_id"),
    ("client", "app_key || ' from ' || client_ip"),
)


def _keys_of(source: str, columns: str) -> str:
    """SQL: one row per (key kind, key) of each row of ``source`` that has it."""
    parts = [
        f"SELECT {columns}, '{kind}' AS kind, {expr} AS key FROM {source} WHERE {expr} IS NOT NULL"
        for kind, expr in _KEYS
    ]
    return "\n    UNION ALL ".join(parts)


def _in_keys(kind: str, expr: str) -> str:
    return f"{expr} IN (SELECT key FROM throttle_keys WHERE kind = '{kind}')"


_RELATED = " OR ".join(_in_keys(kind, expr) for kind, expr in _KEYS)

SQL = f"""
WITH throttles AS (
    SELECT w.tenant_id, w.mailbox_upn, w.window_start, w.window_end, w.reason,
           e.record_id AS throttled_id, e.token_id, e.aad_session_id, e.session_id,
           e.client_ip, {APP_KEY} AS app_key
    FROM blind_windows w JOIN events e ON e.record_id = w.record_id
),
throttle_keys AS (
    {_keys_of("throttles", "tenant_id, throttled_id, window_start, window_end")}
),
related AS (  -- accesses sharing a key with a throttled record (semi-joins on each key)
    SELECT * FROM (
        SELECT record_id, time, tenant_id, mailbox_upn, actor_upn, client_ip, app_id, token_id,
               aad_session_id, session_id, {APP_KEY} AS app_key
        FROM events WHERE mailbox_upn IS NOT NULL
    ) WHERE {_RELATED}
),
related_tokens AS (SELECT DISTINCT tenant_id, token_id FROM related WHERE token_id IS NOT NULL),
related_mailboxes AS (SELECT DISTINCT tenant_id, mailbox_upn FROM related),
{unissued_tokens_ctes("related_tokens")},
{mailbox_app_first_read_ctes("related_mailboxes")},
flagged AS (
    SELECT r.*, u.token_id IS NOT NULL AS token_not_issued,
           {app_new_to_mailbox("f.first_read", "s.mailbox_since", "r.time")} AS app_new
    FROM related r
    LEFT JOIN unissued_tokens u ON u.tenant_id = r.tenant_id AND u.token_id = r.token_id
    LEFT JOIN mailbox_app_first_read f
      ON f.tenant_id = r.tenant_id AND f.mailbox_upn = r.mailbox_upn AND f.app_key = r.app_key
    LEFT JOIN mailbox_start s ON s.tenant_id = r.tenant_id AND s.mailbox_upn = r.mailbox_upn
),
session AS (  -- each throttled record's session: accesses sharing a key, near the window
    SELECT DISTINCT k.throttled_id, f.*
    FROM ({_keys_of("flagged", "*")}) f
    JOIN throttle_keys k ON k.tenant_id = f.tenant_id AND k.kind = f.kind AND k.key = f.key
    WHERE f.time BETWEEN k.window_start - to_hours($session_lookback_hours) AND k.window_end
),
judged AS (
    SELECT throttled_id,
           bool_or(token_not_issued) AS token_not_issued,
           bool_or(app_new) AS app_new,
           count(DISTINCT record_id) FILTER (WHERE token_not_issued) AS unissued_accesses,
           {distinct_list("CASE WHEN app_new THEN app_key END")} AS new_apps,
           list(DISTINCT record_id) FILTER (WHERE token_not_issued OR app_new) AS suspicious_ids,
           {distinct_list("actor_upn")} AS actors,
           {distinct_list("client_ip")} AS ips,
           {distinct_list("app_key", "app_id")} AS apps,
           count(DISTINCT record_id) AS session_accesses
    FROM (SELECT DISTINCT ON (throttled_id, record_id) * FROM session)
    GROUP BY throttled_id
),
{APP_NAMES_CTE},
windows AS (
    SELECT t.*, date_trunc('day', t.window_start) AS bucket,
           coalesce(j.token_not_issued, false) AS token_not_issued,
           coalesce(j.app_new, false) AS app_new,
           coalesce(j.unissued_accesses, 0) AS unissued_accesses,
           coalesce(j.new_apps, []) AS new_apps,
           coalesce(j.suspicious_ids, []) AS suspicious_ids,
           coalesce(j.actors, []) AS actors, coalesce(j.ips, []) AS ips,
           coalesce(j.apps, []) AS apps, coalesce(j.session_accesses, 0) AS session_accesses,
           n.app_name
    FROM throttles t
    LEFT JOIN judged j USING (throttled_id)
    LEFT JOIN app_names n ON n.named_app = t.app_key
)
SELECT
    CAST(to_json([tenant_id, mailbox_upn]) AS VARCHAR) AS entity,
    bucket,
    CASE WHEN bool_or(token_not_issued) THEN 'critical'
         WHEN bool_or(app_new) THEN 'high'
         ELSE 'medium' END AS severity,
    'Read auditing of mailbox ' || mailbox_upn || ' was throttled (IsThrottled=True) at ' ||
      strftime(min(window_start), '%Y-%m-%d %H:%M UTC') ||
      ': messages bound until ' || strftime(max(window_end), '%Y-%m-%d %H:%M UTC') ||
      ' were not audited and every message of the mailbox is presumed read' ||
      CASE WHEN bool_or(token_not_issued)
           THEN '; the throttled session used a token no stored sign-in issued (' ||
                max(unissued_accesses) || ' access(es))'
           ELSE '' END ||
      CASE WHEN bool_or(app_new)
           THEN '; the throttled session read through an application new to the mailbox (' ||
                array_to_string(list_sort(list_distinct(flatten(list(new_apps)))), ', ') || ')'
           ELSE '' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    list_sort(list_distinct(flatten(list(actors)))) AS users,
    list_sort(list_distinct(flatten(list(apps)) || list(app_key))) AS app_ids,
    list_sort(list_distinct(flatten(list(ips)) || list(client_ip))) AS client_ips,
    min(window_start) AS first_seen,
    max(window_start) AS last_seen,
    list_sort(list_distinct(list(throttled_id) || flatten(list(suspicious_ids)))) AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'MailItemsAccessed Bind auditing of the mailbox, which Exchange throttles '
                    || 'after more than 1,000 records in 24 hours',
        new := 'throttled: Bind access unaudited from ' || min(window_start)::VARCHAR ||
               ' to ' || max(window_end)::VARCHAR || '; every message presumed read',
        windows := list(struct_pack(start := window_start, "end" := window_end,
                                    record_id := throttled_id, reason := reason)),
        session_accesses := max(session_accesses),
        token_not_issued_accesses := max(unissued_accesses),
        apps_new_to_mailbox := list_sort(list_distinct(flatten(list(new_apps)))),
        throttled_app := any_value(app_key),
        throttled_app_name := any_value(app_name)
    )) AS VARCHAR) AS why
FROM windows
GROUP BY tenant_id, mailbox_upn, bucket
"""

ANALYTIC = Analytic(
    id="throttled-blind-window",
    title="Mailbox read auditing throttled: 24 hours unaudited",
    severity="medium",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "session_lookback_hours",
            int,
            24,
            "Hours before a throttling window in which the throttled session's accesses are "
            "judged.",
            minimum=0,
        ),
        Parameter(
            "baseline_days",
            int,
            14,
            "Days an access is compared with: an application that read the mailbox in them is "
            "not new.",
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
            "clock_skew_minutes",
            int,
            10,
            "Minutes allowed between the audit log's and the sign-in log's clocks.",
            minimum=0,
        ),
    ),
)
