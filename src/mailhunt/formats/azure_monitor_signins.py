"""Entra ID sign-ins as Azure Monitor diagnostic settings deliver them (Event Hub messages
``{"records": [...]}``, storage-account archives ``PT1H.json`` with one record per line).

Each record is the Azure Monitor resource-log envelope (``time``, ``category``, ``tenantId``,
``resultType``, ``callerIpAddress``, ``location``...) around the Graph sign-in object in
``properties`` (camelCase, as :mod:`mailhunt.formats.entra_signins` reads it). Categories:
``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
``ManagedIdentitySignInLogs`` and ``ADFSSignInLogs`` (AD FS sign-ins Connect Health reports,
the same object with ``tokenIssuerType`` ``ADFederationServices``). A member of the
``azure-monitor-entra`` group (:mod:`mailhunt.formats._azure_monitor`): records of any other
category in the same file (audits, Graph activity...) are skipped here, stored by their own
format. Quirks: ``resultType`` is a string ("0" is success), ``Level`` a number or a string
(not read), ``durationMs`` a number or a string (not read); the record id is ``properties.id``.
The envelope fills what ``properties`` lacks: ``time`` for ``createdDateTime`` (ISO 8601, or
``12/12/2025 3:03:58 PM`` in AD FS records), ``tenantId`` for the resource/home tenant,
``callerIpAddress`` for ``ipAddress``, ``resultType`` / ``resultDescription`` for ``status``,
``location`` (a country code) for ``location.countryOrRegion``, the category for
``isInteractive``. Service principal and managed identity sign-ins have no user
(``userId`` null, no ``userPrincipalName``): the identity is the application, ``appId`` with
``servicePrincipalName`` as its name when ``appDisplayName`` is absent (managed identities);
``servicePrincipalId`` has no column and stays in the raw record. References:
https://learn.microsoft.com/entra/identity/monitoring-health/reference-azure-monitor-sign-ins-log-schema
https://learn.microsoft.com/graph/api/resources/signin?view=graph-rest-beta
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from mailhunt.formats._azure_monitor import client_ip, envelope_format, envelope_time
from mailhunt.formats.base import utc_time
from mailhunt.formats.entra_signins import DEVICE_DETAIL, SIGNIN_DETAILS
from mailhunt.formats.sentinel_signin_logs import (
    INTERACTIVE_BY_CATEGORY,
    interactive_by_category,
)

# The diagnostic-settings categories holding sign-ins (AD FS: interactive or not, per record).
CATEGORIES = (*INTERACTIVE_BY_CATEGORY, "ADFSSignInLogs")

_PROPERTIES = (
    "STRUCT(id VARCHAR, createdDateTime VARCHAR, userPrincipalName VARCHAR, userId VARCHAR, "
    "appId VARCHAR, appDisplayName VARCHAR, servicePrincipalName VARCHAR, resourceId VARCHAR, "
    "ipAddress VARCHAR, userAgent VARCHAR, sessionId VARCHAR, uniqueTokenIdentifier VARCHAR, "
    "tokenIssuerType VARCHAR, isInteractive VARCHAR, resourceTenantId VARCHAR, "
    "homeTenantId VARCHAR, status STRUCT(errorCode VARCHAR, failureReason VARCHAR), "
    "location STRUCT(city VARCHAR, countryOrRegion VARCHAR), resourceDisplayName VARCHAR, "
    "authenticationRequirement VARCHAR, conditionalAccessStatus VARCHAR, riskState VARCHAR, "
    f"deviceDetail {DEVICE_DETAIL})"
)

# The envelope as read, and the sign-in's details under their Graph names (SIGNIN_DETAILS).
_RELATION = (
    "SELECT *, properties.resourceDisplayName AS resourceDisplayName, "
    "properties.authenticationRequirement AS authenticationRequirement, "
    "properties.conditionalAccessStatus AS conditionalAccessStatus, "
    "properties.riskState AS riskState, properties.deviceDetail AS deviceDetail FROM {source}"
)

FORMAT = envelope_format(
    name="azure-monitor-signins",
    description="Entra ID sign-ins, Azure Monitor diagnostic settings records (Event Hub "
    '{"records": [...]} or storage-account JSON lines)',
    table="signins",
    categories=CATEGORIES,
    properties=_PROPERTIES,
    relation=_RELATION,
    select={
        **SIGNIN_DETAILS,
        "record_id": "nullif(properties.id, '')",
        "time": f"coalesce({utc_time('properties.createdDateTime')}, {envelope_time('time')})",
        "tenant_id": "lower(coalesce(nullif(properties.resourceTenantId, ''), "
        "nullif(properties.homeTenantId, ''), nullif(tenantId, '')))",
        "user_upn": "lower(nullif(properties.userPrincipalName, ''))",
        "user_id": "lower(nullif(properties.userId, ''))",
        "app_id": "lower(nullif(properties.appId, ''))",
        "app_name": "coalesce(nullif(properties.appDisplayName, ''), "
        "nullif(properties.servicePrincipalName, ''))",
        "resource_id": "lower(nullif(properties.resourceId, ''))",
        "client_ip": client_ip("properties.ipAddress"),
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
