"""Entra ID Protection records as Azure Monitor diagnostic settings deliver them (categories
``RiskyUsers``, ``UserRiskEvents``, ``RiskyServicePrincipals``, ``ServicePrincipalRiskEvents``;
Event Hub messages ``{"records": [...]}`` or storage-account ``PT1H.json`` lines).

Each record is the resource-log envelope (``time``, ``category``, ``tenantId``,
``operationName``: "Risky user", "User Risk Detection"...) around a Graph object in
``properties``: a riskyUser (``id`` is the user's object id, ``userPrincipalName``,
``riskLevel``, ``riskState``, ``riskDetail``, ``riskLastUpdatedDateTime``), a riskDetection
(``id`` of the detection, ``riskEventType`` such as ``anomalousToken`` or
``unfamiliarFeatures``, ``riskState``, ``activityDateTime``, ``lastUpdatedDateTime``,
``ipAddress``, ``userPrincipalName``, ``additionalInfo``: JSON *text* of ``{Key, Value}``
pairs, the user agent among them), a riskyServicePrincipal (``id`` of the service principal,
``appId``, ``displayName``) or a servicePrincipalRiskDetection (``servicePrincipalId``,
``servicePrincipalDisplayName``, ``appId``, ``ipAddress``). Rows: operation is the detection's
``riskEventType``, else the envelope's ``operationName``; result the ``riskState``; actor the
user's UPN, else the service principal's name, else its appId. A risky user or principal is
delivered again each time its risk changes, with the same ``id``: the record id is ``id|`` the
update's time (``riskLastUpdatedDateTime`` / ``lastUpdatedDateTime``, else the envelope time),
so each state is kept and a repeated delivery is still a duplicate. Time: the risky activity's
(``activityDateTime``), else the risk update's, else the envelope's (ISO 8601, or
``8/22/2022 6:11:52 PM`` in some exports). ``riskLevel``, ``riskDetail``, ``location``... have no
column and stay in the raw record. A member of the ``azure-monitor-entra`` group
(:mod:`mailhunt.formats._azure_monitor`): records of other categories are skipped here.
References:
https://learn.microsoft.com/graph/api/resources/riskyuser
https://learn.microsoft.com/graph/api/resources/riskdetection
https://learn.microsoft.com/graph/api/resources/riskyserviceprincipal
https://learn.microsoft.com/graph/api/resources/serviceprincipalriskdetection
https://learn.microsoft.com/azure/azure-monitor/reference/tables/aadriskyusers
https://learn.microsoft.com/azure/azure-monitor/reference/tables/aaduserriskevents
"""

from __future__ import annotations

from mailhunt.formats._azure_monitor import client_ip, envelope_format, envelope_time
from mailhunt.formats.base import utc_time

CATEGORIES = (
    "RiskyUsers",
    "UserRiskEvents",
    "RiskyServicePrincipals",
    "ServicePrincipalRiskEvents",
)
WORKLOAD = "AzureActiveDirectory"

_PROPERTIES = (
    "STRUCT(id VARCHAR, userPrincipalName VARCHAR, appId VARCHAR, displayName VARCHAR, "
    "servicePrincipalDisplayName VARCHAR, riskEventType VARCHAR, riskState VARCHAR, "
    "ipAddress VARCHAR, additionalInfo VARCHAR, "
    "activityDateTime VARCHAR, riskLastUpdatedDateTime VARCHAR, lastUpdatedDateTime VARCHAR, "
    "homeTenantId VARCHAR)"
)

# When the risk was updated (text): a user's or principal's, a detection's, else the envelope's.
_UPDATED = (
    "coalesce(nullif(properties.riskLastUpdatedDateTime, ''), "
    "nullif(properties.lastUpdatedDateTime, ''), nullif(time, ''))"
)
# additionalInfo: JSON text of [{"Key": ..., "Value": ...}] (NULL when it is not).
_ADDITIONAL_INFO = (
    'TRY_CAST(TRY_CAST(properties.additionalInfo AS JSON) AS STRUCT("Key" VARCHAR, '
    '"Value" VARCHAR)[])'
)

FORMAT = envelope_format(
    name="azure-monitor-identity-protection",
    description="Entra ID Protection risky users, principals and risk detections, Azure "
    "Monitor diagnostic settings records (Event Hub or storage-account JSON lines)",
    table="events",
    categories=CATEGORIES,
    properties=_PROPERTIES,
    select={
        "record_id": "CASE WHEN nullif(properties.id, '') IS NOT NULL "
        f"THEN properties.id || coalesce('|' || {_UPDATED}, '') END",
        "time": f"coalesce({utc_time('properties.activityDateTime')}, "
        f"{utc_time(_UPDATED)}, {envelope_time('time')})",
        "tenant_id": "lower(coalesce(nullif(tenantId, ''), nullif(properties.homeTenantId, '')))",
        "workload": f"'{WORKLOAD}'",
        "operation": "coalesce(nullif(properties.riskEventType, ''), nullif(operationName, ''), "
        "category)",
        "result": "nullif(properties.riskState, '')",
        "actor_upn": "lower(coalesce(nullif(properties.userPrincipalName, ''), "
        "nullif(properties.servicePrincipalDisplayName, ''), nullif(properties.displayName, ''), "
        "nullif(properties.appId, '')))",
        "app_id": "lower(nullif(properties.appId, ''))",
        "client_ip": client_ip("properties.ipAddress"),
        "user_agent": f"list_filter({_ADDITIONAL_INFO}, lambda p: lower(p.Key) = 'useragent')"
        "[1].Value",
    },
)
