"""Entra ID provisioning events as Azure Monitor diagnostic settings deliver them (category
``ProvisioningLogs``; Event Hub messages ``{"records": [...]}`` or storage-account ``PT1H.json``
lines).

Each record is the resource-log envelope (``time``, ``category``, ``tenantId``,
``operationName`` "Provisioning activity", ``resultType`` "Success" / "Failure" / "Skipped")
around the Graph provisioningObjectSummary in ``properties``: ``id``, ``activityDateTime``,
``provisioningAction`` (create, update, delete, disable, stagedDelete, other; the deprecated
``action`` holds "Create"...), ``provisioningStatusInfo``, ``initiatedBy``,
``servicePrincipal``, ``sourceSystem`` / ``targetSystem`` (the application's ``ApplicationId``
in their ``details``), ``sourceIdentity`` / ``targetIdentity`` (the object provisioned),
``provisioningSteps``, ``modifiedProperties``. Quirk: the nested objects name their members
as Graph does (``id``, ``displayName``, ``status``) or, in diagnostic-settings exports,
``Id``, ``Name``, ``Status``: both are read (the objects are read as JSON text and their
members picked by either name). Rows: operation is ``provisioningAction`` (else ``action``),
result the provisioning status (else ``resultType``), actor the initiator's name (the
provisioning service, or an administrator's on-demand run), app the provisioned application's
appId. The identities provisioned, the steps and the modified properties have no column and
stay in the raw record. A member of the ``azure-monitor-entra`` group
(:mod:`mailhunt.formats._azure_monitor`): records of other categories are skipped here.
References:
https://learn.microsoft.com/graph/api/resources/provisioningobjectsummary
https://learn.microsoft.com/azure/azure-monitor/reference/tables/aadprovisioninglogs
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from mailhunt.formats._azure_monitor import client_ip, envelope_format, envelope_time
from mailhunt.formats.base import utc_time

CATEGORIES = ("ProvisioningLogs",)
WORKLOAD = "AzureActiveDirectory"

# Nested objects are read as JSON text: their members are cased either way.
_PROPERTIES = (
    "STRUCT(id VARCHAR, activityDateTime VARCHAR, tenantId VARCHAR, provisioningAction VARCHAR, "
    "action VARCHAR, provisioningStatusInfo VARCHAR, initiatedBy VARCHAR, sourceSystem VARCHAR, "
    "targetSystem VARCHAR)"
)


def _member(object_sql: str, *paths: str) -> str:
    """SQL: the first non-empty member of a JSON-text object among `paths` ($.Id, $.id...)."""
    picks = ", ".join(
        f"nullif(json_extract_string(TRY_CAST({object_sql} AS JSON), '{path}'), '')"
        for path in paths
    )
    return f"coalesce({picks})"


def _application(system: str) -> str:
    """SQL: the appId in a provisioning system's details."""
    return _member(f"properties.{system}", "$.details.ApplicationId", "$.details.applicationId")


# The provisioned application: the target system's (outbound provisioning), else the source
# system's (inbound, from an HR system).
_APP_ID = f"coalesce({_application('targetSystem')}, {_application('sourceSystem')})"

FORMAT = envelope_format(
    name="azure-monitor-provisioning-logs",
    description="Entra ID provisioning events, Azure Monitor diagnostic settings records "
    '(category ProvisioningLogs: Event Hub {"records": [...]} or storage-account JSON lines)',
    table="events",
    categories=CATEGORIES,
    properties=_PROPERTIES,
    select={
        "record_id": "nullif(properties.id, '')",
        "time": f"coalesce({utc_time('properties.activityDateTime')}, {envelope_time('time')})",
        "tenant_id": "lower(coalesce(nullif(properties.tenantId, ''), nullif(tenantId, '')))",
        "workload": f"'{WORKLOAD}'",
        "operation": "coalesce(nullif(properties.provisioningAction, ''), "
        "nullif(properties.action, ''), nullif(operationName, ''))",
        "result": "coalesce("
        + _member("properties.provisioningStatusInfo", "$.status", "$.Status")
        + ", nullif(resultType, ''))",
        "actor_upn": "lower("
        + _member("properties.initiatedBy", "$.displayName", "$.Name", "$.id", "$.Id")
        + ")",
        "app_id": f"lower({_APP_ID})",
        "client_ip": client_ip(),
    },
)
