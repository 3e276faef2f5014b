"""Entra ID sign-in logs as Microsoft Graph returns them (auditLogs/signIns, v1.0 and beta).

JSON Lines, a JSON array, or a ``{"value": [...]}`` page. Beta fields (uniqueTokenIdentifier,
sessionId, tokenIssuerType, userAgent, resourceTenantId) are read when present: they are what
ties a mailbox access back to the sign-in that issued its token. So are what the sign-in
required (authenticationRequirement), Conditional Access's outcome, its riskState, the
resource's display name and the device (deviceDetail: deviceId, trustType, isCompliant). Reference:
https://learn.microsoft.com/graph/api/resources/signin
"""

from __future__ import annotations

from mailhunt.formats.base import Format, Sample, bare_ip, json_sniffer, utc_time

# deviceDetail as Graph, Azure Monitor and Log Analytics give it (isCompliant a boolean or text).
DEVICE_DETAIL = "STRUCT(deviceId VARCHAR, trustType VARCHAR, isCompliant VARCHAR)"

# The sign-in's requirements, Conditional Access outcome, risk and device (schema column ->
# SQL over Graph's names), shared with the Azure Monitor format, whose relation names them so.
SIGNIN_DETAILS = {
    "resource_name": "nullif(resourceDisplayName, '')",
    "authentication_requirement": "nullif(authenticationRequirement, '')",
    "conditional_access_status": "nullif(conditionalAccessStatus, '')",
    "risk_state": "nullif(riskState, '')",
    "device_id": "lower(nullif(deviceDetail.deviceId, ''))",
    "device_trust_type": "nullif(deviceDetail.trustType, '')",
    "device_compliant": "TRY_CAST(deviceDetail.isCompliant AS BOOLEAN)",
}

_looks_like_signin = json_sniffer("id", "createdDateTime", any_of=("userPrincipalName", "appId"))


def _sniff(sample: Sample) -> bool:
    # Graph audit log query records (auditLogRecord) share id/createdDateTime/userPrincipalName
    # but carry the UAL record in auditData: they are not sign-ins.
    return _looks_like_signin(sample) and not any("auditData" in r for r in sample.records)


FORMAT = Format(
    name="entra-signins-graph",
    description="Entra ID sign-ins, Microsoft Graph auditLogs/signIns (lines, array or page)",
    table="signins",
    sniff=_sniff,
    id_field="id",
    time_field="createdDateTime",
    columns={
        "id": "VARCHAR",
        "createdDateTime": "VARCHAR",
        "userPrincipalName": "VARCHAR",
        "userId": "VARCHAR",
        "appId": "VARCHAR",
        "appDisplayName": "VARCHAR",
        "resourceId": "VARCHAR",
        "ipAddress": "VARCHAR",
        "userAgent": "VARCHAR",
        "sessionId": "VARCHAR",
        "uniqueTokenIdentifier": "VARCHAR",
        "tokenIssuerType": "VARCHAR",
        "isInteractive": "BOOLEAN",
        "signInEventTypes": "VARCHAR[]",
        "resourceTenantId": "VARCHAR",
        "homeTenantId": "VARCHAR",
        "status": "STRUCT(errorCode BIGINT, failureReason VARCHAR)",
        "location": "STRUCT(city VARCHAR, countryOrRegion VARCHAR)",
        "resourceDisplayName": "VARCHAR",
        "authenticationRequirement": "VARCHAR",
        "conditionalAccessStatus": "VARCHAR",
        "riskState": "VARCHAR",
        "deviceDetail": DEVICE_DETAIL,
    },
    select={
        "record_id": "id",
        "time": utc_time("createdDateTime"),
        "tenant_id": "lower(coalesce(resourceTenantId, homeTenantId))",
        "user_upn": "lower(userPrincipalName)",
        "user_id": "lower(userId)",
        "app_id": "lower(appId)",
        "app_name": "appDisplayName",
        "resource_id": "lower(resourceId)",
        "client_ip": bare_ip("ipAddress"),
        "user_agent": "userAgent",
        "session_id": "sessionId",
        "unique_token_id": "uniqueTokenIdentifier",
        "token_issuer_type": "tokenIssuerType",
        "interactive": (
            "coalesce(isInteractive, list_contains(signInEventTypes, 'interactiveUser'))"
        ),
        "error_code": "TRY_CAST(status.errorCode AS INTEGER)",
        "failure_reason": "status.failureReason",
        "country": "location.countryOrRegion",
        "city": "location.city",
        **SIGNIN_DETAILS,
    },
)
