"""The same actor behind alerts in several tenants: one campaign.

What it detects: alerts of the other analytics, in ``min_tenants`` (2) or more tenants, whose
evidence records share something only the actor's own tooling would: the client address, the
address's network (its /24, or /48 for IPv6) when several of its addresses are used, the client
application (ClientAppId, else AppId) or the client fingerprint (the user agent or
ClientInfoString together with that application). Shared things that link alerts are joined
transitively (alerts sharing an address with alerts sharing an application with ...) into one
campaign, raised as an alert of its own whose evidence is the member alerts' records that carry
one of the shared things (not their other records: an alert may cite another intruder's records
beside the actor's — a fan-out of one application, two actors' reads in one mailbox — and the
campaign must not claim them, or the other intruder's incident would be told the actor was seen
elsewhere). It works on alerts, not raw events, so it runs after every other analytic
(``after_alerts``); only member alerts of medium severity or above link (a low alert alone says
too little to tie tenants).

Why: Storm-0558 read the mail of about 25 organisations with forged tokens, from the same
rented servers and the same tooling. Each tenant sees a few reads; a provider (an MSSP, a
CERT, a holding) watching many tenants sees one actor only when those alerts are put side by
side. The campaign tells every tenant's responder that the others were hit, and the next tenant
to see the same infrastructure where to look first.

What never links (noise): a value that is ordinary in a tenant, more than ``max_share`` (1%) of
that tenant's stored records (events and sign-ins) carrying it, does not count there: the
Outlook desktop client string, the tenant's own VPN or office egress, a backup vendor's
application reading every mailbox every night. A value that more tenants use without an alert
than with one is a common tool's, not one actor's (a popular add-in flagged in two tenants and
used quietly in five). Never: Microsoft 365's own service addresses (the Exchange Online,
Exchange Online Protection and Entra ranges Microsoft publishes, and its 2603:1000::/24 cloud
block), private, loopback, link-local and shared (CGNAT) addresses; Microsoft's own
applications, as an application or in a fingerprint: the common mail clients, the first-party
tools administrators use everywhere (Graph Command Line Tools, Azure CLI, Exchange Online
PowerShell, ...: ``sql_pieces.MICROSOFT_TOOL_CLIENTS``) and the first-party resources (ids
ending ``-0000-0ff1-ce00-000000000000`` or ``-0000-0000-c000-000000000000``: Exchange, Graph,
SharePoint, ...). An actor claiming a Microsoft client id with a forged token is still linked
by its addresses. No signing key links tenants: no log mailhunt reads names the key a token
was signed with.

Severity: high; critical when the campaign spans 3 tenants or more, or when any member alert is
critical. The summary names the shared things and the tenants, says which analytics raised the
member alerts, and how many other stored tenants used the same things without an alert.

Campaign id and membership: a campaign is one alert for its whole life. Its entity is the JSON
array ``[kind, value]`` of its first shared thing (addresses first, then networks, applications,
fingerprints; each ordered by value) and its time bucket is fixed (1970-01-01), so its id, the
campaign id, is a hash of that indicator alone and a rerun over more data updates the same
alert. Membership is not stored: the ``campaign_members`` view finds, for each alert, the
campaign alert whose evidence shares the most of its records (what this analytic writes), and
``mailhunt alerts`` shows it as ``campaign_id`` (the campaign alert carries its own id). Chosen
over a table the analytic fills because an analytic's setup step is not given its parameters
and its query cannot write: the campaign alert is the one record, so membership never
disagrees with it, a suppressed or deleted campaign leaves no dangling links, and no state
survives a failed run. The costs: membership is recomputed each time alerts are listed (one
hash join of alert_evidence with the campaigns' evidence); an alert whose evidence later grew
belongs again only once this analytic has run after it (it always runs last); an alert citing
a record of the campaign's evidence belongs to it even if it did not take part in the linking (a
low alert about the same reads: rightly so); and when a campaign's first shared thing
changes (a new address sorts first, two campaigns merge) a new campaign alert is raised and the
old one stays, its members moving to the new one (of the campaigns sharing as many of an alert's
records, an alert belongs to the one with the most evidence: the latest). An incident's
campaign id is that of the campaign alert placed in it (see ``investigate/radius.py``), not of
every member alert it holds: an alert of two intruders' records is in both their incidents.

Known false positives: two unrelated actors renting servers in the same /24 of a hosting
provider, or using the same public tool (one open-source mail exfiltration script's client
string with the same Microsoft application id): the fingerprint then links, and the summary
says what was shared so the responder can weigh it; a third-party application that reads little
(a mail add-in) flagged in two tenants.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://msrc.microsoft.com/blog/2023/07/microsoft-mitigates-china-based-threat-actor-storm-0558-targeting-of-customer-email/
https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges
https://learn.microsoft.com/troubleshoot/azure/entra/entra-id/governance/verify-first-party-apps-sign-in
https://attack.mitre.org/techniques/T1114/002/
https://attack.mitre.org/techniques/T1583/003/
"""

from __future__ import annotations

import ipaddress

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import microsoft_app

RULE_ID = "cross-tenant-campaign"

# Severities of the alerts that can link tenants (fixed text, literals in the SQL).
_MEMBER_SEVERITIES = "['medium', 'high', 'critical']"

# Addresses that never link tenants: Microsoft 365's service ranges (Exchange Online, endpoint
# sets 1 and 2; Exchange Online Protection, 9 and 10; Entra ID, 56) and Microsoft's IPv6 cloud
# block, as https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges
# lists them, and the special-purpose ranges (RFC 1918, 6598, 3927, 4193, 4291) no actor's
# infrastructure can be told apart by.
_NEVER_LINKED_NETWORKS = (
    # Exchange Online
    "13.107.6.152/31",
    "13.107.18.10/31",
    "13.107.128.0/22",
    "23.103.160.0/20",
    "40.96.0.0/13",
    "40.104.0.0/15",
    "52.96.0.0/14",
    "131.253.33.215/32",
    "132.245.0.0/16",
    "150.171.32.0/22",
    "204.79.197.215/32",
    "2603:1000::/24",
    "2620:1ec:4::152/127",
    "2620:1ec:8f0::/46",
    "2620:1ec:900::/46",
    "2620:1ec:a92::152/127",
    # Exchange Online Protection
    "40.92.0.0/15",
    "40.107.0.0/16",
    "52.100.0.0/14",
    "104.47.0.0/17",
    "2a01:111:f400::/48",
    "2a01:111:f403::/48",
    # Entra ID
    "20.20.32.0/19",
    "20.190.128.0/18",
    "20.231.128.0/19",
    "40.126.0.0/18",
    # special purpose
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::/127",
    "fc00::/7",
    "fe80::/10",
)


def _bit_prefix(cidr: str) -> str:
    """'4' or '6' then the network's leading bits: an address is in the network when its bit
    string (see ``_address_sql``) starts with this."""
    network = ipaddress.ip_network(cidr)
    bits = format(int(network.network_address), f"0{network.max_prefixlen}b")
    return f"{network.version}{bits[: network.prefixlen]}"


_NEVER_LINKED_SQL = "[" + ", ".join(f"'{_bit_prefix(n)}'" for n in _NEVER_LINKED_NETWORKS) + "]"


def _address_sql(ips: str) -> str:
    """SQL: for each text ``ip`` of the query ``ips`` (one column, ``ip``, lower-cased): the
    address as linked (IPv4-mapped IPv6 as IPv4), its network (``prefix``: 'a.b.c.0/24' or
    'x:y:z::/48') and whether it may link tenants (``linkable``: an address, outside the never
    linked networks). Text that is not an address never links."""
    v4 = r"'^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$'"
    return f"""
SELECT ip, address, prefix,
       bits IS NOT NULL AND len(list_filter({_NEVER_LINKED_SQL},
                                            lambda n: starts_with(bits, n))) = 0 AS linkable
FROM (
    SELECT ip, address,
           CASE WHEN v4 IS NOT NULL AND len(v4) = 4 AND list_max(v4) <= 255
                THEN '4' || array_to_string(list_transform(v4, lambda o: lpad(bin(o), 8, '0')), '')
                WHEN v6 IS NOT NULL AND len(v6) = 8
                     AND len(list_filter(v6, lambda g: NOT regexp_full_match(g, '[0-9a-f]{{1,4}}')))
                         = 0
                THEN '6' || array_to_string(
                    list_transform(v6, lambda g: lpad(bin(CAST('0x' || g AS INTEGER)), 16, '0')),
                    '')
           END AS bits,
           CASE WHEN v4 IS NOT NULL
                THEN array_to_string(list_transform(v4[1:3], lambda o: CAST(o AS VARCHAR)), '.')
                     || '.0/24'
                ELSE array_to_string(list_transform(v6[1:3],
                         lambda g: coalesce(nullif(ltrim(g, '0'), ''), '0')), ':') || '::/48'
           END AS prefix
    FROM (
        SELECT ip, address,
               CASE WHEN dotted THEN list_transform(string_split(address, '.'),
                                                    lambda o: TRY_CAST(o AS INTEGER)) END AS v4,
               CASE WHEN NOT dotted AND contains(address, ':')
                    THEN head || list_transform(range(greatest(0, 8 - len(head) - len(tail))),
                                                lambda z: '0') || tail END AS v6
        FROM (
            SELECT ip, address, dotted,
                   CASE WHEN split_part(address, '::', 1) = '' THEN []
                        ELSE string_split(split_part(address, '::', 1), ':') END AS head,
                   CASE WHEN NOT contains(address, '::') OR split_part(address, '::', 2) = ''
                        THEN [] ELSE string_split(split_part(address, '::', 2), ':') END AS tail
            FROM (
                SELECT ip, coalesce(nullif(regexp_extract(ip, {v4}, 1), ''), ip) AS address,
                       regexp_matches(ip, {v4}) AS dotted
                FROM ({ips})
            )
        )
    )
)"""


def _marks_sql(source: str, keep: tuple[str, ...]) -> str:
    """SQL: the linking values of each row of ``source`` (its columns ``ip``, ``app``,
    ``agent``, and ``keep`` kept), one row per (row, kind, value), as ``kind``/``value``; the
    addresses are judged in ``{source}_addresses`` (see ``_address_sql``)."""
    kept = ", ".join(keep)
    judged = (
        f"(SELECT {', '.join('r.' + c for c in keep)}, r.ip, a.address, a.prefix, "
        "coalesce(a.linkable, false) AS linkable, r.app, r.agent, "
        f"r.app IS NOT NULL AND NOT {microsoft_app('r.app')} AS uncommon "
        f"FROM {source} r LEFT JOIN {source}_addresses a ON a.ip = r.ip)"
    )
    return f"""
SELECT {kept}, ip, 'ip' AS kind, address AS value FROM {judged} WHERE linkable
UNION ALL
SELECT {kept}, ip, 'prefix', prefix FROM {judged} WHERE linkable
UNION ALL
SELECT {kept}, ip, 'app', app FROM {judged} WHERE uncommon
UNION ALL
SELECT {kept}, ip, 'fingerprint', CAST(to_json([agent, app]) AS VARCHAR) FROM {judged}
WHERE uncommon AND agent IS NOT NULL AND agent <> ''"""


_SHOWN = 4  # shared things a summary names; the why lists them all

SQL = f"""
WITH RECURSIVE members AS (
    SELECT id AS alert_id, rule_id, severity, mailboxes, users, app_ids, client_ips,
           first_seen, last_seen
    FROM alerts
    WHERE rule_id <> '{RULE_ID}' AND list_contains({_MEMBER_SEVERITIES}, severity)
      AND suppressed_by IS NULL  -- a suppressed alert links no tenants
),
evidence AS (
    SELECT m.alert_id, x.record_id, e.tenant_id, lower(e.client_ip) AS ip,
           lower(coalesce(e.client_app_id, e.app_id)) AS app, e.user_agent AS agent
    FROM alert_evidence x JOIN members m ON m.alert_id = x.alert_id
    JOIN events e ON e.record_id = x.record_id
    UNION ALL
    SELECT m.alert_id, x.record_id, s.tenant_id, lower(s.client_ip), lower(s.app_id),
           s.user_agent
    FROM alert_evidence x JOIN members m ON m.alert_id = x.alert_id
    JOIN signins s ON s.record_id = x.record_id
),
evidence_addresses AS ({_address_sql("SELECT DISTINCT ip FROM evidence WHERE ip IS NOT NULL")}),
marks AS ({_marks_sql("evidence", ("alert_id", "record_id", "tenant_id"))}),
shared AS (  -- in the alerts of enough tenants before rarity is judged: few values
    SELECT kind, value FROM marks GROUP BY kind, value
    HAVING count(DISTINCT tenant_id) >= $min_tenants
),
usage AS (  -- one pass over each table: records per tenant and (address, application, agent),
            -- only when some value is shared at all (most runs: none, and nothing is read)
    SELECT tenant_id, ip, app, agent, sum(n) AS n FROM (
        SELECT tenant_id, lower(client_ip) AS ip, lower(coalesce(client_app_id, app_id)) AS app,
               user_agent AS agent, count(*) AS n
        FROM events WHERE (SELECT count(*) FROM shared) > 0 GROUP BY ALL
        UNION ALL
        SELECT tenant_id, lower(client_ip), lower(app_id), user_agent, count(*)
        FROM signins WHERE (SELECT count(*) FROM shared) > 0 GROUP BY ALL
    ) WHERE tenant_id IS NOT NULL GROUP BY ALL
),
tenant_totals AS (SELECT tenant_id, sum(n) AS total FROM usage GROUP BY tenant_id),
usage_addresses AS ({_address_sql("SELECT DISTINCT ip FROM usage WHERE ip IS NOT NULL")}),
usage_marks AS ({_marks_sql("usage", ("tenant_id", "n"))}),
used AS (
    SELECT u.tenant_id, u.kind, u.value, sum(u.n) AS n
    FROM usage_marks u SEMI JOIN shared s ON s.kind = u.kind AND s.value = u.value
    GROUP BY ALL
),
rare AS (
    SELECT u.tenant_id, u.kind, u.value FROM used u JOIN tenant_totals t USING (tenant_id)
    WHERE u.n <= $max_share * t.total
),
links AS (
    SELECT DISTINCT m.alert_id, m.tenant_id, m.kind, m.value, m.ip
    FROM marks m SEMI JOIN rare r
      ON r.tenant_id = m.tenant_id AND r.kind = m.kind AND r.value = m.value
),
linked AS (
    SELECT kind, value, list_sort(list_distinct(list(tenant_id))) AS tenants,
           count(DISTINCT ip) AS addresses
    FROM links GROUP BY kind, value
    HAVING count(DISTINCT tenant_id) >= $min_tenants AND (kind <> 'prefix' OR addresses >= 2)
),
quiet AS (  -- per linked value: the tenants using it without an alert linking them
    SELECT l.kind, l.value, count(DISTINCT u.tenant_id) AS tenants
    FROM linked l JOIN used u ON u.kind = l.kind AND u.value = l.value
    WHERE NOT list_contains(l.tenants, u.tenant_id)
    GROUP BY l.kind, l.value
),
indicators AS (  -- a value more tenants use quietly than with alerts is a common tool's
    SELECT l.kind, l.value, CAST(to_json([l.kind, l.value]) AS VARCHAR) AS indicator,
           CASE l.kind WHEN 'ip' THEN 1 WHEN 'prefix' THEN 2 WHEN 'app' THEN 3 ELSE 4 END
             AS kind_rank,
           l.tenants, l.addresses, coalesce(q.tenants, 0) AS quiet_tenants
    FROM linked l LEFT JOIN quiet q ON q.kind = l.kind AND q.value = l.value
    WHERE coalesce(q.tenants, 0) <= len(l.tenants)
),
keyed AS (
    SELECT DISTINCT l.alert_id, i.indicator
    FROM links l JOIN indicators i ON i.kind = l.kind AND i.value = l.value
),
pairs AS (  -- shared things joined by an alert holding both
    SELECT DISTINCT a.indicator AS i, b.indicator AS j FROM keyed a JOIN keyed b USING (alert_id)
),
reach(i, j) AS (
    SELECT i, j FROM pairs
    UNION
    SELECT r.i, p.j FROM reach r JOIN pairs p ON p.i = r.j
),
components AS (  -- each shared thing's campaign: the first thing it reaches
    SELECT r.i AS indicator,
           arg_min(r.j, [CAST(i.kind_rank AS VARCHAR), i.value]) AS campaign
    FROM reach r JOIN indicators i ON i.indicator = r.j GROUP BY r.i
),
campaign_alerts AS (
    SELECT DISTINCT c.campaign, k.alert_id
    FROM keyed k JOIN components c USING (indicator)
),
campaign_things AS (
    SELECT c.campaign, list(i ORDER BY i.kind_rank, i.value) AS things,
           list_sort(list_distinct(flatten(list(i.tenants)))) AS tenants
    FROM components c JOIN indicators i USING (indicator) GROUP BY c.campaign
),
described AS (
    SELECT campaign, tenants, things,
           list_transform(things, lambda t: struct_pack(
               kind := t.kind, value := t.value, tenants := t.tenants, text := (
               CASE t.kind
                   WHEN 'ip' THEN 'address ' || t.value
                   WHEN 'prefix' THEN 'network ' || t.value || ' (' || t.addresses ||
                                      ' addresses)'
                   WHEN 'app' THEN 'client application ' || t.value
                   ELSE 'client string "' || json_extract_string(t.value, '$[0]') ||
                        '" with application ' || json_extract_string(t.value, '$[1]')
               END || CASE WHEN len(t.tenants) < len(tenants)
                           THEN ' (' || len(t.tenants) || ' of the tenants)' ELSE '' END)))
             AS shown
    FROM campaign_things
),
also_seen AS (
    SELECT c.campaign, max(i.quiet_tenants) AS tenants
    FROM components c JOIN indicators i USING (indicator) GROUP BY c.campaign
),
member_evidence AS (  -- the records of the member alerts carrying the campaign's things
    SELECT DISTINCT c.campaign, m.record_id
    FROM marks m JOIN indicators i ON i.kind = m.kind AND i.value = m.value
    JOIN components c ON c.indicator = i.indicator
    SEMI JOIN rare r ON r.tenant_id = m.tenant_id AND r.kind = m.kind AND r.value = m.value
),
campaign_evidence AS (
    SELECT campaign, list_sort(list(record_id)) AS event_ids FROM member_evidence
    GROUP BY campaign
)
SELECT
    ca.campaign AS entity,
    TIMESTAMPTZ '1970-01-01 00:00:00+00' AS bucket,
    CASE WHEN len(any_value(d.tenants)) >= 3 OR bool_or(m.severity = 'critical')
         THEN 'critical' ELSE 'high' END AS severity,
    'One actor behind alerts in ' || len(any_value(d.tenants)) || ' tenants (' ||
      array_to_string(any_value(d.tenants), ', ') || '): they share ' ||
      array_to_string(list_transform(any_value(d.shown)[1:{_SHOWN}], lambda x: x.text), '; ') ||
      CASE WHEN len(any_value(d.shown)) > {_SHOWN}
           THEN ' and ' || (len(any_value(d.shown)) - {_SHOWN}) || ' more' ELSE '' END ||
      '; ' || count(*) || ' alert(s) of ' ||
      array_to_string(list_sort(list_distinct(list(m.rule_id))), ', ') ||
      CASE WHEN any_value(seen.tenants) > 0
           THEN '; also used without an alert in ' || any_value(seen.tenants) ||
                ' other stored tenant(s)'
           ELSE '' END AS summary,
    any_value(d.tenants) AS tenant_ids,
    list_sort(list_distinct(flatten(list(m.mailboxes)))) AS mailboxes,
    list_sort(list_distinct(flatten(list(m.users)))) AS users,
    list_sort(list_distinct(flatten(list(m.app_ids)))) AS app_ids,
    list_sort(list_distinct(flatten(list(m.client_ips)))) AS client_ips,
    min(m.first_seen) AS first_seen,
    max(m.last_seen) AS last_seen,
    any_value(ev.event_ids) AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'the alert evidence of the other tenants; a value over ' ||
                    round($max_share * 100, 2) || '% of a tenant''s records, Microsoft 365 ' ||
                    'service and private addresses, and Microsoft first-party applications ' ||
                    'never link',
        new := 'shared by alerts of ' || len(any_value(d.tenants)) || ' tenants: ' ||
               array_to_string(list_transform(any_value(d.shown), lambda x: x.text), '; '),
        shared := list_transform(any_value(d.shown),
                                 lambda x: struct_pack(kind := x.kind, value := x.value,
                                                       tenants := x.tenants)),
        alerts := list_sort(list(m.alert_id)),
        also_seen_tenants := coalesce(any_value(seen.tenants), 0)
    )) AS VARCHAR) AS why
FROM campaign_alerts ca
JOIN members m USING (alert_id)
JOIN described d ON d.campaign = ca.campaign
JOIN campaign_evidence ev ON ev.campaign = ca.campaign
LEFT JOIN also_seen seen ON seen.campaign = ca.campaign
GROUP BY ca.campaign
"""

ANALYTIC = Analytic(
    id=RULE_ID,
    title="The same actor behind alerts in several tenants",
    severity="high",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("alerts", "alert_evidence", "events", "signins"),
    parameters=(
        Parameter(
            "min_tenants",
            int,
            2,
            "Tenants whose alerts must share a thing for it to make a campaign.",
            minimum=2,
        ),
        Parameter(
            "max_share",
            float,
            0.01,
            "Largest share of a tenant's records a shared value may have there to link it.",
            minimum=0,
        ),
    ),
    after_alerts=True,
)
