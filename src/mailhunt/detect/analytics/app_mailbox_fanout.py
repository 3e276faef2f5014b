"""One application, token or session reads many mailboxes in a short window, unlike before.

What it detects: MailItemsAccessed records grouped by what did the reading: the application
(ClientAppId, else AppId), one token (AppAccessContext.UniqueTokenId), one Entra session
(AADSessionId) or one Exchange session (SessionId). In windows of ``fanout_window_hours`` (2;
fixed windows, and the same shifted by half a window, so a burst is not cut in two), a unit
that reads at least ``fanout_threshold`` (8) distinct mailboxes is raised when that fan-out is
new for its application: more than ``fanout_growth`` (2) times the largest fan-out any unit of
the same kind and application reached on the ``baseline_days`` (14) UTC days before the
window's day (the same day's earlier windows are not its baseline: an attack's own ramp-up is
not). So an
archiver reading every mailbox every night, through one token a night, is its own baseline, and
so is Outlook on the web read by every user of the tenant in the same hour; a familiar
application whose single token suddenly reads ten mailboxes is not. A tenant is judged once it
has ``min_history_days`` (7) of stored activity (before that every fan-out would be new). One
alert per tenant, application and UTC day.

Why: an attacker holding an application's permission (illicit consent, a stolen client secret,
full_access_as_app) or one forged token reads many mailboxes quickly; Storm-0558 read the
mailboxes of about 25 organisations' chosen users with forged tokens, one session after
another. Ordinary users read their own mailbox and one or two they are delegates of.

Severity: high when the application read with its own permission (app-only: no user, no Entra
session) or had never read more than one mailbox in a window before; medium otherwise (a new
shared-mailbox or delegate pattern, an administrator's script).

Known false positives: a backup, archiving, eDiscovery or migration product in its first week,
or reconfigured to cover many more mailboxes; an administrator running a script over every
mailbox once; a helpdesk member given access to many mailboxes.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/graph/auth-limit-mailbox-access
https://attack.mitre.org/techniques/T1114/002/
https://attack.mitre.org/techniques/T1550/001/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import APP_KEY, APP_NAMES_CTE, APP_ONLY, app_label, distinct_list

# What did the reading: each access counts under each of these it has.
_UNITS = (
    ("application", "app_key"),
    ("token", "token_id"),
    ("entra-session", "aad_session_id"),
    ("exchange-session", "session_id"),
)
_HALF_WINDOW = "to_minutes($fanout_window_hours * 30)"
_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"


def _origin(shift: int) -> str:
    """SQL: where the windows of one offset (0, or half a window later) start."""
    return f"{_ORIGIN} + {shift} * {_HALF_WINDOW}"


def _multi_units() -> str:
    """SQL: the units that ever read two or more mailboxes. Only they can fan out; a unit that
    only ever read one mailbox has a fan-out of 1 in every window it read in (most tokens and
    sessions: one user's own mailbox), which the presence CTE accounts for without windowing
    every access (issue 9's cost line). Units and mailboxes are compared by their 64-bit hashes
    (grouping a million session ids as text cost seconds); a collision can only make a unit
    look multi-mailbox, which windows it for nothing, never loses one."""
    parts = [
        f"SELECT tenant_id, app_key, '{kind}' AS kind, hash({column}) AS unit_hash FROM access "
        f"WHERE {column} IS NOT NULL GROUP BY tenant_id, app_key, hash({column}) "
        "HAVING min(mailbox_hash) <> max(mailbox_hash)"
        for kind, column in _UNITS
    ]
    return "\n    UNION ALL ".join(parts)


def _unit_slots() -> str:
    """SQL: each mailbox a multi-mailbox unit read per half window (slot); one row each."""
    parts = [
        f"SELECT a.tenant_id, a.app_key, '{kind}' AS kind, a.{column} AS unit, a.mailbox_upn, "
        f"a.slot FROM access a JOIN multi_units m ON m.kind = '{kind}' "
        f"AND m.tenant_id = a.tenant_id AND m.app_key = a.app_key "
        f"AND m.unit_hash = hash(a.{column}) GROUP BY ALL"
        for kind, column in _UNITS
    ]
    return "\n    UNION ALL ".join(parts)


def _windowed() -> str:
    """SQL: each mailbox a multi-mailbox unit read per window, for both window offsets (0 and
    half a window); one row per unit, window and mailbox. A slot lies whole in one window of
    each offset, so a window is the union of its two slots."""
    return "\n    UNION ALL ".join(
        "SELECT tenant_id, app_key, kind, unit, mailbox_upn, "
        f"time_bucket(2 * {_HALF_WINDOW}, slot, {_origin(shift)}) AS window_start "
        "FROM unit_slots GROUP BY ALL"
        for shift in (0, 1)
    )


def _presence() -> str:
    """SQL: the (tenant, application, kind, day) where some unit of the kind read a mailbox in a
    window starting that day: a fan-out of at least 1 there."""
    flags = ", ".join(f'bool_or("{kind}") AS "{kind}"' for kind, _ in _UNITS)
    return "\n        UNION ALL ".join(
        f"SELECT tenant_id, app_key, date_trunc('day', "
        f"time_bucket(2 * {_HALF_WINDOW}, slot, {_origin(shift)})) AS day, {flags} "
        "FROM slot_presence GROUP BY ALL"
        for shift in (0, 1)
    )


SQL = f"""
WITH access AS (  -- what the windows need (read by several CTEs: kept narrow)
    SELECT tenant_id, mailbox_upn, token_id, aad_session_id, session_id,
           {APP_KEY} AS app_key, hash(mailbox_upn) AS mailbox_hash,
           time_bucket({_HALF_WINDOW}, time, {_origin(0)}) AS slot
    FROM events
    WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL AND {APP_KEY} IS NOT NULL
),
tenant_since AS (
    SELECT tenant_id, min(time) AS tenant_start FROM events GROUP BY tenant_id
),
multi_units AS (
    {_multi_units()}
),
unit_slots AS (
    {_unit_slots()}
),
windowed AS (
    {_windowed()}
),
fanout AS (  -- windowed holds each mailbox once per unit and window
    SELECT tenant_id, app_key, kind, unit, window_start, count(*) AS mailboxes
    FROM windowed GROUP BY ALL
),
slot_presence AS (  -- per half window: which kinds of unit read (the application always)
    SELECT tenant_id, app_key, slot,
           {", ".join(f'bool_or({column} IS NOT NULL) AS "{kind}"' for kind, column in _UNITS)}
    FROM access GROUP BY ALL
),
present AS (
    UNPIVOT ({_presence()})
    ON {", ".join(f'"{kind}"' for kind, _ in _UNITS)} INTO NAME kind VALUE active
),
daily AS (  -- the largest fan-out of each kind of unit of each application, per UTC day
    SELECT tenant_id, app_key, kind, day, max(day_max) AS day_max FROM (
        SELECT tenant_id, app_key, kind, date_trunc('day', window_start) AS day,
               max(mailboxes) AS day_max
        FROM fanout GROUP BY ALL
        UNION ALL
        SELECT tenant_id, app_key, kind, day, 1 FROM present WHERE active
    ) GROUP BY ALL
),
candidates AS (SELECT * FROM fanout WHERE mailboxes >= $fanout_threshold),
baselined AS (  -- candidates only (few): their baseline is the days before theirs
    SELECT c.*, max(d.day_max) AS baseline_max
    FROM candidates c LEFT JOIN daily d
      ON d.tenant_id = c.tenant_id AND d.app_key = c.app_key AND d.kind = c.kind
     AND d.day < date_trunc('day', c.window_start)
     AND d.day >= date_trunc('day', c.window_start) - to_days($baseline_days)
    GROUP BY ALL
),
new_fanout AS (
    SELECT b.* FROM baselined b JOIN tenant_since t USING (tenant_id)
    WHERE b.mailboxes > $fanout_growth * coalesce(b.baseline_max, 0)
      AND b.window_start >= t.tenant_start + to_days($min_history_days)
),
units AS (  -- each flagged unit once a day, with its largest window
    SELECT tenant_id, app_key, kind, unit, date_trunc('day', window_start) AS bucket,
           max(mailboxes) AS mailboxes, coalesce(max(baseline_max), 0) AS baseline_max,
           min(window_start) AS from_time,
           max(window_start) + 2 * {_HALF_WINDOW} AS to_time
    FROM new_fanout GROUP BY ALL
),
access_rows AS (  -- the flagged units' records, read once for the evidence
    SELECT record_id, time, tenant_id, mailbox_upn, actor_upn, client_ip, app_id, token_id,
           aad_session_id, session_id, {APP_KEY} AS app_key, {APP_ONLY} AS app_only
    FROM events
    WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL AND {APP_KEY} IS NOT NULL
      AND (tenant_id, {APP_KEY}) IN (SELECT (tenant_id, app_key) FROM units)
),
evidence AS (
    SELECT u.tenant_id, u.app_key, u.bucket, u.kind, u.unit, u.mailboxes AS fanout,
           u.baseline_max, a.record_id, a.time, a.mailbox_upn, a.actor_upn, a.client_ip,
           a.app_id, a.app_only
    FROM units u JOIN access_rows a
      ON a.tenant_id = u.tenant_id AND a.app_key = u.app_key
     AND (CASE u.kind WHEN 'application' THEN a.app_key WHEN 'token' THEN a.token_id
                      WHEN 'entra-session' THEN a.aad_session_id ELSE a.session_id END) = u.unit
    WHERE a.time >= u.from_time AND a.time < u.to_time
),
{APP_NAMES_CTE}
SELECT
    CAST(to_json([tenant_id, app_key]) AS VARCHAR) AS entity,
    bucket,
    CASE WHEN bool_or(app_only) OR max(baseline_max) <= 1 THEN 'high' ELSE 'medium' END
      AS severity,
    'Application ' || {app_label("app_key", "any_value(n.app_name)")} ||
      ' read ' || max(fanout) || ' mailbox(es) within ' ||
      $fanout_window_hours || ' hour(s)' ||
      CASE WHEN bool_or(kind = 'token') THEN ' through one token' ELSE '' END ||
      CASE WHEN bool_or(app_only) THEN ' with its own permission (app-only)' ELSE '' END ||
      '; its units had read at most ' || max(baseline_max) ||
      ' mailbox(es) in a window in the ' || $baseline_days || ' days before' AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_key", "app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'largest number of mailboxes one unit (application, token, session) of '
                    || 'this application read in a ' || $fanout_window_hours ||
                    '-hour window in the ' || $baseline_days || ' days before: ' ||
                    max(baseline_max),
        new := max(fanout) || ' mailboxes read by one ' ||
               array_to_string(list_sort(list_distinct(list(kind))), '/'),
        units := list_sort(list_distinct(list(kind || ':' || unit))),
        app_only := bool_or(app_only)
    )) AS VARCHAR) AS why
FROM evidence LEFT JOIN app_names n ON n.named_app = evidence.app_key
GROUP BY tenant_id, app_key, bucket
"""

ANALYTIC = Analytic(
    id="app-mailbox-fanout",
    title="One application, token or session reads many mailboxes",
    severity="medium",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "fanout_threshold",
            int,
            8,
            "Mailboxes one application, token or session must read in a window to be judged.",
            minimum=2,
        ),
        Parameter(
            "fanout_window_hours",
            int,
            2,
            "Hours of a fan-out window (windows also start every half window).",
            minimum=1,
        ),
        Parameter(
            "fanout_growth",
            float,
            2.0,
            "How many times its application's largest earlier fan-out a window must exceed.",
            minimum=1,
        ),
        Parameter(
            "baseline_days",
            int,
            14,
            "Days of an application's fan-out a window is compared with.",
            minimum=1,
        ),
        Parameter(
            "min_history_days",
            int,
            7,
            "Days of stored activity a tenant needs before it is judged.",
            minimum=0,
        ),
    ),
)
