"""Processing pipelines from the Sigma taxonomy onto the store: which table a rule's log source
is in, and which column each of its field names is.

These are tables, not code: :data:`LOG_SOURCES` routes ``product``/``service`` to a table and
a fixed SQL predicate selecting the formats that hold that log (``events.source``), and maps
each Sigma field name to a *token* the backend resolves (``@operation``: the column
``operation``; ``@param:Name``: the value of entry ``Name`` of ``events.parameters``; a
derived expression, see :data:`DERIVED`). Field names are matched without regard to letter
case: SigmaHQ's rules spell the same Log Analytics column several ways (``OperationName`` and
``operationName``, ``userAgent``, ``Resultdescription``). A field not in its log source's map
reaches the backend unmapped and makes the rule unsupported, ``field X not collected``: the
store keeps the columns of ``model/schema.py``, not every field of the source record.
:data:`NOT_COLLECTED` names the log sources the store does not hold at all. ``docs/sigma.md``
has the same tables in prose, with the reasons.

References: https://sigmahq.io/docs/basics/log-sources.html,
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema,
https://learn.microsoft.com/azure/azure-monitor/reference/tables/signinlogs,
https://learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs,
https://learn.microsoft.com/azure/azure-monitor/reference/tables/azureactivity,
https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldFunctionTransformation
from sigma.rule import SigmaLogSource

COLUMN = "@"  # token prefix: a column of the log source's table
PARAM = "@param:"  # token prefix: an entry of events.parameters, by name

# Formats (events.source / signins.source) holding each log, by the names formats/ registers.
UAL_FORMATS = (
    "m365-ual-json",
    "m365-ual-json-camelcase",
    "m365-ual-json-lowercase",
    "m365-ual-powershell-json",
    "m365-ual-purview-csv",
    "m365-ual-search-csv",
    "m365-ual-graph-audit-log",
    "sentinel-office-activity-json",
    "sentinel-office-activity-csv",
)
DIRECTORY_AUDIT_FORMATS = (
    "azure-monitor-audit-logs",
    "entra-directory-audits-graph",
    "sentinel-audit-logs",
    "sentinel-audit-logs-csv",
)
SIGNIN_FORMATS = (
    "azure-monitor-signins",
    "entra-signins-graph",
    "sentinel-signin-logs",
    "sentinel-signin-logs-csv",
)
RISK_FORMATS = ("azure-monitor-identity-protection",)
GWORKSPACE_FORMATS = ("gworkspace-reports-api", "gworkspace-sentinel")
MAIL_SERVER_FORMATS = ("mail-syslog", "exchange-protocol-logs")
ACTIVITY_FORMATS = ("azure-activity-logs", "sentinel-azure-activity", "sentinel-azure-activity-csv")

# Derived fields: a token naming an SQL expression over the table's columns (fixed text).
DERIVED: dict[str, tuple[str, str]] = {
    # The sign-in's outcome as the Entra portal's "Status" column words it (Interrupted, which
    # the portal tells apart, is a failure here: its error code is all the store keeps).
    "@signin_status": (
        "signins",
        "CASE WHEN \"error_code\" = 0 THEN 'Success' "
        "WHEN \"error_code\" IS NOT NULL THEN 'Failure' END",
    ),
    # A UAL record's outcome in the words of SigmaHQ's m365 rules (status: success), as
    # Elastic's o365 module words ResultStatus: Succeeded, PartiallySucceeded and True are
    # success, Failed and False failure; any other status as it is.
    "@m365_outcome": (
        "events",
        "CASE WHEN lower(\"result\") IN ('succeeded', 'partiallysucceeded', 'success', 'true') "
        "THEN 'success' WHEN lower(\"result\") IN ('failed', 'failure', 'false') "
        "THEN 'failure' ELSE \"result\" END",
    ),
    # An Azure Resource Manager operation's resource provider: its namespace, the part before
    # the first '/' (MICROSOFT.KEYVAULT/VAULTS/DELETE), which AzureActivity's
    # ResourceProviderValue holds and the diagnostic-settings records do not spell out.
    # A Google Workspace event's service as SigmaHQ's gcp rules name it (eventService:
    # admin.googleapis.com): the Reports API application, which the store keeps (admin, login,
    # token, gmail...).
    "@gworkspace_service": (
        "events",
        'CASE WHEN "workload" IS NOT NULL THEN "workload" || \'.googleapis.com\' END',
    ),
    "@resource_provider": (
        "events",
        "CASE WHEN contains(\"operation\", '/') THEN split_part(\"operation\", '/', 1) END",
    ),
}


@dataclass(frozen=True)
class LogSource:
    """Where one Sigma log source is in the store and how its fields are named there."""

    product: str
    service: str
    table: str  # events or signins
    formats: tuple[str, ...]  # the formats holding it (the table's ``source``)
    fields: Mapping[str, str]  # Sigma field name -> token
    prefixes: Mapping[str, str] = field(default_factory=dict)  # field prefix -> token prefix
    where: str = ""  # a further predicate over the table's columns (fixed text), if any

    def token(self, name: str) -> str:
        """The token for a Sigma field name (matched whatever its letter case), or the name
        itself when the store does not keep that field."""
        folded = name.casefold()
        for sigma_name, token in self.fields.items():
            if sigma_name.casefold() == folded:
                return token
        for prefix, token_prefix in self.prefixes.items():
            if folded.startswith(prefix.casefold()) and len(name) > len(prefix):
                return token_prefix + name[len(prefix) :]
        return name

    @property
    def scope(self) -> str:
        """SQL predicate selecting this log's records in the table (fixed text)."""
        names = ", ".join("'" + name + "'" for name in self.formats)
        scope = f'"source" IN ({names})'
        return f"{scope} AND {self.where}" if self.where else scope


def _columns(**fields: str) -> dict[str, str]:
    return {name: COLUMN + column for name, column in fields.items()}


_M365_FIELDS = _columns(
    Operation="operation",
    Workload="workload",
    RecordType="record_type",
    UserId="actor_upn",
    ClientIP="client_ip",
    ClientIPAddress="client_ip",
    ActorIpAddress="client_ip",
    ResultStatus="result",
    ObjectId="object_id",
    MailboxOwnerUPN="mailbox_upn",
    MailboxGuid="mailbox_guid",
    AppId="app_id",
    ClientAppId="client_app_id",
    ClientInfoString="user_agent",
    UserAgent="user_agent",
    SessionId="session_id",
    OrganizationId="tenant_id",
    Id="record_id",
    # the CloudTrail-like names of SigmaHQ's m365 rules: the service (and, below, the outcome)
    eventSource="workload",
)
_M365_FIELDS["status"] = "@m365_outcome"
_M365_PREFIXES = {"Parameters.": PARAM, "ModifiedProperties.": PARAM}


def _m365(service: str, **extra: str) -> LogSource:
    return LogSource(
        "m365",
        service,
        "events",
        UAL_FORMATS,
        {**_M365_FIELDS, **_columns(**extra)},
        _M365_PREFIXES,
    )


_SIGNIN_FIELDS = {
    **_columns(
        ResultType="error_code",
        ResultDescription="failure_reason",
        UserPrincipalName="user_upn",
        Username="user_upn",
        UserId="user_id",
        AppId="app_id",
        AppDisplayName="app_name",
        ResourceId="resource_id",
        ResourceIdentity="resource_id",
        IPAddress="client_ip",
        UserAgent="user_agent",
        SessionId="session_id",
        UniqueTokenIdentifier="unique_token_id",
        TokenIssuerType="token_issuer_type",
        IsInteractive="interactive",
        Location="country",
        **{"LocationDetails.countryOrRegion": "country", "LocationDetails.city": "city"},
        TenantId="tenant_id",
        Id="record_id",
        ResourceDisplayName="resource_name",
        AuthenticationRequirement="authentication_requirement",
        ConditionalAccessStatus="conditional_access_status",
        RiskState="risk_state",
        **{
            "DeviceDetail.deviceId": "device_id",
            "DeviceDetail.trustType": "device_trust_type",
            "DeviceDetail.isCompliant": "device_compliant",
        },
    ),
    "Status": "@signin_status",
}

_AUDIT_FIELDS = _columns(
    OperationName="operation",
    ActivityDisplayName="operation",
    **{"properties.message": "operation", "properties.activityDisplayName": "operation"},
    Result="result",
    Status="result",
    **{"properties.result": "result"},
    **{"InitiatedBy.user.userPrincipalName": "actor_upn"},
    **{"InitiatedBy.app.appId": "app_id", "InitiatedBy.user.ipAddress": "client_ip"},
    Category="category",
    LoggedByService="logged_by_service",
    TenantId="tenant_id",
    Id="record_id",
)

_RISK_FIELDS = _columns(
    riskEventType="operation",
    riskState="result",
    userPrincipalName="actor_upn",
    ipAddress="client_ip",
    TenantId="tenant_id",
    Id="record_id",
)

# The Azure Activity log: SigmaHQ names the diagnostic-settings fields (operationName) and
# AzureActivity's columns (OperationNameValue, CategoryValue, ResourceProviderValue).
_ACTIVITY_FIELDS = {
    **_columns(
        operationName="operation",
        OperationNameValue="operation",
        ResourceId="object_id",
        _ResourceId="object_id",
        category="category",
        CategoryValue="category",
        resultType="result",
        ActivityStatusValue="result",
        ActivityStatus="result",
        Caller="actor_upn",
        callerIpAddress="client_ip",
    ),
    "ResourceProviderValue": "@resource_provider",
    "ResourceProvider": "@resource_provider",
}
_ACTIVITY_PREFIXES = {"properties.": PARAM, "Properties_d.": PARAM}

LOG_SOURCES: tuple[LogSource, ...] = (
    _m365("audit"),
    # Exchange rules name the cmdlet eventName (Add-FederatedDomain): the UAL Operation.
    _m365("exchange", eventName="operation"),
    # threat_management / threat_detection rules name a Defender alert eventName: the alert's
    # Name in SecurityComplianceAlerts records.
    _m365("threat_management", eventName="alert_name"),
    _m365("threat_detection", eventName="alert_name"),
    _m365("sharepoint"),
    _m365("onedrive"),
    _m365("azuread"),
    LogSource("azure", "signinlogs", "signins", SIGNIN_FORMATS, _SIGNIN_FIELDS),
    LogSource("azure", "auditlogs", "events", DIRECTORY_AUDIT_FORMATS, _AUDIT_FIELDS),
    LogSource("azure", "riskdetection", "events", RISK_FORMATS, _RISK_FIELDS),
    LogSource(
        "azure",
        "activitylogs",
        "events",
        ACTIVITY_FORMATS,
        _ACTIVITY_FIELDS,
        _ACTIVITY_PREFIXES,
    ),
)

# mailhunt's own log sources, for what Sigma's taxonomy has none for (docs/sigma.md):
# non-interactive Entra sign-ins (Sentinel's AADNonInteractiveUserSignInLogs: where a forged
# or stolen token is refreshed and used, and which SigninLogs rules never see), Google
# Workspace Reports API activities, and on-premises mail servers' logins (Dovecot, Postfix,
# Exchange protocol logs).
_GWORKSPACE_FIELDS = {
    **_columns(
        eventName="operation",
        applicationName="workload",
        **{"id.applicationName": "workload", "actor.email": "actor_upn"},
        ipAddress="client_ip",
    ),
    "eventService": "@gworkspace_service",
}
_MAIL_SERVER_FIELDS = {
    **_columns(
        user="user_upn",
        username="user_upn",
        rip="client_ip",
        client_ip="client_ip",
        service="app_name",
        protocol="app_name",
        reason="failure_reason",
        session="session_id",
    ),
    "status": "@signin_status",
}
OWN_LOG_SOURCES: tuple[LogSource, ...] = (
    LogSource(
        "mailhunt",
        "noninteractive_signins",
        "signins",
        SIGNIN_FORMATS,
        _SIGNIN_FIELDS,
        where='"interactive" = false',
    ),
    LogSource("google_workspace", "activities", "events", GWORKSPACE_FORMATS, _GWORKSPACE_FIELDS),
    # SigmaHQ's name for the Admin console's audit (rules/cloud/gcp/gworkspace)
    LogSource(
        "gcp",
        "google_workspace.admin",
        "events",
        GWORKSPACE_FORMATS,
        _GWORKSPACE_FIELDS,
        where="\"workload\" = 'admin'",
    ),
    LogSource("mailhunt", "mail_server", "signins", MAIL_SERVER_FORMATS, _MAIL_SERVER_FIELDS),
)
LOG_SOURCES += OWN_LOG_SOURCES

# Log sources of the taxonomy the store holds no record of, with why.
NOT_COLLECTED: dict[tuple[str, str], str] = {
    ("azure", "pim"): "Privileged Identity Management alerts are not ingested",
}


class LogSourceNotCollected(ValueError):
    """The rule's log source is not in the store; the message says which and why."""


def log_source_for(logsource: SigmaLogSource) -> LogSource:
    """The store's log source for a rule's ``logsource`` (LogSourceNotCollected if none)."""
    product, service, category = logsource.product, logsource.service, logsource.category
    for source in LOG_SOURCES:
        if (product, service) == (source.product, source.service) and category is None:
            return source
    named = ", ".join(
        f"{key}={value}"
        for key, value in (("product", product), ("service", service), ("category", category))
        if value
    )
    why = NOT_COLLECTED.get((product or "", service or ""))
    raise LogSourceNotCollected(
        f"log source not collected ({named or 'none given'})" + (f": {why}" if why else "")
    )


def pipeline_for(source: LogSource) -> ProcessingPipeline:
    """The pySigma processing pipeline naming the log source's fields by their tokens."""
    return ProcessingPipeline(
        name=f"mailhunt {source.product}/{source.service}",
        priority=20,
        items=[
            ProcessingItem(
                identifier=f"mailhunt_{source.product}_{source.service}_fields",
                transformation=FieldFunctionTransformation(
                    mapping={}, transform_func=_mapper(source)
                ),
            )
        ],
    )


def _mapper(source: LogSource) -> Callable[[str | None], str]:
    def apply(name: str | None) -> str:
        return "" if name is None else source.token(name)

    return apply
