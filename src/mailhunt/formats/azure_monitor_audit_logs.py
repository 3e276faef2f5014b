"""Entra ID directory audits as Azure Monitor diagnostic settings deliver them (category
``AuditLogs``; Event Hub messages ``{"records": [...]}`` or storage-account ``PT1H.json`` lines).

Each record is the resource-log envelope (``time``, ``category``, ``tenantId``,
``operationName``, ``resultType``, ``callerIpAddress``...) around the Graph directoryAudit in
``properties`` with its own camelCase names (``id``, ``activityDateTime``,
``activityDisplayName``, ``result``, ``initiatedBy``, ``targetResources``,
``additionalDetails``, ``loggedByService``, ``operationType``). The relation names those fields
as Graph does, so the mapping is :mod:`mailhunt.formats.entra_directory_audits`'s; the envelope
adds what Graph records lack: the tenant (``tenantId``), the time when ``activityDateTime`` is
missing and the activity name when ``activityDisplayName`` is (``operationName`` holds the same
name). A member of the ``azure-monitor-entra`` group (:mod:`mailhunt.formats._azure_monitor`):
records of other categories in the same file are skipped here. Quirks seen in exports:
``initiatedBy.user.roles`` is a list or a string (not read), ``Level`` a number or
``"Informational"`` (not read). References:
https://learn.microsoft.com/entra/identity/monitoring-health/reference-azure-monitor-audit-log-schema
https://learn.microsoft.com/graph/api/resources/directoryaudit
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from mailhunt.formats import entra_directory_audits as graph
from mailhunt.formats._azure_monitor import client_ip, envelope_format, envelope_time

CATEGORIES = ("AuditLogs",)

_PROPERTIES = (
    "STRUCT(id VARCHAR, activityDateTime VARCHAR, activityDisplayName VARCHAR, result VARCHAR, "
    "category VARCHAR, loggedByService VARCHAR, "
    f"initiatedBy {graph.INITIATED_BY}, additionalDetails {graph.ADDITIONAL_DETAILS})"
)

# The envelope's fields (`skip` reads category, time, properties), and the directoryAudit's
# under its Graph names.
_RELATION = (
    "SELECT _ordinal, category, tenantId, time, callerIpAddress, properties, "
    "properties.id AS id, properties.activityDateTime AS activityDateTime, "
    "coalesce(nullif(properties.activityDisplayName, ''), nullif(operationName, '')) "
    "AS activityDisplayName, properties.result AS result, "
    "properties.category AS audit_category, properties.loggedByService AS loggedByService, "
    "properties.initiatedBy AS initiatedBy, properties.additionalDetails AS additionalDetails "
    "FROM {source}"
)

FORMAT = envelope_format(
    name="azure-monitor-audit-logs",
    description="Entra ID directory audits, Azure Monitor diagnostic settings records "
    '(category AuditLogs: Event Hub {"records": [...]} or storage-account JSON lines)',
    table="events",
    categories=CATEGORIES,
    properties=_PROPERTIES,
    relation=_RELATION,
    select={
        **graph.SELECT,
        "time": f"coalesce({graph.SELECT['time']}, {envelope_time('time')})",
        "tenant_id": "lower(nullif(tenantId, ''))",
        "client_ip": client_ip("initiatedBy.user.ipAddress"),
    },
)
