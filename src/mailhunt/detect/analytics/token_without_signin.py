"""A mailbox is accessed with a token that no stored sign-in issued.

What it detects: mailbox operations that carry the presented token's AppAccessContext
(MailItemsAccessed, and Send, MoveToDeletedItems and the other operations audited with it; in
the store: ``events`` rows with a mailbox and a ``token_id`` or ``aad_session_id``) whose token
matches no successful Entra ID sign-in, interactive or non-interactive, in the token's
plausible lifetime: a sign-in with that ``uniqueTokenIdentifier`` (``signins.unique_token_id``)
between ``token_lifetime_hours`` (default 24) before the access and the access, with
``clock_skew_minutes`` (default 10) allowed at both ends. Whatever the application and however
familiar it is to the mailbox. When the record names no token (no UniqueTokenId) but an Entra
session (AADSessionId), the session takes its place: a sign-in of that ``sessionId`` in the
same window. A failed sign-in issues no token and never counts as the issuer. Detections are
grouped per tenant, application (ClientAppId, else AppId) and UTC day, like
``mailbox-first-seen-app``.

Why: Storm-0558 read mail for a month with access tokens forged with a stolen signing key, so
no identity provider ever issued them and no sign-in log holds them. Joining each access to the
sign-in that should have issued its token is the one check that catches a forged token on an
application and a network the mailbox already uses; public detection content matches single
events and does not make this join.

Coverage (what is judged): only tenants and periods the stored sign-in logs cover. A tenant's
coverage is the time from its first to its last stored Entra sign-in carrying a token id (or,
for the session fallback, a session id); an access is judged when the token's issue time lies
inside it, ``clock_skew_minutes`` away from either end. The issue time is the record's
IssuedAtTime when it is plausible (within the lifetime before the access), else the access time
(so a token claiming an issue time older than any token lives is judged, and alerts). User
tokens are judged only when the tenant's stored sign-ins include non-interactive ones: most
tokens are issued by silent refreshes, so a tenant whose non-interactive sign-in log was not
exported would alert on nearly every access. A tenant with mail access but no sign-in logs, or
an access outside the covered period, raises nothing here: that blind spot is the coverage
finding's to report (issue 9, telemetry-gap), not an alert on every record. Gaps inside the
covered period (a missing day of sign-in files) are not detected here and would alert.

Service-principal (app-only) tokens: client-credential tokens have no user sign-in and no Entra
session. An access is app-only when it names no AADSessionId and its actor is not a user
principal name (UAL records the application or its service principal as UserId). App-only
tokens are judged only against service-principal sign-ins (sign-ins with no user), and only in
tenants and periods where service-principal sign-ins are stored; without them app-only access
is not judged at all. User tokens are judged against user sign-ins' coverage the same way.

Severity: high; critical when a user token no sign-in issued was used to read a mailbox other
than the token holder's own (the actor is a user principal name and not the mailbox owner):
somebody else's mail read with a token nobody signed in for. The summary also says how many of
the accesses came in an Entra session no stored sign-in ever opened (for the forged-token case
both the token and the session are unknown; a known session with an unknown token is more often
a refresh missing from the logs).

Known false positives: sign-in logs exported incompletely (a missing day, a missing
non-interactive page, throttled exports), which the coverage rule cannot see inside the covered
period; tokens living longer than ``token_lifetime_hours``: Continuous Access Evaluation gives
CAE-capable clients tokens of up to 28 hours (raise the parameter to 28 where CAE is on);
clocks of the two logs more than ``clock_skew_minutes`` apart; sign-ins stored under another
tenant (guest access: the match itself ignores the tenant, coverage does not); tokens issued by
a federated identity provider that Entra logs differently.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/entra/identity/monitoring-health/concept-sign-ins
https://learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation
https://attack.mitre.org/techniques/T1550/001/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import APP_KEY, APP_NAMES_CTE, app_label, distinct_list

_SKEW = "to_minutes($clock_skew_minutes)"
_LIFETIME = "to_hours($token_lifetime_hours)"

SQL = f"""
WITH access AS (  -- what judging needs (judged is read several times: kept narrow)
    SELECT record_id, time, tenant_id, token_id, aad_session_id,
           aad_session_id IS NULL AND NOT contains(coalesce(actor_upn, ''), '@') AS app_only,
           CASE WHEN token_issued_at BETWEEN time - {_LIFETIME} - {_SKEW} AND time + {_SKEW}
                THEN token_issued_at ELSE time END AS issue_time
    FROM events
    WHERE mailbox_upn IS NOT NULL AND (token_id IS NOT NULL OR aad_session_id IS NOT NULL)
),
entra AS (  -- sign-ins that can issue a token: user or service principal (no user)
    SELECT tenant_id, time, unique_token_id, session_id, interactive,
           coalesce(error_code, 0) = 0 AS succeeded,
           user_upn IS NULL AND user_id IS NULL AS app_only
    FROM signins
    WHERE unique_token_id IS NOT NULL OR session_id IS NOT NULL
),
coverage AS (
    SELECT tenant_id, app_only,
           min(time) FILTER (WHERE unique_token_id IS NOT NULL) AS token_from,
           max(time) FILTER (WHERE unique_token_id IS NOT NULL) AS token_to,
           min(time) FILTER (WHERE session_id IS NOT NULL) AS session_from,
           max(time) FILTER (WHERE session_id IS NOT NULL) AS session_to,
           bool_or(interactive IS DISTINCT FROM true) AS silent_logged
    FROM entra GROUP BY tenant_id, app_only
),
judged AS (
    SELECT a.*,
           coalesce(a.token_id IS NOT NULL
             AND a.issue_time BETWEEN c.token_from + {_SKEW} AND c.token_to - {_SKEW}, false)
             AS by_token,
           coalesce(NOT a.app_only AND a.aad_session_id IS NOT NULL
             AND a.issue_time BETWEEN c.session_from + {_SKEW} AND c.session_to - {_SKEW}, false)
             AS by_session,
           c.token_from, c.token_to, c.session_from, c.session_to
    FROM access a JOIN coverage c ON c.tenant_id = a.tenant_id AND c.app_only = a.app_only
    WHERE a.app_only OR c.silent_logged
),
issuers AS (SELECT * FROM entra WHERE succeeded),
-- a token whose every judged access lies in the lifetime of one successful sign-in of it is
-- issued, access by access, without judging each (most tokens: one sign-in, an hour of reads)
token_span AS (
    SELECT token_id, min(time) AS first_at, max(time) AS last_at
    FROM judged WHERE by_token GROUP BY token_id
),
tokens_issued AS (
    SELECT t.token_id FROM token_span t
    SEMI JOIN issuers s ON s.unique_token_id = t.token_id
     AND s.time BETWEEN t.last_at - {_LIFETIME} - {_SKEW} AND t.first_at + {_SKEW}
),
token_suspects AS MATERIALIZED (  -- the rest, judged access by access
    SELECT j.* FROM judged j ANTI JOIN tokens_issued t ON t.token_id = j.token_id
    WHERE j.by_token
),
unissued AS (  -- judged access no successful sign-in issued (one anti-join per key)
    SELECT j.* FROM token_suspects j
    WHERE NOT EXISTS (SELECT 1 FROM issuers s WHERE s.unique_token_id = j.token_id
                      AND s.time BETWEEN j.time - {_LIFETIME} - {_SKEW} AND j.time + {_SKEW})
    UNION ALL
    SELECT j.* FROM judged j
    WHERE NOT j.by_token AND j.by_session
      AND NOT EXISTS (SELECT 1 FROM issuers s WHERE s.session_id = j.aad_session_id
                      AND s.time BETWEEN j.time - {_LIFETIME} - {_SKEW} AND j.time + {_SKEW})
),
known_sessions AS (SELECT DISTINCT session_id FROM issuers WHERE session_id IS NOT NULL),
unissued_access AS (  -- the rest of each unissued access's columns, for the few there are
    SELECT u.*, e.mailbox_upn, e.actor_upn, e.client_ip, e.app_id,
           coalesce({APP_KEY}, '-') AS app_key
    FROM unissued u JOIN events e ON e.record_id = u.record_id
),
evidence AS (
    SELECT j.*, date_trunc('day', j.time) AS bucket,
           j.aad_session_id IS NULL
             OR j.aad_session_id NOT IN (SELECT session_id FROM known_sessions) AS session_unknown,
           NOT j.app_only AND contains(coalesce(j.actor_upn, ''), '@')
             AND j.actor_upn <> j.mailbox_upn AS not_own
    FROM unissued_access j
),
{APP_NAMES_CTE}
SELECT
    CAST(to_json([tenant_id, app_key]) AS VARCHAR) AS entity,  -- unambiguous: a JSON array
    bucket,
    CASE WHEN bool_or(not_own) THEN 'critical' ELSE 'high' END AS severity,
    'Application ' || {app_label("app_key", "any_value(n.app_name)")} ||
      ' read ' || count(DISTINCT mailbox_upn) || ' mailbox(es) in ' ||
      count(DISTINCT record_id) || ' access(es) with ' ||
      count(DISTINCT coalesce(token_id, aad_session_id)) ||
      ' token(s) no stored sign-in issued' ||
      CASE WHEN bool_or(app_only)
           THEN ' (app-only: checked against service-principal sign-ins)' ELSE '' END ||
      CASE WHEN bool_or(session_unknown AND NOT app_only)
           THEN '; ' || count(DISTINCT record_id) FILTER (WHERE session_unknown AND NOT app_only)
                || ' in a session no sign-in opened'
           ELSE '' END ||
      CASE WHEN bool_or(not_own) THEN '; read as someone other than the mailbox owner'
           ELSE '' END AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("nullif(app_key, '-')", "app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    to_json(struct_pack(
        baseline := struct_pack(
            compared_with := CASE
                WHEN bool_and(app_only) THEN 'service-principal sign-ins'
                WHEN bool_or(app_only) THEN 'user and service-principal sign-ins'
                ELSE 'user sign-ins, interactive and non-interactive' END,
            signins_from := min(coalesce(token_from, session_from)),
            signins_to := max(coalesce(token_to, session_to)),
            token_lifetime_hours := $token_lifetime_hours,
            clock_skew_minutes := $clock_skew_minutes
        ),
        new := struct_pack(
            tokens := {distinct_list("coalesce(token_id, aad_session_id)")}[1:20],
            token_count := count(DISTINCT coalesce(token_id, aad_session_id)),
            accesses := count(DISTINCT record_id),
            in_unknown_session := count(DISTINCT record_id)
                FILTER (WHERE session_unknown AND NOT app_only)
        )
    )) AS why
FROM evidence LEFT JOIN app_names n ON n.named_app = evidence.app_key
GROUP BY tenant_id, app_key, bucket
"""

ANALYTIC = Analytic(
    id="token-without-signin",
    title="Mailbox accessed with a token no sign-in issued",
    severity="high",
    technique="T1550.001",
    techniques=("T1550.001", "T1114.002"),
    doc=__doc__ or "",
    sql=SQL,
    tables=("events", "signins"),
    parameters=(
        Parameter(
            "token_lifetime_hours",
            int,
            24,
            "Hours a token may be used after the sign-in that issued it (28 where CAE is on).",
            minimum=1,
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
