"""The SQL of incidents: evidence judged, keys that link alerts, and the blast radius.

Every statement here is fixed text; values (window length, ids) are bound parameters. Temp
tables are built by :mod:`mailhunt.investigate.grouping` in this order:

``_inc_records``  every record of events and sign-ins in one shape (a view).
``_inc_evidence`` (tenant, alert, record) for unsuppressed alerts, with ``habitual``: the record
                  looks like its principal's own usual access (an address the principal used
                  more than the window before, an application already used on that mailbox, a
                  token a sign-in issued), so it is context the analytic cited, not the intruder.
``_inc_record_keys`` (tenant, alert, record, aggregate, kind, value, time): what links: Entra
                  session, Exchange session, token, application (not Microsoft's own), client
                  IP (new to the tenant around the evidence: a shared VPN egress with history
                  is no link), per record that is not habitual.
``_inc_parts``    (tenant, alert, kind, value, incident) from the grouping in Python: the
                  incident of every key of every alert (an alert whose records are of two
                  actors with nothing in common is in two incidents).
``_inc_members``  (tenant, alert, record, incident): the incident of each evidence record.
``_inc_attr``     the blast radius: (incident, record, link).
"""

from __future__ import annotations

from mailhunt.detect.sql_pieces import microsoft_app

# The rule whose alerts aggregate other alerts' evidence (a campaign): its evidence links
# nothing (it cites every intruder its indicator matched); the campaign alert joins, in each
# tenant, the incidents of the intruders it cites, and the incidents of several tenants are
# linked by their campaign_id (campaign_members), never merged.
CAMPAIGN_RULE = "cross-tenant-campaign"

# An administrative operation names the mailbox it acts on in its object (``user@x\\Rule``,
# the mailbox of Set-Mailbox or Add-MailboxPermission) when the record has no mailbox owner.
RECORDS_VIEW = """CREATE OR REPLACE TEMP TABLE _inc_records AS
SELECT record_id, 'events' AS table_name, tenant_id, time, operation, actor_upn AS actor,
       coalesce(mailbox_upn, CASE WHEN operation <> 'MailItemsAccessed' THEN
           nullif(lower(regexp_extract(object_id, '^([^\\\\/ ]+@[^\\\\/ ]+)', 1)), '') END)
         AS mailbox, lower(coalesce(client_app_id, app_id)) AS app, client_ip AS ip,
       aad_session_id AS aad, session_id AS sess, token_id AS tok
FROM events
UNION ALL
SELECT record_id, 'signins', tenant_id, time, 'SignIn', user_upn, NULL, lower(app_id), client_ip,
       session_id, NULL, unique_token_id
FROM signins"""

# Habitual: a read or sign-in by a principal from an address it used more than $window_days
# before, with an application already used on that mailbox (or none named), on its own mailbox
# or one it has read that long (a delegate), with a token a sign-in issued. An operation that
# changes something (a rule, a permission, a consent) is never habitual: the alert cited it.
EVIDENCE = f"""
WITH ev AS (
    SELECT x.alert_id, a.rule_id = '{CAMPAIGN_RULE}' AS aggregate, r.* FROM alert_evidence x
    JOIN alerts a ON a.id = x.alert_id AND a.suppressed_by IS NULL
    JOIN _inc_records r ON r.record_id = x.record_id
),
pairs AS (SELECT DISTINCT tenant_id, actor, ip FROM ev WHERE ip IS NOT NULL),
ip_since AS (
    SELECT r.tenant_id, r.actor, r.ip, min(r.time) AS since FROM _inc_records r
    SEMI JOIN pairs p ON p.tenant_id = r.tenant_id AND p.actor = r.actor AND p.ip = r.ip
    GROUP BY ALL
),
apps AS (SELECT DISTINCT tenant_id, coalesce(mailbox, actor) AS who, app FROM ev
         WHERE app IS NOT NULL),
app_since AS (
    SELECT r.tenant_id, coalesce(r.mailbox, r.actor) AS who, r.app, min(r.time) AS since
    FROM _inc_records r
    SEMI JOIN apps p ON p.tenant_id = r.tenant_id AND p.who = coalesce(r.mailbox, r.actor)
                    AND p.app = r.app
    GROUP BY ALL
),
reads AS (SELECT DISTINCT tenant_id, actor, mailbox FROM ev
          WHERE mailbox IS NOT NULL AND actor IS DISTINCT FROM mailbox),
pair_since AS (
    SELECT r.tenant_id, r.actor, r.mailbox, min(r.time) AS since FROM _inc_records r
    SEMI JOIN reads p ON p.tenant_id = r.tenant_id AND p.actor = r.actor
                     AND p.mailbox = r.mailbox
    GROUP BY ALL
),
issued AS (SELECT DISTINCT unique_token_id AS tok FROM signins
           WHERE unique_token_id IS NOT NULL AND coalesce(error_code, 0) = 0),
token_tenants AS (SELECT DISTINCT tenant_id FROM signins WHERE unique_token_id IS NOT NULL)
SELECT ev.*,
       ev.operation IN ('MailItemsAccessed', 'SignIn', 'UserLoggedIn', 'MailboxLogin')
       AND coalesce(i.since < ev.time - to_days($window_days), false)
       AND (ev.app IS NULL OR coalesce(s.since < ev.time - to_days($window_days), false))
       AND (ev.mailbox IS NULL OR ev.actor IS NOT DISTINCT FROM ev.mailbox
            OR coalesce(d.since < ev.time - to_days($window_days), false))
       AND NOT (ev.tok IS NOT NULL AND ev.table_name = 'events' AND t.tenant_id IS NOT NULL
                AND k.tok IS NULL) AS habitual
FROM ev
LEFT JOIN ip_since i ON i.tenant_id = ev.tenant_id AND i.actor = ev.actor AND i.ip = ev.ip
LEFT JOIN app_since s ON s.tenant_id = ev.tenant_id AND s.who = coalesce(ev.mailbox, ev.actor)
                     AND s.app = ev.app
LEFT JOIN pair_since d ON d.tenant_id = ev.tenant_id AND d.actor = ev.actor
                      AND d.mailbox = ev.mailbox
LEFT JOIN issued k ON k.tok = ev.tok
LEFT JOIN token_tenants t ON t.tenant_id = ev.tenant_id
"""

# Addresses new to a tenant around its evidence: no record of the tenant used them more than
# the window before their first use in evidence.
_NEW_IPS = """new_ips AS (
    SELECT e.tenant_id, e.ip FROM (SELECT tenant_id, ip, min(time) AS first_cited
                                   FROM _inc_evidence WHERE NOT habitual AND ip IS NOT NULL
                                   GROUP BY ALL) e
    JOIN (SELECT r.tenant_id, r.ip, min(r.time) AS since FROM _inc_records r
          SEMI JOIN _inc_evidence v ON v.tenant_id = r.tenant_id AND v.ip = r.ip
          GROUP BY ALL) s ON s.tenant_id = e.tenant_id AND s.ip = e.ip
    WHERE s.since >= e.first_cited - to_days($window_days)
)"""

# Every key of every evidence record that is not habitual, per alert: what links it. An
# address the tenant knew (``address``: a shared egress, an office) is one actor's within one
# alert only: it holds together an alert's keyed records from one address (two sessions of
# one actor), and links no two alerts (``LOCAL_KINDS``); a record with no other key stays
# keyless (placed by time, see MEMBERS: a victim's consent, from her own address, belongs
# with the application's reads the alert cites beside it). A campaign's records
# (``aggregate``) are keyed too, but they only place the campaign alert in the incidents of
# the intruders whose records it cites; they link nothing (see grouping).
RECORD_KEYS = f"""
WITH {_NEW_IPS},
seeds AS (SELECT * FROM _inc_evidence WHERE NOT habitual AND tenant_id IS NOT NULL),
keyed AS (
    SELECT *, 'session' AS kind, aad AS value FROM seeds WHERE aad IS NOT NULL
    UNION ALL BY NAME SELECT *, 'exchange-session' AS kind, sess AS value FROM seeds
    WHERE sess IS NOT NULL
    UNION ALL BY NAME SELECT *, 'token' AS kind, tok AS value FROM seeds WHERE tok IS NOT NULL
    UNION ALL BY NAME SELECT *, 'app' AS kind, app AS value FROM seeds
    WHERE app IS NOT NULL AND NOT {microsoft_app("app")}
    UNION ALL BY NAME SELECT s.*, 'ip' AS kind, s.ip AS value FROM seeds s
    SEMI JOIN new_ips n ON n.tenant_id = s.tenant_id AND n.ip = s.ip
)
SELECT tenant_id, alert_id, record_id, aggregate, kind, value, time FROM keyed
UNION ALL
SELECT s.tenant_id, s.alert_id, s.record_id, s.aggregate, 'address', s.ip, s.time FROM seeds s
SEMI JOIN keyed k ON k.alert_id = s.alert_id AND k.record_id = s.record_id
ANTI JOIN new_ips n ON n.tenant_id = s.tenant_id AND n.ip = s.ip
WHERE s.ip IS NOT NULL
"""

# The keys an alert's evidence carries (a key of one alert is one node of the grouping), with
# when the alert's records used it.
KEYS = """
SELECT tenant_id, alert_id, kind, value, min(time) AS first, max(time) AS last,
       bool_or(aggregate) AS aggregate
FROM _inc_record_keys GROUP BY ALL
"""

# Keys of an alert that one record carries together (so they are one actor's): each distinct
# combination of two keys or more, as [kind, value] pairs.
LINKS = """
SELECT DISTINCT tenant_id, alert_id, keys FROM (
    SELECT tenant_id, alert_id, list([kind, value] ORDER BY kind, value) AS keys
    FROM _inc_record_keys GROUP BY tenant_id, alert_id, record_id HAVING count(*) > 1
)
"""

# Every alert of the evidence, per tenant (one with no key is one node by itself).
NODES = """
SELECT DISTINCT coalesce(tenant_id, '') AS tenant_id, alert_id, aggregate FROM _inc_evidence
"""

# Kinds of key that link the records of one alert only.
LOCAL_KINDS = frozenset({"address"})

# A campaign alert's key no other alert uses (or a campaign alert with no key in a tenant: kind
# and value '') is placed by the records it shares with other alerts: (tenant, campaign alert,
# kind, value, other alert).
SHARES = """
SELECT DISTINCT coalesce(g.tenant_id, '') AS tenant_id, g.alert_id, coalesce(k.kind, '') AS kind,
       coalesce(k.value, '') AS value, o.alert_id AS other
FROM _inc_evidence g JOIN _inc_evidence o ON o.record_id = g.record_id AND NOT o.aggregate
LEFT JOIN _inc_record_keys k ON k.alert_id = g.alert_id AND k.record_id = g.record_id
WHERE g.aggregate
"""

# Which incident each evidence record of an alert is in: the one of its keys; a record with no
# key (habitual context, or nothing new about it) the alert's part nearest in time (an alert
# in one incident: that one). A campaign's record may be in several.
MEMBERS = """
WITH via_keys AS (
    SELECT DISTINCT k.tenant_id, k.alert_id, k.record_id, k.time, p.incident_id
    FROM _inc_record_keys k
    JOIN _inc_parts p ON p.tenant_id = k.tenant_id AND p.alert_id = k.alert_id
                     AND p.kind = k.kind AND p.value = k.value
),
parts AS (
    SELECT p.tenant_id, p.alert_id, p.incident_id, min(v.time) AS since, max(v.time) AS until
    FROM (SELECT DISTINCT tenant_id, alert_id, incident_id FROM _inc_parts) p
    LEFT JOIN via_keys v ON v.tenant_id = p.tenant_id AND v.alert_id = p.alert_id
                        AND v.incident_id = p.incident_id
    GROUP BY ALL
),
rest AS (
    SELECT coalesce(e.tenant_id, '') AS tenant_id, e.alert_id, e.record_id, e.time
    FROM _inc_evidence e
    ANTI JOIN via_keys v ON v.tenant_id = coalesce(e.tenant_id, '')
                        AND v.alert_id = e.alert_id AND v.record_id = e.record_id
)
SELECT tenant_id, alert_id, record_id, incident_id FROM via_keys
UNION ALL
SELECT r.tenant_id, r.alert_id, r.record_id,
       arg_min(p.incident_id, struct_pack(
           d := coalesce(greatest(epoch(p.since) - epoch(r.time),
                                  epoch(r.time) - epoch(p.until), 0), 0),
           i := p.incident_id)) AS incident_id
FROM rest r JOIN parts p ON p.tenant_id = r.tenant_id AND p.alert_id = r.alert_id
GROUP BY r.tenant_id, r.alert_id, r.record_id
"""

# The incidents each key of an alert's records was in at the last build (its records were the
# incident's evidence): which of its former incidents a part of an alert cut in two keeps.
PREVIOUS_KEYS = """
SELECT DISTINCT k.tenant_id, k.alert_id, k.kind, k.value,
       coalesce(i.merged_into, r.incident_id) AS incident_id
FROM _inc_record_keys k
JOIN incident_records r ON r.record_id = k.record_id AND r.link = 'evidence'
JOIN incident_alerts n ON n.incident_id = r.incident_id AND n.tenant_id = k.tenant_id
                      AND n.alert_id = k.alert_id
LEFT JOIN incidents i ON i.id = r.incident_id
"""

# The blast radius of every incident: its seeds (evidence not habitual; all its evidence when
# every record is habitual), then every record of its tenant in its window sharing a key; and
# the password spray behind it: addresses that failed sign-ins of $spray_min_users users or
# more within an hour, one of them signing a seed's user in (successfully) in the window, and
# the addresses spraying the same users within an hour of it (one spray from several
# addresses). An application is also matched in what a directory or admin operation was
# given (the consent naming it).
ATTRIBUTE = f"""
WITH {_NEW_IPS},
inc_evidence AS (
    SELECT n.incident_id, e.* FROM _inc_evidence e
    JOIN _inc_members n ON n.tenant_id = coalesce(e.tenant_id, '') AND n.alert_id = e.alert_id
                       AND n.record_id = e.record_id
),
all_habitual AS (SELECT incident_id FROM inc_evidence GROUP BY ALL
                 HAVING bool_and(habitual OR aggregate)),
seeds AS (
    SELECT * FROM inc_evidence WHERE NOT habitual AND NOT aggregate
    UNION ALL SELECT i.* FROM inc_evidence i SEMI JOIN all_habitual h USING (incident_id)
),
spans AS (
    SELECT incident_id, tenant_id, min(time) - to_days($window_days) AS since,
           max(time) + to_days($window_days) AS until
    FROM seeds GROUP BY ALL
),
keys AS (
    SELECT DISTINCT incident_id, tenant_id, kind, value FROM (
        SELECT incident_id, tenant_id, 'session' AS kind, aad AS value FROM seeds
        WHERE aad IS NOT NULL
        UNION ALL SELECT incident_id, tenant_id, 'exchange-session', sess FROM seeds
        WHERE sess IS NOT NULL
        UNION ALL SELECT incident_id, tenant_id, 'token', tok FROM seeds WHERE tok IS NOT NULL
        UNION ALL SELECT incident_id, tenant_id, 'app', app FROM seeds
        WHERE app IS NOT NULL AND NOT {microsoft_app("app")}
        UNION ALL SELECT s.incident_id, s.tenant_id, 'ip', s.ip FROM seeds s
        SEMI JOIN new_ips n ON n.tenant_id = s.tenant_id AND n.ip = s.ip)
),
sprays AS (
    SELECT tenant_id, client_ip AS ip, time_bucket(INTERVAL 1 HOUR, time) AS hour,
           list(DISTINCT user_upn) AS targets
    FROM signins WHERE coalesce(error_code, 0) <> 0 AND client_ip IS NOT NULL
    GROUP BY ALL HAVING count(DISTINCT user_upn) >= $spray_min_users
),
seed_users AS (SELECT DISTINCT incident_id, tenant_id, actor FROM seeds WHERE contains(actor, '@')),
spray_hits AS (
    SELECT DISTINCT u.incident_id, p.tenant_id, p.ip, p.hour, p.targets FROM seed_users u
    JOIN signins g ON g.tenant_id = u.tenant_id AND g.user_upn = u.actor
                  AND coalesce(g.error_code, 0) = 0
    JOIN spans w ON w.incident_id = u.incident_id AND w.tenant_id = u.tenant_id
    JOIN sprays p ON p.tenant_id = g.tenant_id AND p.ip = g.client_ip
                 AND p.hour = time_bucket(INTERVAL 1 HOUR, g.time)
    WHERE g.time BETWEEN w.since AND w.until
),
spray_keys AS (
    SELECT DISTINCT h.incident_id, p.tenant_id, 'ip' AS kind, p.ip AS value
    FROM spray_hits h JOIN sprays p ON p.tenant_id = h.tenant_id
     AND abs(epoch(p.hour) - epoch(h.hour)) <= 3600
     AND len(list_intersect(p.targets, h.targets)) > 0
),
matched AS (
    SELECT k.incident_id, r.record_id, k.kind FROM keys k
    JOIN _inc_records r ON r.tenant_id = k.tenant_id AND r.aad = k.value
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'session' AND r.time BETWEEN s.since AND s.until
    UNION ALL
    SELECT k.incident_id, r.record_id, k.kind FROM keys k
    JOIN _inc_records r ON r.tenant_id = k.tenant_id AND r.sess = k.value
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'exchange-session' AND r.time BETWEEN s.since AND s.until
    UNION ALL
    SELECT k.incident_id, r.record_id, k.kind FROM keys k
    JOIN _inc_records r ON r.tenant_id = k.tenant_id AND r.tok = k.value
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'token' AND r.time BETWEEN s.since AND s.until
    UNION ALL
    SELECT k.incident_id, r.record_id, k.kind FROM keys k
    JOIN _inc_records r ON r.tenant_id = k.tenant_id AND r.app = k.value
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'app' AND r.time BETWEEN s.since AND s.until
    UNION ALL
    SELECT k.incident_id, r.record_id, k.kind
    FROM (SELECT * FROM keys UNION SELECT * FROM spray_keys) k
    JOIN _inc_records r ON r.tenant_id = k.tenant_id AND r.ip = k.value
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'ip' AND r.time BETWEEN s.since AND s.until
    UNION ALL
    SELECT k.incident_id, e.record_id, k.kind FROM keys k
    JOIN events e ON e.tenant_id = k.tenant_id
    JOIN spans s ON s.incident_id = k.incident_id AND s.tenant_id = k.tenant_id
    WHERE k.kind = 'app' AND e.time BETWEEN s.since AND s.until AND len(e.parameters) > 0
      AND e.operation <> 'MailItemsAccessed'
      AND len(list_filter(e.parameters, lambda p: contains(lower(p.value), k.value))) > 0
    UNION ALL SELECT DISTINCT incident_id, record_id, 'evidence' FROM seeds
)
SELECT incident_id, record_id,
       arg_min(kind, list_position(['evidence', 'session', 'exchange-session', 'token', 'app',
                                    'ip'], kind)) AS link
FROM matched GROUP BY ALL
"""

# The attributed records with their columns (incident_records), from _inc_attr.
RECORDS_INSERT = """
INSERT INTO incident_records
SELECT a.incident_id, a.record_id, r.table_name, r.tenant_id, r.time, r.mailbox, r.actor,
       r.operation, r.ip, a.link
FROM _inc_attr a JOIN _inc_records r ON r.record_id = a.record_id
"""

# Each message read, per incident, mailbox and folder. A record naming a message twice counts
# once: the reads are made distinct per record first (DISTINCT aggregates per group cost
# twice as much over a million messages).
MESSAGES_INSERT = """
INSERT INTO incident_messages
WITH reads AS (
    SELECT i.incident_id, m.tenant_id, m.mailbox_upn, m.folder_path, m.internet_message_id,
           m.record_id, max(m.size_bytes) AS size_bytes, min(m.time) AS first_read,
           max(m.time) AS last_read
    FROM incident_records i JOIN mail_items m ON m.record_id = i.record_id
    WHERE i.table_name = 'events' AND m.internet_message_id IS NOT NULL
    GROUP BY ALL
)
SELECT incident_id, tenant_id, mailbox_upn, folder_path, internet_message_id, max(size_bytes),
       NULL, min(first_read), max(last_read), count(*), list(record_id ORDER BY record_id)
FROM reads
GROUP BY incident_id, tenant_id, mailbox_upn, folder_path, internet_message_id
"""

SYNCS_INSERT = """
INSERT INTO incident_syncs
WITH sync_records AS (
    SELECT DISTINCT i.incident_id, m.tenant_id, m.mailbox_upn, m.folder_path, m.record_id, m.time
    FROM incident_records i JOIN mail_items m ON m.record_id = i.record_id
    WHERE i.table_name = 'events' AND m.access_type = 'Sync'
),
synced AS (
    SELECT incident_id, tenant_id, mailbox_upn, folder_path, min(time) AS first_sync,
           max(time) AS last_sync, count(DISTINCT record_id) AS syncs,
           list(DISTINCT record_id ORDER BY record_id) AS record_ids
    FROM sync_records GROUP BY ALL
),
known AS (
    SELECT m.tenant_id, m.mailbox_upn, m.folder_path,
           count(DISTINCT m.internet_message_id) AS messages_known
    FROM mail_items m
    SEMI JOIN synced s ON s.tenant_id = m.tenant_id AND s.mailbox_upn = m.mailbox_upn
                      AND s.folder_path IS NOT DISTINCT FROM m.folder_path
    GROUP BY ALL
)
SELECT s.incident_id, s.tenant_id, s.mailbox_upn, s.folder_path, s.first_sync, s.last_sync,
       s.syncs, coalesce(k.messages_known, 0), s.record_ids
FROM synced s LEFT JOIN known k ON k.tenant_id = s.tenant_id AND k.mailbox_upn = s.mailbox_upn
     AND k.folder_path IS NOT DISTINCT FROM s.folder_path
"""

BLIND_INSERT = """
INSERT INTO incident_blind_windows
WITH spans AS (
    SELECT incident_id, tenant_id, mailbox_upn, min(time) AS since, max(time) AS until
    FROM incident_records WHERE mailbox_upn IS NOT NULL GROUP BY ALL
)
SELECT DISTINCT s.incident_id, b.tenant_id, b.mailbox_upn, b.window_start, b.window_end,
       b.reason, b.record_id
FROM spans s JOIN blind_windows b ON b.tenant_id = s.tenant_id AND b.mailbox_upn = s.mailbox_upn
WHERE b.window_start <= s.until AND b.window_end >= s.since
"""

_PARAM_NAMES = "list_transform(coalesce(e.parameters, []), lambda p: lower(p.name))"

ACTIONS_INSERT = f"""
INSERT INTO incident_actions
SELECT i.incident_id, e.record_id, e.tenant_id, e.time,
       CASE
         WHEN e.operation IN ('Send', 'SendAs', 'SendOnBehalf') THEN 'send'
         WHEN e.operation IN ('New-InboxRule', 'Set-InboxRule', 'Enable-InboxRule',
                              'UpdateInboxRules', 'Remove-InboxRule') THEN 'inbox-rule'
         WHEN e.operation IN ('New-TransportRule', 'Set-TransportRule')
              OR (e.operation = 'Set-Mailbox' AND len(list_filter({_PARAM_NAMES},
                  lambda n: contains(n, 'forward'))) > 0) THEN 'forwarding'
         WHEN e.operation IN ('Add-MailboxPermission', 'Add-RecipientPermission',
                              'Add-MailboxFolderPermission', 'Set-MailboxFolderPermission',
                              'AddFolderPermissions', 'UpdateFolderPermissions')
              THEN 'permission'
         WHEN e.operation IN ('Consent to application.', 'Add delegated permission grant.',
                              'Add app role assignment to service principal.',
                              'Add service principal.', 'Add application.',
                              'Add service principal credentials.') THEN 'consent'
         WHEN e.operation IN ('Set-AdminAuditLogConfig', 'Set-MailboxAuditBypassAssociation',
                              'Set-OrganizationConfig')
              OR (e.operation = 'Set-Mailbox' AND len(list_filter({_PARAM_NAMES},
                  lambda n: starts_with(n, 'audit'))) > 0) THEN 'audit'
         ELSE 'other'
       END,
       e.operation, e.actor_upn, i.mailbox_upn, e.object_id, e.parameters
FROM incident_records i JOIN events e ON e.record_id = i.record_id
WHERE i.table_name = 'events'
  AND e.operation NOT IN ('MailItemsAccessed', 'UserLoggedIn', 'MailboxLogin')
"""

# Per incident and mailbox. incident_records holds a record once per incident: records are
# counted, not counted distinct; Bind or Sync from the read's own row of events.
MAILBOXES_INSERT = """
INSERT INTO incident_mailboxes
WITH per_record AS (
    SELECT i.incident_id, i.tenant_id, i.mailbox_upn, i.time,
           CASE WHEN i.operation = 'MailItemsAccessed' THEN e.access_type END AS access_type
    FROM incident_records i
    LEFT JOIN (SELECT record_id, access_type FROM events WHERE operation = 'MailItemsAccessed') e
           ON e.record_id = i.record_id
    WHERE i.mailbox_upn IS NOT NULL
),
mailboxes AS (
    SELECT incident_id, tenant_id, mailbox_upn, min(time) AS first_access,
           max(time) AS last_access, count(*) AS records,
           count(*) FILTER (WHERE access_type = 'Bind') AS bind_records,
           count(*) FILTER (WHERE access_type = 'Sync') AS sync_records
    FROM per_record GROUP BY ALL
),
messages AS (
    SELECT incident_id, tenant_id, mailbox_upn, count(DISTINCT internet_message_id) AS n
    FROM incident_messages GROUP BY ALL
),
folders AS (
    SELECT incident_id, tenant_id, mailbox_upn, count(DISTINCT folder_path) AS n
    FROM incident_syncs GROUP BY ALL
),
changes AS (
    SELECT incident_id, tenant_id, mailbox_upn, count(*) FILTER (WHERE kind = 'send') AS sent,
           count(*) FILTER (WHERE kind NOT IN ('send', 'other')) AS changed
    FROM incident_actions GROUP BY ALL
),
blind AS (
    SELECT incident_id, tenant_id, mailbox_upn, count(*) AS n
    FROM incident_blind_windows GROUP BY ALL
)
SELECT p.incident_id, p.tenant_id, p.mailbox_upn, p.first_access, p.last_access, p.records,
       coalesce(m.n, 0), p.bind_records, p.sync_records, coalesce(f.n, 0), coalesce(c.sent, 0),
       coalesce(c.changed, 0), coalesce(b.n, 0)
FROM mailboxes p
LEFT JOIN messages m USING (incident_id, tenant_id, mailbox_upn)
LEFT JOIN folders f USING (incident_id, tenant_id, mailbox_upn)
LEFT JOIN changes c USING (incident_id, tenant_id, mailbox_upn)
LEFT JOIN blind b USING (incident_id, tenant_id, mailbox_upn)
"""

# The users, applications and client IPs of each incident's alerts (sorted, distinct), for
# _inc_people, made in Python: list functions per row cost DuckDB ~0.2 ms each, and lists read
# through a join convert to Python slowly (each row copies the join's whole list buffer).
PEOPLE = """
SELECT a.id, a.users, a.app_ids, a.client_ips FROM alerts a
SEMI JOIN incident_alerts n ON n.alert_id = a.id
"""

# The incidents' rows, from their alerts and records; status, assignee, created_at and
# merged_into are the stored ones (a rebuild never loses them). $now, $severities bound.
INCIDENTS_UPSERT = f"""
INSERT INTO incidents BY NAME
WITH members AS (
    SELECT n.incident_id, a.* FROM incident_alerts n JOIN alerts a ON a.id = n.alert_id
),
by_alerts AS (
    SELECT incident_id,
           arg_max(title, struct_pack(r := list_position($severities, severity),
                                      f := -epoch(first_seen))) AS top_title,
           count(DISTINCT id) AS alert_count,
           list_extract($severities, max(list_position($severities, severity))) AS severity,
           list(id ORDER BY first_seen, id) AS alert_ids,
           min(first_seen) AS alerts_first, max(last_seen) AS alerts_last
    FROM members GROUP BY incident_id
),
tenants AS (SELECT incident_id, list_sort(list(DISTINCT tenant_id)) AS tenant_ids
            FROM incident_alerts GROUP BY ALL),
campaigns AS (  -- the campaign whose alert was placed here (not any member alert's: an
                -- alert citing two intruders is in both their incidents)
    SELECT n.incident_id, min(m.campaign_id) AS campaign_id
    FROM incident_alerts n JOIN alerts a ON a.id = n.alert_id AND a.rule_id = '{CAMPAIGN_RULE}'
    JOIN campaign_members m ON m.alert_id = n.alert_id GROUP BY ALL
),
records AS (
    SELECT incident_id, count(*) AS event_count, min(time) AS first_seen, max(time) AS last_seen
    FROM incident_records GROUP BY ALL
),
mailboxes AS (SELECT incident_id, list(DISTINCT mailbox_upn ORDER BY mailbox_upn) AS mailboxes
              FROM incident_mailboxes GROUP BY ALL),
messages AS (SELECT incident_id, count(DISTINCT internet_message_id) AS message_count
             FROM incident_messages GROUP BY ALL)
SELECT b.incident_id AS id,
       b.top_title || CASE WHEN b.alert_count > 1
                           THEN ' (+' || (b.alert_count - 1) || ' more alerts)' ELSE '' END
       || ': ' || len(coalesce(x.mailboxes, [])) || ' mailbox(es)' AS title,
       b.severity, 'new' AS status, NULL AS assignee, t.tenant_ids,
       coalesce(x.mailboxes, []) AS mailboxes, p.users, p.app_ids, p.client_ips, b.alert_ids,
       c.campaign_id, coalesce(r.first_seen, b.alerts_first) AS first_seen,
       coalesce(r.last_seen, b.alerts_last) AS last_seen, coalesce(r.event_count, 0) AS event_count,
       coalesce(m.message_count, 0) AS message_count, $now AS created_at, $now AS updated_at,
       NULL AS merged_into
FROM by_alerts b JOIN tenants t USING (incident_id)
JOIN _inc_people p USING (incident_id)
LEFT JOIN campaigns c USING (incident_id)
LEFT JOIN records r USING (incident_id)
LEFT JOIN mailboxes x USING (incident_id)
LEFT JOIN messages m USING (incident_id)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, severity = excluded.severity, tenant_ids = excluded.tenant_ids,
    mailboxes = excluded.mailboxes, users = excluded.users, app_ids = excluded.app_ids,
    client_ips = excluded.client_ips,
    updated_at = CASE WHEN incidents.alert_ids IS DISTINCT FROM excluded.alert_ids
                      THEN excluded.updated_at ELSE incidents.updated_at END,
    alert_ids = excluded.alert_ids, campaign_id = excluded.campaign_id,
    first_seen = excluded.first_seen, last_seen = excluded.last_seen,
    event_count = excluded.event_count, message_count = excluded.message_count,
    merged_into = NULL
"""
