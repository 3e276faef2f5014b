"""The Azure Activity log (subscription control plane) as Azure Monitor diagnostic settings
deliver it: storage-account blobs (``insights-activity-logs/.../PT1H.json``, one record per
line) or Event Hub messages ``{"records": [...]}``.

One record per Azure Resource Manager event: a write, delete or action on a resource
(``Administrative``), a Defender for Cloud alert (``Security``), an Azure Policy effect
(``Policy``), ``ServiceHealth``, ``ResourceHealth``, ``Alert``, ``Autoscale``,
``Recommendation``. The documented shape (Microsoft's "schema from storage account and event
hubs"): ``time``, ``resourceId`` (the resource acted on; upper-cased in many exports),
``operationName`` (``MICROSOFT.NETWORK/AZUREFIREWALLS/DELETE``), ``category``, ``resultType``
(``Start``, ``Accept``, ``Success``, ``Failure``), ``resultSignature``, ``durationMs`` (a number
or a string), ``callerIpAddress``, ``correlationId`` (shared by an operation's Start and its
outcome, and by every operation of a deployment), ``identity`` (``authorization`` and the
caller's token ``claims``: ``appid``, the UPN and tenant id under their claim URIs), ``level``,
``location``, ``properties`` (``eventCategory``, ``entity``, ``message``, ``hierarchy``,
``statusCode``...; values may be objects) and, in recent exports, ``caller`` and ``tenantId``.

Quirks: the event's category is ``properties.eventCategory``; older exports put the operation's
kind in ``category`` (``Write``, ``Delete``, ``Action``), which Microsoft documents as
``Administrative`` when ``eventCategory`` is absent. The records carry no event id
(``eventDataId`` is the REST API's and Log Analytics'): the record id is ``correlationId|`` an
MD5 of time, resourceId, operationName, resultType and resultSignature, so one event delivered
twice is a duplicate and an operation's Start and Success are two records. Rows: workload
``AzureActivity``, operation the ``operationName``, result the ``resultType``, actor the
``caller`` (else the UPN claim, else the token's ``appid``), app_id the ``appid`` claim,
object_id the ``resourceId``, category as above, and ``parameters`` every entry of
``properties`` (name, value; an object or list value as its JSON text). Sigma's ``activitylogs``
rules run on these rows (``sigma/pipelines.py``).

Not a member of the ``azure-monitor-entra`` group: Entra ID and subscriptions have separate
diagnostic settings (the activity log goes to its own container or hub). A file holding both
is read as the Entra group's, and its activity records are counted as skipped. References:
https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema
https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from mailhunt.formats.base import Format, Sample, bare_ip, utc_time

WORKLOAD = "AzureActivity"
# The activity log's event categories, and the operation kinds older exports put in `category`.
CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "ResourceHealth",
    "Alert",
    "Autoscale",
    "Recommendation",
    "Policy",
)
OPERATION_KINDS = ("Write", "Delete", "Action")
# Below the Entra group's 10: a sample holding Entra records too is that group's.
SPECIFICITY = 5

CLAIM_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
CLAIM_TENANT = "http://schemas.microsoft.com/identity/claims/tenantid"

_WANTED = {name.lower() for name in (*CATEGORIES, *OPERATION_KINDS)}


def _sniff(sample: Sample) -> bool:
    return sample.kind == "json" and any(
        isinstance(record.get("category"), str)
        and record["category"].lower() in _WANTED
        and isinstance(record.get("operationName"), str)
        and "resourceId" in record
        and "time" in record
        for record in sample.records
    )


def _sql_words(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{word.lower()}'" for word in words)


def json_entries(map_sql: str) -> str:
    """SQL: a MAP(VARCHAR, JSON) as a list of {name, value}: a JSON string's text, a null as
    NULL, anything else (number, object, list) as its JSON text."""
    return (
        f"list_transform(map_entries({map_sql}), lambda e: {{'name': e.key, 'value': "
        "CASE WHEN e.value IS NULL OR json_type(e.value) = 'NULL' THEN NULL "
        "WHEN json_type(e.value) = 'VARCHAR' THEN e.value->>'$' "
        "ELSE CAST(e.value AS VARCHAR) END})"
    )


def json_object(field_sql: str) -> str:
    """SQL: a JSON object (or JSON text of one) as MAP(VARCHAR, JSON), else NULL."""
    return f"TRY_CAST(TRY_CAST({field_sql} AS JSON) AS MAP(VARCHAR, JSON))"


def claim(claims_sql: str, name: str) -> str:
    """SQL: one claim of a token's claims map (MAP(VARCHAR, JSON)) as text."""
    return f"nullif({claims_sql}[{_literal(name)}]->>'$', '')"


def _literal(text: str) -> str:
    if "'" in text:
        raise ValueError(f"not a claim name: {text!r}")
    return f"'{text}'"


def event_category(event_category_sql: str, category_sql: str) -> str:
    """SQL: the event's category: ``eventCategory``, else ``category`` unless it is an
    operation kind (Write, Delete, Action: then Administrative, as documented)."""
    return (
        f"coalesce(nullif({event_category_sql}, ''), CASE WHEN lower({category_sql}) IN "
        f"({_sql_words(OPERATION_KINDS)}) THEN 'Administrative' "
        f"ELSE nullif({category_sql}, '') END)"
    )


_RELATION = (
    "SELECT *, "
    f"{json_object('properties')} AS _properties, "
    f"{json_object('identity.claims')} AS _claims FROM {{source}}"
)

_ID_PARTS = " || '|' || ".join(
    f"coalesce({field}, '')"
    for field in ("time", "resourceId", "operationName", "resultType", "resultSignature")
)

FORMAT = Format(
    name="azure-activity-logs",
    description="Azure Activity log (subscription control plane), Azure Monitor diagnostic "
    'settings records (storage-account JSON lines or Event Hub {"records": [...]})',
    table="events",
    sniff=_sniff,
    specificity=SPECIFICITY,
    id_field="correlationId",
    time_field="time",
    columns={
        "time": "VARCHAR",
        "resourceId": "VARCHAR",
        "operationName": "VARCHAR",
        "category": "VARCHAR",
        "resultType": "VARCHAR",
        "resultSignature": "VARCHAR",
        "callerIpAddress": "VARCHAR",
        "correlationId": "VARCHAR",
        "caller": "VARCHAR",
        "tenantId": "VARCHAR",
        "identity": "STRUCT(claims JSON)",
        "properties": "JSON",
    },
    relation=_RELATION,
    select={
        "record_id": "CASE WHEN nullif(correlationId, '') IS NOT NULL "
        "AND nullif(operationName, '') IS NOT NULL "
        f"THEN correlationId || '|' || md5({_ID_PARTS}) END",
        "time": utc_time("time"),
        "tenant_id": f"lower(coalesce(nullif(tenantId, ''), {claim('_claims', CLAIM_TENANT)}))",
        "workload": f"'{WORKLOAD}'",
        "operation": "nullif(operationName, '')",
        "result": "nullif(resultType, '')",
        "actor_upn": "lower(coalesce(nullif(caller, ''), "
        f"{claim('_claims', CLAIM_UPN)}, {claim('_claims', 'appid')}))",
        "app_id": f"lower({claim('_claims', 'appid')})",
        "client_ip": bare_ip("nullif(callerIpAddress, '')"),
        "object_id": "nullif(resourceId, '')",
        "category": event_category("_properties['eventCategory']->>'$'", "category"),
        "parameters": f"nullif({json_entries('_properties')}, [])",
    },
)
