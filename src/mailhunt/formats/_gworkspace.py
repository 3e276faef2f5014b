"""Shared pieces of the Google Workspace Reports API formats (a helper module, not a format).

An activity (``admin#reports#activity``) holds ``events``; every format maps ONE ROW PER EVENT.
``events`` is read in both shapes it is stored in: the API's array, and ONE OBJECT, as log
shippers store activities after splitting them into one document per event (Elastic's Google
Workspace integration: the httpjson input's ``response.split`` on ``body.events`` with
``keep_parent: true``; each document is the activity with ``events`` replaced by one of its
elements). The column is read as JSON and cast per shape (``EVENTS``); anything else (a string,
a number) is an activity without events. The relations here bring every shape (the API item, a
shipper's split copy, and the Microsoft Sentinel connector's copy with flattened top-level
fields) to the same fields, so one SELECT per table serves them all:

``id``, ``etag``, ``actor``, ``ipAddress``, ``networkInfo`` (as in the activity), ``event_name``,
``event_type``, ``content`` (the event's parameter digest, below), ``occurrence`` (1 for the first
event of that name and content in the activity, 2 for the second...) and one ``p_<name>`` column
per event parameter in PARAMS.

Record id: ``<uniqueQualifier>|<id.time>|<event name>[|<etag item>][|p:<digest>][|#<n>]``.

- The uniqueQualifier alone is not unique (a login and its 2-step verification share one, at the
  same millisecond): the event name follows it.
- The etag item (the part after the last ``/``: the prefix differs per API response) separates
  activities that share qualifier, time and event name.
- ``p:<digest>`` (the first 16 hex digits of the SHA-256 of the event's parameters, sorted, every
  value key kept: value, intValue, boolValue, multiValue, multiIntValue, multiBoolValue,
  messageValue, multiMessageValue) separates events of one name that say different things: two
  ``change_calendar_setting`` events of one activity, the same two after a shipper split them
  into documents that each hold one event and no longer say which was first, and activities
  that share qualifier and time but carry no etag. A digest of the content, not the event's
  index, because the index does not survive the split and the id must be the same whichever
  shape the event was read from: it depends only on the record's own bytes, so the same
  activity read twice (one file twice, two files, an API page and a shipper's copy) has the
  same ids and is stored once. An event without parameters has no digest (nothing to hash; its
  id is what it was before digests).
- ``#n`` (n > 1) separates events of one activity that are the same in name and content (two
  identical ``download`` events in one ``events`` array are still two events). A shipper's split
  copy cannot tell such twins apart: they are one record there.

Ids changed when digests were added (every event with parameters gained ``|p:<digest>``, and
``#n`` now counts events of the same name AND content): an activity stored under the earlier
ids is stored again when re-read. Reference:
https://developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list
https://github.com/elastic/integrations/tree/main/packages/google_workspace
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from mailhunt.formats.base import Format, Record, Sample, bare_ip, utc_time

# A parameter's value keys (the API's Parameter and NestedParameter). Message values are typed
# one level down, so that their keys' order in the file does not change the content digest;
# deeper ones (Gmail nests messages in messages) are kept as JSON text.
_VALUES = (
    "name VARCHAR, value VARCHAR, intValue VARCHAR, boolValue VARCHAR, multiValue VARCHAR[], "
    "multiIntValue VARCHAR[], multiBoolValue VARCHAR[]"
)
MESSAGE = f"STRUCT(parameter STRUCT({_VALUES}, messageValue JSON, multiMessageValue JSON)[])"
PARAMETER = f"STRUCT({_VALUES}, messageValue {MESSAGE}, multiMessageValue {MESSAGE}[])"
EVENT = f"STRUCT(type VARCHAR, name VARCHAR, parameters {PARAMETER}[])"

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
    "events": "JSON",  # an array (the API) or one object (a shipper's split copy): see EVENTS
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


# The activity's events as a list of EVENT, whichever shape `events` has: an array as is, one
# object as a list of one; anything else (missing, a string) is NULL. Elements or fields of the
# wrong type are NULL, as read_json would make them.
EVENTS = (
    "CASE json_type(events) "
    f"WHEN 'ARRAY' THEN TRY_CAST(events AS {EVENT}[]) "
    f"WHEN 'OBJECT' THEN [TRY_CAST(events AS {EVENT})] END"
)

# The digest of an event's parameters (NULL when it has none): every value key, in a fixed order
# that does not follow PARAMETER's, parameters sorted so that their order does not count. Message
# values are serialised as MESSAGE types them: changing MESSAGE changes record ids. SHA-256, not
# MD5: parameters hold attacker-chosen text, and a collision would drop an event as a duplicate
# (measured: the digest costs ~0.3 s per 36k events on this machine, MD5 ~0.2 s).
_CONTENT = (
    "CASE WHEN len({0}.parameters) > 0 THEN 'p:' || left(sha256(to_json(list_sort("
    "list_transform({0}.parameters, lambda p: struct_pack(n := p.name, v := p.value, "
    "i := p.intValue, b := p.boolValue, mv := p.multiValue, mi := p.multiIntValue, "
    "mb := p.multiBoolValue, m := p.messageValue, mm := p.multiMessageValue))))), 16) END"
)

# activities.list items: one row per event (an activity without events keeps one row, with a
# NULL event, so it is stored with a warning rather than lost). `_evs` pairs every event with its
# place and content digest; occurrence counts the events before it of the same name and digest.
API_RELATION = (
    f"SELECT {_FIELDS}, event_name, event_type, content, occurrence, "
    f"{_param_columns(flattened=False)} "
    f"FROM (SELECT {_FIELDS}, e.ev.name AS event_name, e.ev.type AS event_type, "
    "e.content AS content, len(list_filter(_evs[1:e.i], lambda x: x.ev.name = e.ev.name "
    "AND x.content IS NOT DISTINCT FROM e.content)) AS occurrence, "
    f"{_PARAMS_OF.format('e.ev.parameters')} AS _params "
    "FROM (SELECT *, unnest(CASE WHEN len(_evs) > 0 THEN _evs ELSE [NULL] END) AS e "
    "FROM (SELECT *, list_transform("
    f"{EVENTS}, lambda ev, i: struct_pack(ev := ev, i := i, content := {_CONTENT.format('ev')})) "
    "AS _evs FROM {source})))"
)

# The Sentinel connector already wrote one record per event (event_name, event_type and the
# parameters copied to the top level); older connector versions also kept events[], newer ones
# drop it. The event is the record's event_name; events[] only fills what was not copied, and
# gives the content digest when exactly one of its events has that name (none without events[],
# or when several share the name: the flattened copy does not say which one it is).
SENTINEL_RELATION = (
    f"SELECT {_FIELDS}, coalesce(event_name, _ev.name) AS event_name, "
    "coalesce(event_type, _ev.type) AS event_type, "
    f"CASE WHEN _named = 1 THEN {_CONTENT.format('_ev')} END AS content, 1 AS occurrence, "
    f"{_param_columns(flattened=True)} "
    f"FROM (SELECT *, {_PARAMS_OF.format('_ev.parameters')} AS _params "
    "FROM (SELECT *, list_filter(_evs, lambda x: x.name = coalesce(event_name, _evs[1].name)) "
    "AS _same, CASE WHEN event_name IS NULL THEN _evs[1] ELSE _same[1] END AS _ev, "
    "len(_same) AS _named "
    f"FROM (SELECT *, {EVENTS} AS _evs FROM {{source}})))"
)

_ETAG_ITEM = "nullif(regexp_extract(trim(etag, '\"'), '[^/]*$'), '')"

RECORD_ID = (
    "CASE WHEN nullif(id.uniqueQualifier, '') IS NOT NULL AND nullif(id.time, '') IS NOT NULL "
    "THEN id.uniqueQualifier || '|' || id.time || '|' || coalesce(event_name, '') "
    f"|| coalesce('|' || {_ETAG_ITEM}, '') || coalesce('|' || content, '') "
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
    """A sniffer for activities of `shape`: "api" (items with events, an array or a shipper's
    single event object) or "sentinel" (a sample holding any record with the connector's
    top-level event_name; the two never both claim a sample), of the login application (every
    activity sampled is a login one) when `login`, of the other applications otherwise."""

    def sniff(sample: Sample) -> bool:
        if sample.kind != "json":
            return False
        found = [(app, record) for record in sample.records if (app := _application(record))]
        sentinel = any("event_name" in record for _, record in found)
        if shape == "sentinel":
            mine = sentinel
        else:
            mine = not sentinel and any(isinstance(r.get("events"), list | dict) for _, r in found)
        return mine and ({app for app, _ in found} == {LOGIN_APPLICATION}) is login

    return sniff


# Rows a login format leaves to the activity formats: another application's activity in a file
# of login activities is no sign-in (skipped and counted, not quarantined).
NOT_LOGIN = f"id.applicationName <> '{LOGIN_APPLICATION}'"


def activity_format(
    name: str, description: str, *, shape: Literal["api", "sentinel"], login: bool
) -> Format:
    """A Google Workspace format: activities of `shape` ("api": activities.list items, one row
    per event of an activity; "sentinel": the connector's records, already one per event), of
    the login application onto signins (other applications' activities skipped) when `login`,
    of every other application onto events otherwise."""
    api = shape == "api"
    return Format(
        name=name,
        description=description,
        table="signins" if login else "events",
        sniff=sniffer(shape, login=login),
        columns=COLUMNS if api else SENTINEL_COLUMNS,
        relation=API_RELATION if api else SENTINEL_RELATION,
        one_row_per_record=not api,  # api: one row per event of an activity
        skip=NOT_LOGIN if login else None,
        select=SIGNINS_SELECT if login else EVENTS_SELECT,
        id_field="id.uniqueQualifier",
        time_field="id.time",
    )
