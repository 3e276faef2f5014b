"""A STIX 2.1 bundle of what the attacker was seen using (``stix2``): client IPs, client
applications and user agents of the findings' evidence, each an Indicator (a STIX pattern),
a Sighting (first and last seen, how many records, in which tenants) and, where STIX has a
Cyber-observable for it, the observable and an Observed Data object. mailhunt is the
creating Identity (a system); each tenant is an organisation Identity the sightings name.

- **IPs**: ``ipv4-addr`` / ``ipv6-addr`` (a value that is not an address is not an indicator).
- **Applications**: ``software`` named by the application (client) id, not ``identity``: an
  indicator's pattern and an observed-data object can only hold Cyber-observables, and an
  Identity (an SDO) is neither; an application registration is a software product, and its id
  is what other tools find in their logs (``[software:name = '<app id>']``).
- **User agents**: a pattern on the HTTP request header
  (``network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'``), with no
  observed object: a network-traffic object would need request method and path mailhunt does
  not know.
- **Tokens and sessions** are not in the bundle: STIX 2.1 has no object for an OAuth token or
  an Entra session, and a custom one would not parse for consumers that refuse custom content;
  they are in the JSON Lines and OCSF exports (``access``/``evidences``).

Ids are deterministic: observables get STIX's own (UUIDv5 of their value), the other objects
a UUIDv5 of a JSON array naming them; times come from the data (created = the first alert
that saw the value, modified = the last), so the same store gives the same bundle. Pattern
string literals escape ``\\`` and ``'`` (STIX 2.1 patterning: string literals).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mailhunt.export.base import Export, Exporter, ExportFile
from mailhunt.export.data import AlertFinding, IncidentFinding
from mailhunt.export.subjects import ALERTS, INCIDENTS

NAMESPACE = uuid.UUID("a39358ce-0d4d-4acd-a980-7a2a94f97b0e")  # mailhunt's STIX ids
MAILHUNT_CREATED = datetime(2024, 1, 1, tzinfo=UTC)
USER_AGENT_PATH = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
LABELS = {"ip": "Client IP", "app": "Client application", "user_agent": "User agent"}


def stix_id(kind: str, *names: str) -> str:
    """A deterministic id for a STIX object of type ``kind`` named by ``names``."""
    key = json.dumps([kind, *names], ensure_ascii=False)
    return f"{kind}--{uuid.uuid5(NAMESPACE, key)}"


def quoted(value: str) -> str:
    """A STIX pattern string literal: backslashes and single quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Observation:
    """One value seen in the evidence of one or more findings."""

    kind: str  # ip, app, user_agent
    value: str
    records: int
    first_seen: datetime
    last_seen: datetime
    created: datetime  # the first finding's creation
    modified: datetime
    alerts: dict[str, str] = field(default_factory=dict)  # id -> title
    tenants: dict[str, None] = field(default_factory=dict)

    def add(self, records: int, first: datetime, last: datetime, finding: AlertFinding) -> None:
        alert = finding.alert
        self.records += records
        self.first_seen, self.last_seen = min(self.first_seen, first), max(self.last_seen, last)
        self.created = min(self.created, alert.created_at)
        self.modified = max(self.modified, alert.created_at)
        self.alerts.setdefault(alert.id, alert.title)
        self.tenants.update(dict.fromkeys(alert.tenant_ids))


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _values(finding: AlertFinding) -> Iterator[tuple[str, str, int, datetime, datetime]]:
    """(kind, value, records, first, last) of a finding's evidence; an alert without stored
    evidence gives its own IPs and applications over its own period."""
    alert = finding.alert
    if not finding.access:
        for ip in alert.client_ips:
            yield "ip", ip, alert.event_count, alert.first_seen, alert.last_seen
        for app in alert.app_ids:
            yield "app", app, alert.event_count, alert.first_seen, alert.last_seen
    for c in finding.access:
        for kind, value in (("ip", c.client_ip), ("app", c.app_id), ("user_agent", c.user_agent)):
            if value:
                yield kind, value, c.records, c.first_seen, c.last_seen


def observations(findings: list[AlertFinding]) -> list[Observation]:
    """Every value seen, once, ordered by kind then value (IPs that are not addresses out)."""
    seen: dict[tuple[str, str], Observation] = {}
    for finding in findings:
        for kind, raw, records, first, last in _values(finding):
            value = _ip(raw) if kind == "ip" else raw
            if value is None:
                continue
            key = (kind, value)
            if key not in seen:
                created = finding.alert.created_at
                seen[key] = Observation(kind, value, 0, first, last, created, created)
            seen[key].add(records, first, last, finding)
    return [seen[key] for key in sorted(seen)]


def _observable(observation: Observation) -> Any | None:
    import stix2  # (imported when a bundle is written: 0.3 s)

    if observation.kind == "app":
        return stix2.Software(name=observation.value)
    if observation.kind == "ip":
        version = ipaddress.ip_address(observation.value).version
        kind = stix2.IPv4Address if version == 4 else stix2.IPv6Address
        return kind(value=observation.value)
    return None


def _pattern(observation: Observation, observable: Any | None) -> str:
    if observable is None:
        return f"[{USER_AGENT_PATH} = {quoted(observation.value)}]"
    prop = "name" if observation.kind == "app" else "value"
    return f"[{observable.type}:{prop} = {quoted(observation.value)}]"


def _common(observation: Observation, kind: str, creator: str) -> dict[str, Any]:
    return {
        "id": stix_id(kind, observation.kind, observation.value),
        "created": observation.created,
        "modified": observation.modified,
        "created_by_ref": creator,
    }


def _indicator(observation: Observation, observable: Any | None, creator: str) -> Any:
    import stix2  # (imported when a bundle is written: 0.3 s)

    label = LABELS[observation.kind]
    titles = sorted(set(observation.alerts.values()))
    return stix2.Indicator(
        **_common(observation, "indicator", creator),
        name=f"{label} {observation.value}",
        description=(
            f"{label} seen by mailhunt in {observation.records} record(s) of "
            f"{len(observation.alerts)} alert(s): {'; '.join(titles)}"
        ),
        indicator_types=["anomalous-activity"],
        pattern=_pattern(observation, observable),
        pattern_type="stix",
        valid_from=observation.first_seen,
        external_references=[
            {"source_name": "mailhunt", "external_id": alert_id, "description": title}
            for alert_id, title in observation.alerts.items()
        ],
    )


def _objects(observation: Observation, tenants: dict[str, Any], creator: str) -> list[Any]:
    """The observable (if any), its observed data, the indicator and the sighting."""
    import stix2  # (imported when a bundle is written: 0.3 s)

    observable = _observable(observation)
    indicator = _indicator(observation, observable, creator)
    found: list[Any] = [indicator]
    observed_refs = []
    if observable is not None:
        observed = stix2.ObservedData(
            **_common(observation, "observed-data", creator),
            first_observed=observation.first_seen,
            last_observed=observation.last_seen,
            number_observed=max(1, min(observation.records, 999_999_999)),
            object_refs=[observable.id],
        )
        found = [observable, observed, indicator]
        observed_refs = [observed.id]
    sighting = stix2.Sighting(
        **_common(observation, "sighting", creator),
        sighting_of_ref=indicator.id,
        first_seen=observation.first_seen,
        last_seen=observation.last_seen,
        count=min(observation.records, 999_999_999),
        observed_data_refs=observed_refs or None,
        where_sighted_refs=[tenants[t].id for t in observation.tenants] or None,
    )
    return [*found, sighting]


def _tenant(tenant_id: str, seen: list[Observation], creator: str) -> Any:
    import stix2  # (imported when a bundle is written: 0.3 s)

    return stix2.Identity(
        id=stix_id("identity", "tenant", tenant_id),
        created=min(o.created for o in seen),
        modified=max(o.modified for o in seen),
        created_by_ref=creator,
        name=tenant_id,
        identity_class="organization",
        description="A tenant (organisation) whose logs mailhunt read",
    )


def bundle(findings: list[AlertFinding]) -> Any:
    """The STIX 2.1 bundle of the findings' observed values."""
    import stix2  # (imported when a bundle is written: 0.3 s)

    creator = stix2.Identity(
        id=stix_id("identity", "mailhunt"),
        created=MAILHUNT_CREATED,
        modified=MAILHUNT_CREATED,
        name="mailhunt",
        identity_class="system",
        description="mailhunt: mailbox espionage detection from audit and sign-in logs",
    )
    seen = observations(findings)
    names = sorted({t for o in seen for t in o.tenants})
    tenants = {t: _tenant(t, [o for o in seen if t in o.tenants], creator.id) for t in names}
    objects = [creator, *tenants.values()]
    for observation in seen:
        objects += _objects(observation, tenants, creator.id)
    return stix2.Bundle(*objects, id=stix_id("bundle", *sorted(o.id for o in objects)))


def alerts_stix(findings: list[AlertFinding]) -> list[ExportFile]:
    return [ExportFile("alerts.stix.json", stix_text(bundle(findings)))]


def stix_text(stix_bundle: Any) -> str:
    """The bundle as indented JSON, ASCII only: every other character, and DEL, a JSON escape
    (lossless; a terminal showing the file obeys nothing)."""
    text: str = stix_bundle.serialize(pretty=True, ensure_ascii=True)
    return text.replace("\x7f", "\\u007f") + "\n"


def incidents_stix(findings: list[IncidentFinding]) -> list[ExportFile]:
    """The bundle of the incidents' alerts (each alert once)."""
    alerts = {a.alert.id: a for f in findings for a in f.alerts}
    return [ExportFile("incidents.stix.json", stix_text(bundle(list(alerts.values()))))]


EXPORTER = Exporter(
    "stix",
    "a STIX 2.1 bundle of the attacker's IPs, applications and user agents",
    (Export(ALERTS, alerts_stix), Export(INCIDENTS, incidents_stix)),
)
