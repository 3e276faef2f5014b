"""Entra ID sign-ins as Azure Monitor diagnostic settings deliver them (Event Hub messages
``{"records": [...]}``, storage-account archives ``PT1H.json`` with one record per line).

Each record is the Azure Monitor resource-log envelope (``time``, ``category``, ``tenantId``,
``resultType``, ``callerIpAddress``, ``location``...) around the Graph sign-in object in
``properties`` (camelCase, as :mod:`mailhunt.formats.entra_signins` reads it). Categories:
``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
``ManagedIdentitySignInLogs``. Quirks: ``resultType`` is a string ("0" is success),
``Level`` a number or a string (not read), ``durationMs`` a number or a string (not read); the
record id is ``properties.id``. The envelope fills what ``properties`` lacks: ``time`` for
``createdDateTime``, ``tenantId`` for the resource/home tenant, ``callerIpAddress`` for
``ipAddress``, ``resultType`` / ``resultDescription`` for ``status``, ``location`` (a country
code) for ``location.countryOrRegion``, the category for ``isInteractive``. References:
https://learn.microsoft.com/entra/identity/monitoring-health/reference-azure-monitor-sign-ins-log-schema
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from mailhunt.formats.base import Format, Sample, bare_ip, utc_time
from mailhunt.formats.sentinel_signin_logs import (
    INTERACTIVE_BY_CATEGORY,
    interactive_by_category,
)

_PROPERTIES = (
    "STRUCT(id VARCHAR, createdDateTime VARCHAR, userPrincipalName VARCHAR, userId VARCHAR, "
    "appId VARCHAR, appDisplayName VARCHAR, resourceId VARCHAR, ipAddress VARCHAR, "
    "userAgent VARCHAR, sessionId VARCHAR, uniqueTokenIdentifier VARCHAR, "
    "tokenIssuerType VARCHAR, isInteractive VARCHAR, resourceTenantId VARCHAR, "
    "homeTenantId VARCHAR, status STRUCT(errorCode VARCHAR, failureReason VARCHAR), "
    "location STRUCT(city VARCHAR, countryOrRegion VARCHAR))"
)


def _sniff(sample: Sample) -> bool:
    return sample.kind == "json" and any(
        record.get("category") in INTERACTIVE_BY_CATEGORY
        and isinstance(record.get("properties"), dict)
        and "time" in record
        for record in sample.records
    )


FORMAT = Format(
    name="azure-monitor-signins",
    description="Entra ID sign-ins, Azure Monitor diagnostic settings records (Event Hub "
    '{"records": [...]} or storage-account JSON lines)',
    table="signins",
    sniff=_sniff,
    id_field="properties.id",
    time_field="time",
    columns={
        "time": "VARCHAR",
        "category": "VARCHAR",
        "tenantId": "VARCHAR",
        "resultType": "VARCHAR",
        "resultDescription": "VARCHAR",
        "callerIpAddress": "VARCHAR",
        "location": "VARCHAR",
        "properties": _PROPERTIES,
    },
    select={
        "record_id": "nullif(properties.id, '')",
        "time": f"coalesce({utc_time('properties.createdDateTime')}, {utc_time('time')})",
        "tenant_id": "lower(coalesce(nullif(properties.resourceTenantId, ''), "
        "nullif(properties.homeTenantId, ''), nullif(tenantId, '')))",
        "user_upn": "lower(nullif(properties.userPrincipalName, ''))",
        "user_id": "lower(nullif(properties.userId, ''))",
        "app_id": "lower(nullif(properties.appId, ''))",
        "app_name": "nullif(properties.appDisplayName, '')",
        "resource_id": "lower(nullif(properties.resourceId, ''))",
        "client_ip": bare_ip("coalesce(nullif(properties.ipAddress, ''), callerIpAddress)"),
        "user_agent": "nullif(properties.userAgent, '')",
        "session_id": "nullif(properties.sessionId, '')",
        "unique_token_id": "nullif(properties.uniqueTokenIdentifier, '')",
        "token_issuer_type": "nullif(properties.tokenIssuerType, '')",
        "interactive": "coalesce(TRY_CAST(properties.isInteractive AS BOOLEAN), "
        f"{interactive_by_category('category')})",
        "error_code": "coalesce(TRY_CAST(properties.status.errorCode AS INTEGER), "
        "TRY_CAST(resultType AS INTEGER))",
        "failure_reason": "coalesce(nullif(properties.status.failureReason, ''), "
        "nullif(resultDescription, ''))",
        "country": "coalesce(nullif(properties.location.countryOrRegion, ''), "
        "nullif(location, ''))",
        "city": "nullif(properties.location.city, '')",
    },
)
