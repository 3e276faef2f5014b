"""What one tenant's notice says, read from the store and restricted to that tenant.

Incidents are per tenant (``investigate.grouping``), but what an incident row carries from its
alerts is not: a cross-tenant campaign's alert is a member of every tenant's incident, so the
incident's ``users``, ``app_ids`` and ``client_ips`` (unions over its alerts) can hold another
organisation's values. A notice therefore never reads them: everything it names comes from
the records attributed to the intruder *in this tenant* (``incident_records`` and the blast
radius rows, each filtered on the tenant), and a campaign is only counted (how many other
organisations the same actor was seen in).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailhunt.detect.sql_pieces import microsoft_app
from mailhunt.errors import InputError
from mailhunt.investigate.incidents import blast_radius, list_incidents, resolve_id
from mailhunt.investigate.model import BlastRadius, Incident
from mailhunt.investigate.radius import CAMPAIGN_RULE
from mailhunt.store.db import Store

FALSE_POSITIVE = "false-positive"


@dataclass(frozen=True)
class Involved:
    """One value seen in the tenant's attributed records: an application, address, session,
    user agent or user, with how many records carried it and when."""

    kind: str  # app, ip, session, exchange-session, user-agent, user
    value: str
    records: int
    first_seen: datetime
    last_seen: datetime
    microsoft: bool = False  # an application of Microsoft's own (not removed, sessions revoked)


@dataclass(frozen=True)
class Spray:
    """A password spray before the intrusion: an address that failed sign-ins of several users
    and signed one of them in."""

    ip: str
    users_tried: int
    failed: int
    signed_in: list[str]  # users it then signed in successfully


@dataclass(frozen=True)
class IncidentFacts:
    """One incident as this tenant's notice tells it."""

    radius: BlastRadius  # rows of this tenant only
    involved: list[Involved]
    sprays: list[Spray]
    other_organisations: int  # tenants the same actor (campaign) was seen in besides this one
    alert_ids: list[str] = field(default_factory=list)  # its alerts in this tenant, campaigns aside

    @property
    def incident(self) -> Incident:
        return self.radius.incident

    def values(self, kind: str) -> list[Involved]:
        return [i for i in self.involved if i.kind == kind]


@dataclass(frozen=True)
class TenantFacts:
    """Everything a tenant's notice holds."""

    tenant_id: str
    incidents: list[IncidentFacts] = field(default_factory=list)


def affected_tenants(store: Store, incident_id: str | None = None) -> list[TenantFacts]:
    """Each tenant with at least one incident not marked false-positive (or the tenant(s) of
    ``incident_id``), ordered by tenant id, with its incidents' facts."""
    if incident_id is not None:
        wanted = resolve_id(store, incident_id)
        incidents = [i for i in list_incidents(store) if i.id == wanted]
        if incidents and incidents[0].status == FALSE_POSITIVE:
            raise InputError(f"incident {wanted} is marked false-positive: no notice")
    else:
        incidents = [i for i in list_incidents(store) if i.status != FALSE_POSITIVE]
    by_tenant: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        for tenant in incident.tenant_ids:
            by_tenant[tenant].append(incident)
    return [
        TenantFacts(tenant, [_incident_facts(store, tenant, i) for i in by_tenant[tenant]])
        for tenant in sorted(by_tenant)
    ]


def _incident_facts(store: Store, tenant: str, incident: Incident) -> IncidentFacts:
    return IncidentFacts(
        radius=tenant_radius(blast_radius(store, incident.id), tenant),
        involved=_involved(store, tenant, incident.id),
        sprays=_sprays(store, tenant, incident.id),
        other_organisations=_other_organisations(store, tenant, incident.campaign_id),
        alert_ids=[
            str(row[0])
            for row in store.query(
                "SELECT n.alert_id FROM incident_alerts n JOIN alerts a ON a.id = n.alert_id "
                "WHERE n.incident_id = $1 AND n.tenant_id = $2 AND a.rule_id <> $3 "
                "ORDER BY a.first_seen, n.alert_id",
                [incident.id, tenant, CAMPAIGN_RULE],
            )
        ],
    )


def tenant_radius(radius: BlastRadius, tenant: str) -> BlastRadius:
    """The blast radius with only this tenant's rows, and an incident that carries nothing
    from other tenants (its alert-derived lists emptied or rebuilt from the tenant's rows)."""
    incident = radius.incident
    records = [r for r in radius.records if r.tenant_id == tenant]
    windows = [w for w in radius.blind_windows if w.tenant_id == tenant]
    messages = [m for m in radius.messages if m.tenant_id == tenant]
    mailboxes = [m for m in radius.mailboxes if m.tenant_id == tenant]
    own = replace(
        incident,
        tenant_ids=[tenant],
        mailboxes=sorted({m.mailbox_upn for m in mailboxes}),
        users=sorted({r.actor_upn for r in records if r.actor_upn}),
        app_ids=[],
        client_ips=sorted({r.client_ip for r in records if r.client_ip}),
        alert_ids=[],
        campaign_id=None,
        event_count=len(records),
        message_count=len({m.internet_message_id for m in messages}),
        event_ids=sorted(r.record_id for r in records),
        messages=sorted({m.internet_message_id for m in messages}),
        blind_windows=windows,
        notes=[],
        merged_ids=[],
    )
    return replace(
        radius,
        incident=own,
        mailboxes=mailboxes,
        messages=messages,
        syncs=[s for s in radius.syncs if s.tenant_id == tenant],
        blind_windows=windows,
        actions=[a for a in radius.actions if a.tenant_id == tenant],
        records=records,
    )


# The values carried by the incident's records in the tenant, per kind: one query. Accounts
# are those acting in a record that succeeded (a spray's failed sign-ins name the accounts it
# tried: counted in the spray, not listed).
_INVOLVED = f"""
WITH r AS (SELECT record_id FROM incident_records WHERE incident_id = $1 AND tenant_id = $2),
ctx AS (
    SELECT lower(coalesce(e.client_app_id, e.app_id)) AS app, e.client_ip AS ip,
           e.aad_session_id AS session, e.session_id AS exchange_session, e.user_agent,
           e.actor_upn AS actor, e.time, true AS ok
    FROM r JOIN events e ON e.record_id = r.record_id AND e.tenant_id = $2
    UNION ALL
    SELECT lower(s.app_id), s.client_ip, s.session_id, NULL, s.user_agent, s.user_upn, s.time,
           coalesce(s.error_code, 0) = 0
    FROM r JOIN signins s ON s.record_id = r.record_id AND s.tenant_id = $2
),
kinds AS (
    SELECT 'app' AS kind, app AS value, time FROM ctx WHERE app IS NOT NULL
    UNION ALL SELECT 'ip', ip, time FROM ctx WHERE ip IS NOT NULL
    UNION ALL SELECT 'session', session, time FROM ctx WHERE session IS NOT NULL
    UNION ALL SELECT 'exchange-session', exchange_session, time FROM ctx
    WHERE exchange_session IS NOT NULL
    UNION ALL SELECT 'user-agent', user_agent, time FROM ctx WHERE user_agent IS NOT NULL
    UNION ALL SELECT 'user', lower(actor), time FROM ctx WHERE contains(actor, '@') AND ok
)
SELECT kind, value, count(*), min(time), max(time),
       kind = 'app' AND {microsoft_app("value")}
FROM kinds GROUP BY kind, value
ORDER BY list_position(['user', 'app', 'ip', 'session', 'exchange-session', 'user-agent'], kind),
         min(time), value
"""


def _involved(store: Store, tenant: str, incident_id: str) -> list[Involved]:
    return [Involved(*row) for row in store.query(_INVOLVED, [incident_id, tenant])]


# Addresses among the incident's records that failed sign-ins of two users or more (the
# radius attributes a spray's addresses), with the users they then signed in.
_SPRAYS = """
WITH ips AS (SELECT DISTINCT client_ip AS ip FROM incident_records
             WHERE incident_id = $1 AND tenant_id = $2 AND client_ip IS NOT NULL),
tries AS (
    SELECT s.client_ip AS ip, count(DISTINCT lower(s.user_upn)) AS users, count(*) AS failed
    FROM signins s JOIN ips ON ips.ip = s.client_ip
    WHERE s.tenant_id = $2 AND coalesce(s.error_code, 0) <> 0 GROUP BY ALL
    HAVING count(DISTINCT lower(s.user_upn)) >= 2
),
hits AS (
    SELECT s.client_ip AS ip, list_sort(list(DISTINCT lower(s.user_upn))) AS users
    FROM signins s JOIN tries t ON t.ip = s.client_ip
    JOIN incident_records i ON i.record_id = s.record_id AND i.incident_id = $1
    WHERE s.tenant_id = $2 AND coalesce(s.error_code, 0) = 0 AND s.user_upn IS NOT NULL
    GROUP BY ALL
)
SELECT t.ip, t.users, t.failed, coalesce(h.users, []) FROM tries t LEFT JOIN hits h USING (ip)
ORDER BY t.ip
"""


def _sprays(store: Store, tenant: str, incident_id: str) -> list[Spray]:
    return [
        Spray(ip, users, failed, list(signed))
        for ip, users, failed, signed in store.query(_SPRAYS, [incident_id, tenant])
    ]


# Other tenants of the campaign: the campaign alert's tenants and the tenants of the live
# incidents linked by it, this one aside (a count: no notice names them).
_OTHERS = """
SELECT count(DISTINCT t) FROM (
    SELECT unnest(tenant_ids) AS t FROM alerts WHERE id = $1
    UNION ALL SELECT unnest(tenant_ids) FROM incidents
    WHERE campaign_id = $1 AND merged_into IS NULL
) WHERE t <> $2
"""


def _other_organisations(store: Store, tenant: str, campaign_id: str | None) -> int:
    if campaign_id is None:
        return 0
    return int(store.query(_OTHERS, [campaign_id, tenant])[0][0])
