"""telemetry-gap: where detection is blind, said as coverage findings, not alerts.

What it finds, per tenant (and per mailbox where the logs allow):

- ``no-signin-logs``: mail access is stored but no Entra sign-in of the tenant is. Nothing can
  tell a forged token from an issued one there: ``token-without-signin`` stays silent on every
  access of the tenant, and this finding says so (with the accesses left unjudged).
- ``no-noninteractive-signins``: sign-ins are stored but none non-interactive. Most tokens come
  from silent refreshes, so user tokens are not judged (``token-without-signin``).
- ``signin-gap``: days with mail access but no sign-in of the tenant inside the period its
  sign-ins cover otherwise (a missing export day): accesses of those days may alert falsely or
  pass unjudged.
- ``mail-access-gap``: days on which the tenant's audit log holds other records but no
  MailItemsAccessed at all (auditing off, the licence's audit level, an export that left the
  mailbox records out).
- ``mailbox-not-audited``: mailboxes that act in the audit log (send, delete, rules) but whose
  mail reads are never audited (MailItemsAccessed is not on for them): nothing read there is
  visible.

Why: Storm-0558 was found by the one customer whose logging recorded the access; tenants without
MailItemsAccessed saw nothing. A responder must know which mailboxes and days mailhunt could not
judge before trusting that no alert means no intrusion.

Findings are computed from the store whenever asked (``mailhunt coverage``): they describe the
logs as they are now, and change as more logs are ingested.

References:
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a (logging recommendations)
https://learn.microsoft.com/purview/audit-log-investigate-accounts
https://learn.microsoft.com/entra/identity/monitoring-health/concept-noninteractive-sign-ins
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailhunt.store.db import Store

ID = "telemetry-gap"

_SQL = """
WITH mail AS (
    SELECT tenant_id, date_trunc('day', time) AS day, count(*) AS accesses
    FROM events WHERE operation = 'MailItemsAccessed' AND mailbox_upn IS NOT NULL
    GROUP BY ALL
),
audit_days AS (
    SELECT tenant_id, date_trunc('day', time) AS day, count(*) AS records
    FROM events WHERE tenant_id IS NOT NULL GROUP BY ALL
),
sign_days AS (
    SELECT tenant_id, date_trunc('day', time) AS day,
           bool_or(interactive IS DISTINCT FROM true) AS silent
    FROM signins WHERE tenant_id IS NOT NULL GROUP BY ALL
),
tenant_mail AS (
    SELECT tenant_id, min(day) AS first_day, max(day) AS last_day, sum(accesses) AS accesses
    FROM mail GROUP BY tenant_id
),
tenant_sign AS (
    SELECT tenant_id, min(day) AS first_day, max(day) AS last_day, bool_or(silent) AS silent
    FROM sign_days GROUP BY tenant_id
),
no_signins AS (
    SELECT 'no-signin-logs' AS kind, m.tenant_id, NULL AS mailbox, m.first_day, m.last_day,
           datediff('day', m.first_day, m.last_day) + 1 AS days, m.accesses AS records,
           'mail access is stored but no sign-in of the tenant: tokens cannot be checked '
             || 'against the sign-ins that should have issued them' AS detail,
           ['token-without-signin'] AS blind_analytics
    FROM tenant_mail m ANTI JOIN tenant_sign s USING (tenant_id)
),
no_silent AS (
    SELECT 'no-noninteractive-signins', m.tenant_id, NULL, s.first_day, s.last_day,
           datediff('day', s.first_day, s.last_day) + 1, m.accesses,
           'sign-ins are stored but none non-interactive: user tokens (mostly issued by '
             || 'silent refreshes) are not checked', ['token-without-signin']
    FROM tenant_mail m JOIN tenant_sign s USING (tenant_id) WHERE NOT s.silent
),
signin_gap AS (
    SELECT 'signin-gap', m.tenant_id, NULL, min(m.day), max(m.day), count(*), sum(m.accesses),
           'days with mail access but no sign-in, inside the period the sign-ins cover',
           ['token-without-signin']
    FROM mail m JOIN tenant_sign s USING (tenant_id)
    ANTI JOIN sign_days d ON d.tenant_id = m.tenant_id AND d.day = m.day
    WHERE m.day BETWEEN s.first_day AND s.last_day
    GROUP BY m.tenant_id
),
mail_gap AS (
    SELECT 'mail-access-gap', a.tenant_id, NULL, min(a.day), max(a.day), count(*),
           sum(a.records),
           'days whose audit log holds other records but no MailItemsAccessed: mail read '
             || 'on them is invisible', ['*']
    FROM audit_days a ANTI JOIN mail m ON m.tenant_id = a.tenant_id AND m.day = a.day
    WHERE a.tenant_id IN (SELECT tenant_id FROM tenant_mail)
    GROUP BY a.tenant_id
),
acting AS (
    SELECT tenant_id, mailbox_upn, min(time) AS first_seen, max(time) AS last_seen,
           count(*) AS records
    FROM events WHERE mailbox_upn IS NOT NULL AND operation <> 'MailItemsAccessed'
    GROUP BY ALL
),
not_audited AS (
    SELECT 'mailbox-not-audited', a.tenant_id, a.mailbox_upn,
           date_trunc('day', a.first_seen), date_trunc('day', a.last_seen),
           datediff('day', a.first_seen, a.last_seen) + 1, a.records,
           'the mailbox acts in the audit log but no read of it is audited '
             || '(MailItemsAccessed off for it?)', ['*']
    FROM acting a
    ANTI JOIN (SELECT DISTINCT tenant_id, mailbox_upn FROM events
               WHERE operation = 'MailItemsAccessed') r USING (tenant_id, mailbox_upn)
)
SELECT * FROM no_signins UNION ALL SELECT * FROM no_silent UNION ALL SELECT * FROM signin_gap
UNION ALL SELECT * FROM mail_gap UNION ALL SELECT * FROM not_audited
ORDER BY 2, 1, 3
"""


@dataclass(frozen=True)
class Finding:
    """Where detection is blind: what kind of gap, where, when, and what it leaves unjudged."""

    kind: str
    tenant_id: str
    mailbox: str | None
    first_day: datetime
    last_day: datetime
    days: int
    records: int  # the records concerned (accesses left unjudged, records on gap days...)
    detail: str
    blind_analytics: list[str]  # analytics that cannot judge there ('*': every mail analytic)


def coverage_findings(store: Store) -> list[Finding]:
    """Every coverage finding the stored logs give, by tenant and kind."""
    return [Finding(*row) for row in store.query(_SQL)]
