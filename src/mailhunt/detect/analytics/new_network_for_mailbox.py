"""A mailbox is read from a network that neither it nor its reader used, and nobody signed in
from there.

What it detects: mail access (``events`` rows with a mailbox: MailItemsAccessed, Send,
MoveToDeletedItems, ...) from a network new to both the mailbox and the account acting on it
(the actor: the owner, a delegate, an application), and successful sign-ins of a user from a
hosting, Tor or proxy network new to them. A network is known to a mailbox or a user when, in
the ``baseline_days`` (default 14) before that UTC day, the mailbox was read from it, the
account read any mailbox from it, or the user signed in successfully from it. With IP
enrichment (``mailhunt detect --geoip``: ip_info) a network is its autonomous system (ASN) for
access networks (homes, offices, mobile carriers: addresses rotate inside the ASN, and a /24 of
the same ISP is not new) and its /24 (IPv4) or /48 (IPv6) prefix for hosting, VPN, Tor and
proxy networks (anybody can rent an address there: only the prefix can be the user's own); the
country is a second key (a known ASN in a new country is new). Without enrichment every address
is judged by its prefix and the summary says enrichment is off. Detections are grouped per
tenant, network and UTC day: one intruding server reading four mailboxes is one alert.

Access counts only when it came before any sign-in of the owner or actor from that network on
that day (``clock_skew_minutes`` allowed, default 10): a person who signs in from a hotel, a new
phone's carrier or a VPN and then reads mail issued their own tokens there, which is what
authentication is for (the traveller, a new device, home and office addresses that change,
VPN egress all look like that). A forged token (Storm-0558), or a token stolen and replayed
from the thief's own servers, reads with no sign-in from that network. A mailbox is judged once
it has ``min_history_days`` (default 7) of stored activity; a younger one (a new employee) only
for a network new to the whole tenant.

Why: Storm-0558 read Outlook mail from rented infrastructure with forged tokens through client
applications the mailboxes already used; the network is what such an intrusion cannot borrow
from the victim. Business email compromise with stolen session cookies (AiTM) replays them from
the attacker's servers too.

Severity: one point each for a hosting, VPN, Tor or proxy network, a token no stored sign-in
issued, and access by someone other than the mailbox owner (not the owner's own client):
critical with two or more, high with one, medium with none (a new network, in a tenant whose
sign-in logs cover the day, with no sign-in from it: a replayed token or a gap in the logs). In a
tenant or on a day no stored sign-in covers, nobody's sign-in can vouch for a network, so the
owner reading from a residential or unknown network is not raised (a trip cannot be told from an
intrusion there; the coverage finding says the tenant is blind); one point or more still raises.
A successful sign-in from a new hosting, Tor or proxy network is medium (a VPN the user chose is
not raised on its own sign-in; mail read through it without one still is).

Known false positives: sign-in logs exported incompletely (a missing non-interactive page: the
access has no sign-in to vouch for it); clients whose mail access and sign-in leave by different
paths (IPv6 sign-in, IPv4 mail: the same ASN with enrichment, two prefixes without it); mobile
clients roaming onto a new network with a token issued on the previous one; corporate proxies
or cloud security gateways egressing from hosting ranges (add their ASN to the known list by
suppressing the network).

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/entra/identity/monitoring-health/concept-sign-ins
https://dev.maxmind.com/geoip/docs/databases
https://attack.mitre.org/techniques/T1114/002/
https://attack.mitre.org/techniques/T1550/001/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import APP_KEY, NETWORK, distinct_list, network_label

_SKEW = "to_minutes($clock_skew_minutes)"

SQL = f"""
WITH {NETWORK.ctes()},
access_evidence AS (
    SELECT e.record_id, e.time, e.tenant_id, e.mailbox_upn, e.actor_upn, e.client_ip,
           e.app_id, {APP_KEY} AS app_key, r.day AS bucket, r.new_keys, n.*,
           coalesce(e.actor_upn, e.mailbox_upn) <> e.mailbox_upn AS not_own,
           e.token_id IS NOT NULL AND c.tenant_id IS NOT NULL
             AND e.token_id NOT IN (SELECT token_id FROM issued) AS unissued,
           c.tenant_id IS NOT NULL AS covered, false AS is_signin
    FROM events e
    JOIN new_rows r
      ON r.tenant_id = e.tenant_id AND r.mailbox_upn = e.mailbox_upn
     AND r.actor = coalesce(e.actor_upn, e.mailbox_upn) AND r.ip = e.client_ip
     AND r.day = date_trunc('day', e.time)
    JOIN networks n ON n.ip = e.client_ip
    LEFT JOIN coverage c
      ON c.tenant_id = e.tenant_id AND r.day BETWEEN c.covered_from AND c.covered_to
    WHERE (r.signed_in IS NULL OR e.time < r.signed_in - {_SKEW})
      -- an application with its own permission on a token its own service-principal sign-in
      -- issued (a backup product's new cloud region): app-mailbox-fanout's and
      -- consent-then-mail-access's to judge; an app-only token no sign-in issued stays here
      AND NOT coalesce(e.aad_session_id IS NULL
                       AND NOT contains(coalesce(e.actor_upn, ''), '@')
                       AND e.token_id IN (SELECT token_id FROM issued WHERE user_upn IS NULL),
                       false)
),
signin_rows AS (
    SELECT s.tenant_id, s.user_upn, s.ip, s.day, list_sort(list(s.key)) AS new_keys
    FROM (
        SELECT s.*, unnest(n.keys) AS key FROM signin_days s JOIN networks n ON n.ip = s.ip
        WHERE n.risky AND n.network_kind <> 'vpn'
    ) s
    JOIN fresh f
      ON f.tenant_id = s.tenant_id AND f.principal = s.user_upn AND f.key = s.key
     AND f.day = s.day
    JOIN since m ON m.tenant_id = s.tenant_id AND m.principal = s.user_upn
    WHERE s.day - m.since >= to_days($min_history_days)
    GROUP BY ALL
),
signin_evidence AS (
    SELECT s.record_id, s.time, s.tenant_id, NULL::VARCHAR AS mailbox_upn,
           s.user_upn AS actor_upn, s.client_ip, s.app_id, s.app_id AS app_key,
           r.day AS bucket, r.new_keys, n.*, false AS not_own, false AS unissued,
           true AS covered, true AS is_signin
    FROM signins s
    JOIN signin_rows r
      ON r.tenant_id = s.tenant_id AND r.user_upn = s.user_upn AND r.ip = s.client_ip
     AND r.day = date_trunc('day', s.time)
    JOIN networks n ON n.ip = s.client_ip
    WHERE coalesce(s.error_code, 0) = 0
),
evidence AS (
    SELECT u.*, {network_label("u")} AS label,
           CASE WHEN is_signin THEN 2
                ELSE 2 + risky::INTEGER + unissued::INTEGER + not_own::INTEGER END AS rank
    FROM (SELECT * FROM access_evidence UNION ALL BY NAME SELECT * FROM signin_evidence) u
    WHERE is_signin OR covered OR risky OR not_own
)
SELECT
    CAST(to_json([tenant_id, net]) AS VARCHAR) AS entity,  -- unambiguous: a JSON array
    bucket,
    ['medium', 'high', 'critical'][least(max(rank), 4) - 1] AS severity,
    'Network ' || any_value(label) || ' was new to ' ||
      CASE WHEN bool_or(NOT is_signin)
           THEN count(DISTINCT mailbox_upn) || ' mailbox(es) and their reader(s), and no '
                || 'sign-in of theirs came from it before ' ||
                count(DISTINCT record_id) FILTER (WHERE NOT is_signin) || ' access(es)'
           ELSE '' END ||
      CASE WHEN bool_or(is_signin)
           THEN CASE WHEN bool_or(NOT is_signin) THEN '; ' ELSE '' END ||
                count(DISTINCT actor_upn) FILTER (WHERE is_signin) || ' user(s), who signed in '
                || 'from it ' || count(DISTINCT record_id) FILTER (WHERE is_signin) || ' time(s)'
           ELSE '' END ||
      CASE WHEN bool_or(unissued)
           THEN '; ' || count(DISTINCT record_id) FILTER (WHERE unissued) ||
                ' with a token no stored sign-in issued'
           ELSE '' END ||
      CASE WHEN bool_or(not_own)
           THEN '; ' || count(DISTINCT record_id) FILTER (WHERE not_own) ||
                ' by someone other than the mailbox owner'
           ELSE '' END ||
      CASE WHEN bool_or(NOT covered) THEN '; no stored sign-in covers that day' ELSE '' END
      AS summary,
    {distinct_list("tenant_id")} AS tenant_ids,
    {distinct_list("mailbox_upn")} AS mailboxes,
    {distinct_list("actor_upn")} AS users,
    {distinct_list("app_key", "app_id")} AS app_ids,
    {distinct_list("client_ip")} AS client_ips,
    min(time) AS first_seen,
    max(time) AS last_seen,
    {distinct_list("record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'networks the mailbox and its reader used, and the users signed in from, '
                    || 'in the ' || $baseline_days || ' days before (ASN for access networks, '
                    || '/24 or /48 prefix otherwise; country)',
        new := list_sort(list_distinct(flatten(list(new_keys)))),
        network := net,
        network_kind := any_value(network_kind),
        asn := any_value(asn),
        as_org := any_value(as_org),
        enrichment := bool_or(enriched),
        accesses := count(DISTINCT record_id) FILTER (WHERE NOT is_signin),
        signins := count(DISTINCT record_id) FILTER (WHERE is_signin),
        tokens_no_signin_issued := count(DISTINCT record_id) FILTER (WHERE unissued),
        not_owner := count(DISTINCT record_id) FILTER (WHERE not_own),
        signin_coverage := bool_and(covered)
    )) AS VARCHAR) AS why
FROM evidence
GROUP BY tenant_id, net, bucket
"""

ANALYTIC = Analytic(
    id="new-network-for-mailbox",
    title="Mailbox read from a network new to it, with no sign-in from there",
    severity="high",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    shared=(NETWORK,),
    tables=("events", "signins", "ip_info"),
    parameters=(
        Parameter(
            "baseline_days",
            int,
            14,
            "Days an access is compared with: a network used in them is not new.",
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
