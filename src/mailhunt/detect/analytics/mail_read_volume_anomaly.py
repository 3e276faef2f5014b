"""A mailbox reads far more messages in an hour than it ever does, above all at night.

What it detects: messages read per mailbox per UTC hour (MailItemsAccessed: the items each Bind
lists, ``events.item_count``; a Sync, a whole folder downloaded with its items unlisted, counts
as one folder) against that mailbox's own history, with robust statistics: the median and the
median absolute deviation (MAD) of its active hours in the ``baseline_days`` (14) before the
hour. An hour is anomalous when its volume is at least ``min_hourly_messages`` (500) and its
robust score, (volume - median) / (1.4826 x MAD, at least 1), at least ``volume_score`` (20).
Outside the tenant's working hours both bars are divided by ``off_hours_weight`` (3). A mailbox
is judged once it has ``min_baseline_hours`` (10) active hours in its baseline. One alert per
tenant, mailbox and UTC day, citing the records of its anomalous hours.

Working hours are the tenant's own: the UTC hours of the day that hold ``working_hours_share``
(0.9) of its people's active mailbox-hours (hours in which a user principal read a mailbox;
applications reading with their own permission, such as nightly archivers, do not count),
taking the busiest hours first. Counting active mailbox-hours, not messages, keeps one bulk
reader from making its own hours "working" ones. The alert's ``why`` states the hours.

Why: mailbox espionage reads in bulk. Storm-0558 pulled whole folders and worked from 00:00 to
09:00 UTC, outside its victims' working day; a thief using a stolen token reads in hours what
the owner reads in weeks. Each mailbox is compared with itself, so a heavy reader's normal day
is not an anomaly and a light reader's stolen mailbox is.

Severity: high outside the tenant's working hours; medium inside them.

Known false positives: a mail client rebuilding its cache or a new device downloading a mailbox
(mostly Sync records, counted per folder, and in working hours where the bars are higher);
eDiscovery, migration, backup and archiving tools that bind every message (their own
application: see app-mailbox-fanout's baselines); users who read mail at night only rarely
exceed the volume bar. Tenants spread over many time zones have wide working hours, which
lowers the weight of the night.

References:
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
https://attack.mitre.org/techniques/T1114/002/
"""

from __future__ import annotations

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.sql_pieces import APP_KEY, APP_ONLY, MESSAGES_READ, distinct_list

SQL = f"""
WITH hourly AS (
    SELECT tenant_id, mailbox_upn, date_trunc('hour', time) AS read_hour,
           sum({MESSAGES_READ}) AS messages,
           count(*) FILTER (WHERE access_type = 'Sync') AS syncs,
           bool_or(NOT {APP_ONLY}) AS by_people
    FROM events
    WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL
    GROUP BY ALL
),
tenant_hours AS (  -- active mailbox-hours of the tenant's people per hour of the day (UTC)
    SELECT tenant_id, extract('hour' FROM read_hour) AS hour_of_day, count(*) AS active
    FROM hourly WHERE by_people GROUP BY ALL
),
ranked AS (
    SELECT *,
           sum(active) OVER (PARTITION BY tenant_id ORDER BY active DESC, hour_of_day
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS busier,
           sum(active) OVER (PARTITION BY tenant_id) AS total
    FROM tenant_hours
),
working AS (
    SELECT tenant_id, hour_of_day FROM ranked
    WHERE coalesce(busier, 0) < $working_hours_share * total
),
working_lists AS (
    SELECT tenant_id, list_sort(list(hour_of_day)) AS hours FROM working GROUP BY tenant_id
),
candidates AS (  -- hours that could reach the volume floor: only they need a baseline
    SELECT h.*, wk.hour_of_day IS NULL AS off_hours
    FROM hourly h
    LEFT JOIN working wk
      ON wk.tenant_id = h.tenant_id AND wk.hour_of_day = extract('hour' FROM h.read_hour)
    WHERE h.messages * CASE WHEN wk.hour_of_day IS NULL THEN $off_hours_weight ELSE 1 END
          >= $min_hourly_messages
),
scored AS (  -- each candidate hour against the mailbox's own hours before it
    SELECT c.tenant_id, c.mailbox_upn, c.read_hour, c.messages, c.syncs, c.by_people,
           c.off_hours,
           median(b.messages) AS baseline_median,
           mad(b.messages) AS baseline_mad,
           count(b.messages) AS baseline_hours
    FROM candidates c
    LEFT JOIN hourly b
      ON b.tenant_id = c.tenant_id AND b.mailbox_upn = c.mailbox_upn
     AND b.read_hour >= c.read_hour - to_days($baseline_days)
     AND b.read_hour <= c.read_hour - to_hours(1)
    GROUP BY ALL
),
anomalies AS (
    SELECT *,
           (messages - baseline_median) / greatest(1.4826 * baseline_mad, 1) AS score,
           CASE WHEN off_hours THEN $off_hours_weight ELSE 1 END AS weight
    FROM scored
    WHERE baseline_hours >= $min_baseline_hours
),
hits AS (
    SELECT * FROM anomalies
    WHERE messages * weight >= $min_hourly_messages AND score * weight >= $volume_score
),
evidence AS (
    SELECT h.tenant_id, h.mailbox_upn, h.read_hour, e.record_id, e.time, e.actor_upn, e.client_ip,
           e.app_id, {APP_KEY} AS app_key
    FROM events e
    JOIN hits h ON h.tenant_id = e.tenant_id AND h.mailbox_upn = e.mailbox_upn
     AND h.read_hour = date_trunc('hour', e.time)
    WHERE e.operation = 'MailItemsAccessed'
),
per_day AS (
    SELECT tenant_id, mailbox_upn, date_trunc('day', read_hour) AS bucket,
           bool_or(off_hours) AS off_hours, sum(messages) AS messages, max(messages) AS peak,
           arg_max(read_hour, messages) AS peak_hour, max(score) AS score,
           arg_max(baseline_median, messages) AS baseline_median,  -- the peak hour's
           arg_max(baseline_mad, messages) AS baseline_mad,
           min(baseline_hours) AS baseline_hours,
           list(struct_pack(hour := read_hour, messages := messages, syncs := syncs,
                            off_hours := off_hours, score := round(score, 1))
                ORDER BY read_hour) AS hours
    FROM hits GROUP BY ALL
)
SELECT
    CAST(to_json([d.tenant_id, d.mailbox_upn]) AS VARCHAR) AS entity,
    d.bucket,
    CASE WHEN d.off_hours THEN 'high' ELSE 'medium' END AS severity,
    'Mailbox ' || d.mailbox_upn || ' had ' || d.messages || ' message(s) read in ' ||
      len(d.hours) || ' hour(s) (peak ' || d.peak || ' at ' ||
      strftime(d.peak_hour, '%H:00 UTC') || ') against a median of ' ||
      d.baseline_median || ' per active hour' ||
      CASE WHEN d.off_hours THEN ', outside the tenant''s working hours (' ||
           coalesce(array_to_string(wl.hours, ','), 'none') || ' UTC)'
           ELSE ', in working hours' END AS summary,
    {distinct_list("e.tenant_id")} AS tenant_ids,
    {distinct_list("e.mailbox_upn")} AS mailboxes,
    {distinct_list("e.actor_upn")} AS users,
    {distinct_list("e.app_key", "e.app_id")} AS app_ids,
    {distinct_list("e.client_ip")} AS client_ips,
    min(e.time) AS first_seen,
    max(e.time) AS last_seen,
    {distinct_list("e.record_id")} AS event_ids,
    CAST(to_json(struct_pack(
        baseline := 'messages read per active hour by this mailbox in the '
                    || $baseline_days || ' days before: median ' || d.baseline_median ||
                    ', MAD ' || d.baseline_mad || ' over ' || d.baseline_hours || ' hour(s)',
        new := d.peak || ' messages read in one hour (robust score ' || round(d.score, 1) ||
               ')' || CASE WHEN d.off_hours THEN ' outside working hours' ELSE '' END,
        working_hours_utc := wl.hours,
        working_hours_rule := 'hours of the day holding ' || $working_hours_share ||
                              ' of the tenant''s people''s active mailbox-hours',
        hours := d.hours
    )) AS VARCHAR) AS why
FROM per_day d
JOIN evidence e ON e.tenant_id = d.tenant_id AND e.mailbox_upn = d.mailbox_upn
 AND date_trunc('day', e.read_hour) = d.bucket
LEFT JOIN working_lists wl ON wl.tenant_id = d.tenant_id
GROUP BY d.tenant_id, d.mailbox_upn, d.bucket, d.off_hours, d.messages, d.hours, d.peak,
         d.peak_hour, d.baseline_median, d.baseline_mad, d.baseline_hours, d.score, wl.hours
"""

ANALYTIC = Analytic(
    id="mail-read-volume-anomaly",
    title="Mailbox reads far more messages in an hour than its history",
    severity="medium",
    technique="T1114.002",
    doc=__doc__ or "",
    sql=SQL,
    tables=("events",),
    parameters=(
        Parameter(
            "baseline_days",
            int,
            14,
            "Days of a mailbox's history an hour of its reading is compared with.",
            minimum=1,
        ),
        Parameter(
            "min_baseline_hours",
            int,
            10,
            "Active hours a mailbox needs in its baseline before its volume is judged.",
            minimum=1,
        ),
        Parameter(
            "min_hourly_messages",
            int,
            500,
            "Messages read in one hour below which no hour alerts (in working hours; divided "
            "by off_hours_weight outside them).",
            minimum=1,
        ),
        Parameter(
            "volume_score",
            float,
            20.0,
            "Robust score, (volume - median) / (1.4826 MAD), an hour must reach (in working "
            "hours; divided by off_hours_weight outside them).",
            minimum=0,
        ),
        Parameter(
            "off_hours_weight",
            float,
            3.0,
            "How much more an hour outside the tenant's working hours counts.",
            minimum=1,
        ),
        Parameter(
            "working_hours_share",
            float,
            0.9,
            "Share of the tenant's active mailbox-hours its working hours hold (busiest hours "
            "first).",
            minimum=0,
        ),
    ),
)
