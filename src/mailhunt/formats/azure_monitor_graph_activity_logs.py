"""Microsoft Graph activity logs as Azure Monitor diagnostic settings deliver them (category
``MicrosoftGraphActivityLogs``; Event Hub messages ``{"records": [...]}`` or storage-account
``PT1H.json`` lines).

One record per HTTP request Microsoft Graph served for the tenant: the resource-log envelope
(``time``, ``category``, ``tenantId``, ``operationName`` "Microsoft Graph Activity",
``resultSignature`` the HTTP status, ``callerIpAddress``) around ``properties``: ``requestId``,
``operationId`` (shared by the requests of one ``$batch``), ``requestMethod``, ``requestUri``,
``responseStatusCode``, ``appId`` (the client application), ``userId`` (null for app-only
tokens), ``servicePrincipalId``, ``ipAddress``, ``userAgent``, ``signInActivityId`` (the
``uniqueTokenIdentifier`` of the sign-in that issued the token), ``sessionId``,
``tokenIssuedAt``, ``roles`` / ``scopes``, ``timeGenerated``. This is where a stolen or forged
token reading mail through Graph shows (``GET .../users/{id}/messages``): the token's id is kept
as ``token_id`` (``signInActivityId``), so a request whose token no stored sign-in issued stands
out as it does for Exchange's MailItemsAccessed. Rows: operation is ``METHOD requestUri``
(verbatim), result the HTTP status, actor the user's object id (else the service principal's),
app_id Microsoft Graph itself (the resource, as for UAL records) and client_app_id the client's
appId; the mailbox is the one the URI names (``/users/{upn}/messages``, ``/mailFolders``) when
it names it by UPN. ``roles``, ``scopes``, ``wids``, sizes and durations stay in the raw record.
Record id: ``requestId``. A member of the ``azure-monitor-entra`` group
(:mod:`mailhunt.formats._azure_monitor`): records of other categories are skipped here.
References:
https://learn.microsoft.com/graph/microsoft-graph-activity-logs-overview
https://learn.microsoft.com/azure/azure-monitor/reference/tables/microsoftgraphactivitylogs
"""

from __future__ import annotations

from mailhunt.formats._azure_monitor import client_ip, envelope_format, envelope_time
from mailhunt.formats.base import utc_time

CATEGORIES = ("MicrosoftGraphActivityLogs",)
WORKLOAD = "MicrosoftGraph"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph, the resource

_PROPERTIES = (
    "STRUCT(requestId VARCHAR, requestMethod VARCHAR, requestUri VARCHAR, "
    "responseStatusCode VARCHAR, appId VARCHAR, userId VARCHAR, servicePrincipalId VARCHAR, "
    "ipAddress VARCHAR, userAgent VARCHAR, signInActivityId VARCHAR, sessionId VARCHAR, "
    "tokenIssuedAt VARCHAR, timeGenerated VARCHAR, tenantId VARCHAR)"
)

# The mailbox a request names by UPN: /users/{upn}/messages, /users/{upn}/mailFolders...
_MAILBOX_IN_URI = (
    "regexp_extract(properties.requestUri, "
    "'/users/([^/?()]+(@|%40)[^/?()]+)/(messages|mailfolders|mailboxsettings)', 1, 'i')"
)

FORMAT = envelope_format(
    name="azure-monitor-graph-activity-logs",
    description="Microsoft Graph activity logs (API requests), Azure Monitor diagnostic settings "
    'records (Event Hub {"records": [...]} or storage-account JSON lines)',
    table="events",
    categories=CATEGORIES,
    properties=_PROPERTIES,
    id_field="properties.requestId",
    select={
        "record_id": "nullif(properties.requestId, '')",
        "time": f"coalesce({envelope_time('time')}, {utc_time('properties.timeGenerated')})",
        "tenant_id": "lower(coalesce(nullif(properties.tenantId, ''), nullif(tenantId, '')))",
        "workload": f"'{WORKLOAD}'",
        "operation": "nullif(concat_ws(' ', nullif(properties.requestMethod, ''), "
        "nullif(properties.requestUri, '')), '')",
        "result": "nullif(properties.responseStatusCode, '')",
        "actor_upn": "lower(coalesce(nullif(properties.userId, ''), "
        "nullif(properties.servicePrincipalId, '')))",
        # only %40 is decoded: url_decode() fails the whole statement on invalid UTF-8
        "mailbox_upn": f"lower(replace(nullif({_MAILBOX_IN_URI}, ''), '%40', '@'))",
        "app_id": f"'{GRAPH_APP_ID}'",
        "client_app_id": "lower(nullif(properties.appId, ''))",
        "client_ip": client_ip("properties.ipAddress"),
        "user_agent": "nullif(properties.userAgent, '')",
        "aad_session_id": "nullif(properties.sessionId, '')",
        "token_id": "nullif(properties.signInActivityId, '')",
        "token_issued_at": utc_time("nullif(properties.tokenIssuedAt, '')"),
    },
)
