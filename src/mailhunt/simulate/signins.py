"""Entra ID sign-in records in the Microsoft Graph (beta) ``signIn`` shape."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailhunt.simulate import catalog
from mailhunt.simulate.catalog import ClientProfile, Endpoint
from mailhunt.simulate.ids import graph_time, new_uuid
from mailhunt.simulate.people import User

ODATA_CONTEXT = "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns"

FAILURES: dict[int, str] = {
    50126: "Error validating credentials due to invalid username or password.",
    50074: "Strong Authentication is required.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    70044: "The session has expired or is invalid due to sign-in frequency checks by "
    "conditional access.",
}


@dataclass(frozen=True)
class SignInSpec:
    """What one user sign-in was: who, with which client, from where, and what it issued."""

    time: datetime
    user: User
    client: ClientProfile
    endpoint: Endpoint
    session_id: str
    token_id: str
    interactive: bool
    error_code: int = 0


def _status(error_code: int) -> dict[str, Any]:
    if error_code == 0:
        return {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}
    return {
        "errorCode": error_code,
        "failureReason": FAILURES[error_code],
        "additionalDetails": "The user did not complete the sign-in; see the error code.",
    }


def _location(endpoint: Endpoint) -> dict[str, Any]:
    place = endpoint.place
    return {
        "city": place.city,
        "state": place.state,
        "countryOrRegion": place.country,
        "geoCoordinates": {
            "altitude": None,
            "latitude": place.latitude,
            "longitude": place.longitude,
        },
    }


def _device(spec: SignInSpec) -> dict[str, Any]:
    mobile = spec.client.key == "mobile"
    return {
        "deviceId": spec.user.phone_id if mobile else spec.user.laptop_id,
        "displayName": "iPhone" if mobile else spec.user.laptop_name,
        "operatingSystem": spec.client.operating_system,
        "browser": spec.client.browser,
        "isCompliant": not mobile,
        "isManaged": not mobile,
        "trustType": "" if mobile else "Azure AD joined",
    }


def user_signin(rng: random.Random, tenant_id: str, spec: SignInSpec) -> dict[str, Any]:
    """One user sign-in record."""
    user, client = spec.user, spec.client
    kind = "interactiveUser" if spec.interactive else "nonInteractiveUser"
    return {
        "id": new_uuid(rng),
        "createdDateTime": graph_time(spec.time),
        "userDisplayName": user.display_name,
        "userPrincipalName": user.upn,
        "userId": user.object_id,
        "appId": client.app_id,
        "appDisplayName": client.app_name,
        "ipAddress": spec.endpoint.ip,
        "clientAppUsed": client.client_app_used,
        "correlationId": new_uuid(rng),
        "conditionalAccessStatus": "success" if spec.error_code == 0 else "notApplied",
        "isInteractive": spec.interactive,
        "authenticationRequirement": (
            "multiFactorAuthentication" if spec.interactive else "singleFactorAuthentication"
        ),
        "resourceDisplayName": client.resource_name,
        "resourceId": client.resource_id,
        "resourceTenantId": tenant_id,
        "homeTenantId": tenant_id,
        "userAgent": client.user_agent,
        "sessionId": spec.session_id,
        "uniqueTokenIdentifier": spec.token_id,
        "tokenIssuerType": "AzureAD",
        "signInEventTypes": [kind],
        "servicePrincipalId": "",
        "servicePrincipalName": None,
        "status": _status(spec.error_code),
        "deviceDetail": _device(spec),
        "location": _location(spec.endpoint),
    }


def app_signin(rng: random.Random, tenant_id: str, time: datetime, token: str) -> dict[str, Any]:
    """An app-only (client credentials) sign-in of the archiving application."""
    return {
        "id": new_uuid(rng),
        "createdDateTime": graph_time(time),
        "userDisplayName": None,
        "userPrincipalName": None,
        "userId": None,
        "appId": catalog.ARCHIVER_APP_ID,
        "appDisplayName": catalog.ARCHIVER_NAME,
        "ipAddress": catalog.ARCHIVER_IP,
        "clientAppUsed": None,
        "correlationId": new_uuid(rng),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": False,
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": catalog.GRAPH_APP_ID,
        "resourceTenantId": tenant_id,
        "homeTenantId": tenant_id,
        "userAgent": None,
        "sessionId": None,
        "uniqueTokenIdentifier": token,
        "tokenIssuerType": "AzureAD",
        "signInEventTypes": ["servicePrincipal"],
        "servicePrincipalId": catalog.ARCHIVER_SP_ID,
        "servicePrincipalName": catalog.ARCHIVER_NAME,
        "status": _status(0),
        "deviceDetail": None,
        "location": _location(Endpoint(catalog.ARCHIVER_IP, catalog.DATACENTER_PLACE)),
    }


@dataclass(frozen=True)
class ServicePrincipal:
    """An application signing in with its own credentials (client credentials flow)."""

    app_id: str
    name: str
    object_id: str  # its service principal's object id in the tenant
    ip: str
    place: catalog.Place
    resource_id: str = catalog.GRAPH_APP_ID
    resource_name: str = "Microsoft Graph"


def service_principal_signin(
    rng: random.Random, tenant_id: str, time: datetime, token: str, principal: ServicePrincipal
) -> dict[str, Any]:
    """An app-only (client credentials) sign-in of ``principal`` issuing ``token``, as Graph's
    servicePrincipal sign-ins list it (no user, no session)."""
    record = app_signin(rng, tenant_id, time, token)
    record.update(
        {
            "appId": principal.app_id,
            "appDisplayName": principal.name,
            "ipAddress": principal.ip,
            "resourceDisplayName": principal.resource_name,
            "resourceId": principal.resource_id,
            "servicePrincipalId": principal.object_id,
            "servicePrincipalName": principal.name,
            "location": _location(Endpoint(principal.ip, principal.place)),
        }
    )
    return record
