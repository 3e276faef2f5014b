"""Shared pieces of the Google Workspace Reports API formats (a helper module, not a format).

An activity (``admin#reports#activity``) holds ``events[]``; every format maps ONE ROW PER EVENT.
The relations here bring both shapes (the API item, and the Microsoft Sentinel connector's copy
with flattened top-level fields) to the same fields, so one SELECT per table serves both:

``id``, ``etag``, ``actor``, ``ipAddress``, ``networkInfo`` (as in the activity), ``event_name``,
``event_type``, ``occurrence`` (1 for the first event of that name in the activity, 2 for the
second...) and one ``p_<name>`` column per event parameter in PARAMS.

Record id: ``<uniqueQualifier>|<id.time>|<event name>[|<etag item>][|#<occurrence>]``. The
uniqueQualifier alone is not unique (a login and its 2-step verification share one, at the same
millisecond); the etag item (the part after the last ``/``: the prefix differs per API response)
separates activities that share qualifier, time and event name; ``#n`` separates an event name
repeated inside one activity. Reference:
https://developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list
"""

from __future__ import annotations

from collections.abc import Callable

from mailhunt.formats.base import Record, Sample, bare_ip, utc_time

PARAMETER = (
    "STRUCT(name VARCHAR, value VARCHAR, intValue VARCHAR, boolValue VARCHAR, "
    "multiValue VARCHAR[], multiIntValue VARCHAR[])"
)

# The typed columns of an activity as activities.list returns it.
COLUMNS = {
    "kind": "VARCHAR",
    "id": "STRUCT(time VARCHAR, uniqueQualifier VARCHAR, applicationName VARCHAR, "
    "customerId VARCHAR)",
    "etag": "VARCHAR",
    "actor": "STRUCT(email VARCHAR, profileId VARCHAR, callerType VARCHAR, key VARCHAR, "
    "applicationInfo STRUCT(oauthClientId VARCHAR, applicationName VARCHAR))",
    "ipAddress": "VARCHAR",
    "ownerDomain": "VARCHAR",
    "networkInfo": "STRUCT(regionCode VARCHAR, subdivisionCode VARCHAR)",
    "events": f"STRUCT(type VARCHAR, name VARCHAR, parameters {PARAMETER}[])[]",
}

# Event parameters the mapping reads -> DuckDB type (VARCHAR: its text, whatever value key holds
# it; VARCHAR[]: multiValue). The Sentinel connector copies them to the top level by name.
PARAMS = {
    "client_id": "VARCHAR",  # token: the OAuth client
    "scope": "VARCHAR[]",  # token: scopes granted or revoked
    "api_name": "VARCHAR",  # token activity: API the client called (gmail, drive...)
    "product_bucket": "VARCHAR",  # token activity: GMAIL, DRIVE...
    "user_agent": "VARCHAR",
    "login_type": "VARCHAR",  # google_password, saml, exchange, reauth
    "login_failure_type": "VARCHAR",
    "login_challenge_status": "VARCHAR",
    "affected_email_address": "VARCHAR",  # account warnings: the account concerned
}

SENTINEL_COLUMNS = {**COLUMNS, "event_name": "VARCHAR", "event_type": "VARCHAR", **PARAMS}

_FIELDS = "_ordinal, id, etag, actor, ipAddress, networkInfo"

# One parameter's text and list, whichever value key the API used.
_PARAMS_OF = (
    "list_transform({0}, lambda p: struct_pack(name := p.name, "
    "text := coalesce(p.value, p.intValue, p.boolValue, array_to_string(p.multiValue, ' '), "
    "array_to_string(p.multiIntValue, ' ')), "
    "items := coalesce(p.multiValue, CASE WHEN p.value IS NOT NULL THEN [p.value] END)))"
)


def _param(name: str, type_: str) -> str:
    """SQL picking a parameter out of the `_params` list built by _PARAMS_OF."""
    part = "items" if type_.endswith("[]") else "text"
    return f"list_filter(_params, lambda q: q.name = '{name}')[1].{part}"


def _param_columns(*, flattened: bool) -> str:
    """The p_<name> columns; the Sentinel copy's top-level field first when `flattened`."""
    return ", ".join(
        (f"coalesce({name}, {_param(name, type_)})" if flattened else _param(name, type_))
        + f" AS p_{name}"
        for name, type_ in PARAMS.items()
    )


# activities.list items: one row per element of events[] (an activity without events keeps
# one row, with a NULL event, so it is stored with a warning rather than lost).
API_RELATION = (
    f"SELECT {_FIELDS}, event_name, event_type, occurrence, {_param_columns(flattened=False)} "
    f"FROM (SELECT {_FIELDS}, e.ev.name AS event_name, e.ev.type AS event_type, "
    "len(list_filter(events[1:e.i], lambda x: x.name = e.ev.name)) AS occurrence, "
    f"{_PARAMS_OF.format('e.ev.parameters')} AS _params "
    "FROM (SELECT *, unnest(list_transform(CASE WHEN len(events) > 0 THEN events ELSE [NULL] "
    "END, lambda ev, i: struct_pack(ev := ev, i := i))) AS e FROM {source}))"
)

# The Sentinel connector already wrote one record per event (event_name, event_type and the
# parameters copied to the top level); older connector versions also kept events[], newer ones
# drop it. The event is the record's event_name; events[] only fills what was not copied.
SENTINEL_RELATION = (
    f"SELECT {_FIELDS}, coalesce(event_name, _ev.name) AS event_name, "
    "coalesce(event_type, _ev.type) AS event_type, 1 AS occurrence, "
    f"{_param_columns(flattened=True)} "
    f"FROM (SELECT *, {_PARAMS_OF.format('_ev.parameters')} AS _params "
    "FROM (SELECT *, CASE WHEN event_name IS NULL THEN events[1] "
    "ELSE list_filter(events, lambda x: x.name = event_name)[1] END AS _ev FROM {source}))"
)

_ETAG_ITEM = "nullif(regexp_extract(trim(etag, '\"'), '[^/]*$'), '')"

RECORD_ID = (
    "CASE WHEN nullif(id.uniqueQualifier, '') IS NOT NULL AND nullif(id.time, '') IS NOT NULL "
    "THEN id.uniqueQualifier || '|' || id.time || '|' || coalesce(event_name, '') "
    f"|| coalesce('|' || {_ETAG_ITEM}, '') "
    "|| CASE WHEN occurrence > 1 THEN '|#' || occurrence ELSE '' END END"
)

WARNINGS = "CASE WHEN event_name IS NULL THEN ['no_events'] END"

# The columns both tables fill the same way.
_COMMON = {
    "record_id": RECORD_ID,
    "time": utc_time("id.time"),
    "tenant_id": "lower(id.customerId)",
    "client_ip": bare_ip("ipAddress"),
    "warnings": WARNINGS,
}

# Events acting on the actor's own mailbox (mailbox_upn is then the actor): forwarding all mail
# out of the domain, and token events that give, take or use access to Gmail.
MAILBOX_EVENTS = ("email_forwarding_out_of_domain",)
_MAIL_ACCESS = (
    "event_name IN (" + ", ".join(f"'{name}'" for name in MAILBOX_EVENTS) + ") "
    "OR id.applicationName = 'token' AND (len(list_filter(p_scope, lambda s: "
    "s LIKE 'https://mail.google.com/%' OR s LIKE '%/auth/gmail.%')) > 0 "
    "OR lower(p_api_name) = 'gmail' OR contains(upper(p_product_bucket), 'GMAIL'))"
)

EVENTS_SELECT = {
    **_COMMON,
    "workload": "id.applicationName",
    "operation": "event_name",
    "actor_upn": "lower(actor.email)",
    "mailbox_upn": f"CASE WHEN {_MAIL_ACCESS} THEN lower(actor.email) END",
    "app_id": "lower(p_client_id)",
    "client_app_id": "lower(actor.applicationInfo.oauthClientId)",
    "user_agent": "p_user_agent",
}

# Login event -> error code (0 success, 1 failure, NULL: not an authentication outcome, e.g.
# logout or an account warning). Google gives no numeric codes; the reason is in failure_reason.
_CHALLENGE = (
    "CASE WHEN contains(lower(p_login_challenge_status), 'fail') THEN 1 "
    "WHEN contains(lower(p_login_challenge_status), 'pass') THEN 0 END"
)
LOGIN_ERROR = {
    "login_success": "0",
    "login_failure": "1",
    "login_challenge": _CHALLENGE,
    "login_verification": _CHALLENGE,
    "risky_sensitive_action_allowed": "0",
    "risky_sensitive_action_blocked": "1",
}
_ERROR = (
    "CAST(CASE event_name "
    + " ".join(f"WHEN '{name}' THEN {code}" for name, code in LOGIN_ERROR.items())
    + " END AS INTEGER)"
)

SIGNINS_SELECT = {
    **_COMMON,
    "user_upn": "lower(coalesce(actor.email, p_affected_email_address))",
    "user_id": "actor.profileId",
    "app_name": "'Google login'",
    "token_issuer_type": "p_login_type",
    "interactive": "true",
    "error_code": _ERROR,
    "failure_reason": (
        f"CASE WHEN {_ERROR} <> 0 "
        "THEN coalesce(p_login_failure_type, nullif(p_login_challenge_status, ''), event_name) END"
    ),
    "country": "networkInfo.regionCode",
}

LOGIN_APPLICATION = "login"


def _application(record: Record) -> str | None:
    """The applicationName of an activity-shaped record (None: not an activity)."""
    ident = record.get("id")
    if not isinstance(ident, dict) or not {"time", "uniqueQualifier"} <= ident.keys():
        return None
    name = ident.get("applicationName")
    return name if isinstance(name, str) else None


def sniffer(shape: str, *, login: bool) -> Callable[[Sample], bool]:
    """A sniffer for activities of `shape`: "api" (items with events[]) or "sentinel" (a sample
    holding any record with the connector's top-level event_name; the two never both claim a
    sample), of the login application (every activity sampled is a login one) when `login`, of
    the other applications otherwise."""

    def sniff(sample: Sample) -> bool:
        if sample.kind != "json":
            return False
        found = [(app, record) for record in sample.records if (app := _application(record))]
        sentinel = any("event_name" in record for _, record in found)
        if shape == "sentinel":
            mine = sentinel
        else:
            mine = not sentinel and any(isinstance(r.get("events"), list) for _, r in found)
        return mine and ({app for app, _ in found} == {LOGIN_APPLICATION}) is login

    return sniff


# Rows a login format leaves to the activity formats: another application's activity in a file
# of login activities is no sign-in (skipped and counted, not quarantined).
NOT_LOGIN = f"id.applicationName <> '{LOGIN_APPLICATION}'"
