"""Entra ID sign-ins as Microsoft Sentinel / Log Analytics rows (tables ``SigninLogs`` and
``AADNonInteractiveUserSignInLogs``, also ``AADServicePrincipalSignInLogs`` and
``AADManagedIdentitySignInLogs``), exported as JSON Lines or a JSON array.

Quirks: columns are PascalCase (``Id``, ``UserPrincipalName``, ``UniqueTokenIdentifier``...);
``ResultType`` is a string ("0" is success, anything else the Entra error code); the dynamic
columns (``Status``, ``LocationDetails``, ``DeviceDetail``...) are objects in
``SigninLogs`` but JSON *strings* in ``AADNonInteractiveUserSignInLogs`` and in most exports
(``az monitor log-analytics query``, OTRF/Mordor datasets): both are read, as each column is read
as text and cast to JSON. ``TenantId`` is the Log Analytics *workspace* id, not the Entra tenant:
the tenant is ``ResourceTenantId``, then ``HomeTenantId``, then ``AADTenantId``. ``ResourceId``
is the Azure resource path (``/tenants/.../providers/Microsoft.aadiam``); the resource API's app
id is ``ResourceIdentity``. The time is ``CreatedDateTime`` (the sign-in), then
``TimeGenerated``; a row carrying neither takes the earliest ``authenticationStepDateTime`` of
``AuthenticationDetails`` (Entra stamps the first step with the sign-in's own time, to the
millisecond) and the warning ``time_from_authentication_details``. A dynamic column holding text
that is not JSON (a cell cut short by an export) is left out with the warning
``dynamic_not_json``.

This module also holds the helpers the other Sentinel formats share (portal-export times, text
and dynamic columns, CSV header variants and sniffing). References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/signinlogs
https://learn.microsoft.com/azure/azure-monitor/reference/tables/aadnoninteractiveusersigninlogs
https://learn.microsoft.com/graph/api/resources/signin (the same fields, camelCase)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from mailhunt.formats.base import (
    Format,
    Record,
    Sample,
    bare_ip,
    has_keys,
    utc_time,
    warnings_sql,
)
from mailhunt.model.sql import quote_identifier as quote

# Log Analytics table -> (Category value, whether its sign-ins are interactive).
TABLES = {
    "SigninLogs": ("SignInLogs", True),
    "AADNonInteractiveUserSignInLogs": ("NonInteractiveUserSignInLogs", False),
    "AADServicePrincipalSignInLogs": ("ServicePrincipalSignInLogs", False),
    "AADManagedIdentitySignInLogs": ("ManagedIdentitySignInLogs", False),
}
INTERACTIVE_BY_CATEGORY = dict(TABLES.values())
SIGN_IN_OPERATION = "Sign-in activity"

# Times as the Log Analytics portal writes them in CSV exports: "4/28/2021, 3:05:26.000 PM".
PORTAL_TIME_FORMATS = "['%m/%d/%Y, %I:%M:%S.%g %p', '%m/%d/%Y, %I:%M:%S %p']"

TEXT = (
    "Id",
    "TimeGenerated",
    "CreatedDateTime",
    "UserPrincipalName",
    "UserId",
    "AppId",
    "AppDisplayName",
    "ResourceIdentity",
    "ResourceId",
    "IPAddress",
    "UserAgent",
    "SessionId",
    "UniqueTokenIdentifier",
    "TokenIssuerType",
    "IsInteractive",
    "ResultType",
    "ResultDescription",
    "Category",
    "Type",
    "OperationName",
    "Location",
    "ResourceTenantId",
    "HomeTenantId",
    "AADTenantId",
    "ResourceDisplayName",
    "AuthenticationRequirement",
    "ConditionalAccessStatus",
    "RiskState",
)
DYNAMIC = {
    "DeviceDetail": "STRUCT(deviceId VARCHAR, trustType VARCHAR, isCompliant VARCHAR)",
    "Status": "STRUCT(errorCode VARCHAR, failureReason VARCHAR)",
    "LocationDetails": "STRUCT(city VARCHAR, countryOrRegion VARCHAR)",
    "AuthenticationDetails": "STRUCT(authenticationStepDateTime VARCHAR)[]",
}
TIMES = ("CreatedDateTime", "TimeGenerated")
_PORTAL_SUFFIX = re.compile(r"( \[UTC\]|_dynamic|_string)$")
COLUMNS = dict.fromkeys((*TEXT, *DYNAMIC), "VARCHAR")  # objects are read as their JSON text


def sentinel_time(field_sql: str) -> str:
    """SQL for a Log Analytics time: ISO 8601 (JSON exports) or the portal's CSV form, UTC."""
    return f"coalesce({utc_time(field_sql)}, try_strptime({field_sql}, {PORTAL_TIME_FORMATS}))"


def sentinel_relation(
    text: Sequence[str], dynamic: Mapping[str, str], rows: str = "{source}"
) -> str:
    """SQL over `rows` (which reads {source}): each text column with '' as NULL, each dynamic
    column (an object, or JSON text) cast to its DuckDB type (NULL when it is not JSON), and
    `_unparsed`: the dynamic columns that held text which is not JSON."""
    texts = [f"nullif({quote(f)}, '') AS {quote(f)}" for f in text]
    parsed = [
        f"TRY_CAST(TRY_CAST({quote(f)} AS JSON) AS {type_}) AS {quote(f)}"
        for f, type_ in dynamic.items()
    ]
    unparsed = ", ".join(
        f"CASE WHEN {quote(f)} <> '' AND NOT json_valid({quote(f)}) THEN '{f}' END" for f in dynamic
    )
    return (
        f"SELECT _ordinal, {', '.join(texts + parsed)}, "
        f"list_filter([{unparsed}], lambda c: c IS NOT NULL) AS _unparsed FROM {rows}"
    )


def portal_csv_rows(text: Sequence[str], dynamic: Sequence[str], times: Sequence[str]) -> str:
    """SQL over {source}, a Log Analytics portal CSV export, giving one column per field
    whatever the header holds: `X [UTC]` for times, `X_dynamic` / `X_string` for dynamic
    columns the portal exported twice; a header the file lacks gives NULL."""
    variants = {field: [field] for field in text}
    variants.update({field: [field, f"{field}_dynamic", f"{field}_string"] for field in dynamic})
    variants.update({field: [f"{field} [UTC]", field] for field in times})
    headers = [header for names in variants.values() for header in names]
    pad = ", ".join(f"NULL::VARCHAR AS {quote(header)}" for header in headers)
    picks = ", ".join(
        "coalesce(" + ", ".join(f"nullif({quote(h)}, '')" for h in names) + f") AS {quote(field)}"
        for field, names in variants.items()
    )
    return (
        f"(SELECT _ordinal, {picks} FROM "
        f"(SELECT * FROM {{source}} UNION ALL BY NAME SELECT {pad} WHERE false))"
    )


def portal_record(record: Record) -> dict[str, object]:
    """A portal CSV row with its headers' suffixes (` [UTC]`, `_dynamic`, `_string`) removed,
    for sniffers to test the same names as in JSON rows."""
    return {_PORTAL_SUFFIX.sub("", key): value for key, value in record.items()}


def portal_csv_sniffer(
    is_row: Callable[[Record, Sequence[str]], bool], time_keys: Sequence[str]
) -> Callable[[Sample], bool]:
    """A sniffer for Log Analytics portal CSV exports: any sampled row that `is_row` accepts
    (given `time_keys`) once its headers' suffixes are removed."""

    def sniff(sample: Sample) -> bool:
        return sample.kind == "csv" and any(
            is_row(portal_record(r), time_keys) for r in sample.records
        )

    return sniff


def interactive_by_category(field_sql: str) -> str:
    """SQL: whether the sign-ins of a category (SignInLogs...) are interactive, else NULL."""
    cases = " ".join(
        f"WHEN '{category}' THEN {str(interactive).lower()}"
        for category, interactive in INTERACTIVE_BY_CATEGORY.items()
    )
    return f"CASE {field_sql} {cases} END"


def is_sign_in_row(record: Record, time_keys: Sequence[str]) -> bool:
    """A Log Analytics sign-in row: its id, app and result, a time, and a sign-in table."""
    return (
        has_keys(record, "Id", "AppId", "ResultType")
        and any(key in record for key in time_keys)
        and (
            record.get("Category") in INTERACTIVE_BY_CATEGORY
            or record.get("Type") in TABLES
            or record.get("OperationName") == SIGN_IN_OPERATION
        )
    )


def _sniff(sample: Sample) -> bool:
    return sample.kind == "json" and any(is_sign_in_row(r, TIMES) for r in sample.records)


_ROW_TIME = f"coalesce({', '.join(sentinel_time(quote(t)) for t in TIMES)})"
_STEP_TIME = (
    "list_min(list_transform(AuthenticationDetails, "
    f"lambda s: {utc_time('s.authenticationStepDateTime')}))"
)

# Schema column -> SQL over the relation's fields, shared by the JSON and CSV exports.
SELECT = {
    "record_id": "Id",
    "time": f"coalesce({_ROW_TIME}, {_STEP_TIME})",
    "tenant_id": "lower(coalesce(ResourceTenantId, HomeTenantId, AADTenantId))",
    "user_upn": "lower(UserPrincipalName)",
    "user_id": "lower(UserId)",
    "app_id": "lower(AppId)",
    "app_name": "AppDisplayName",
    "resource_id": "lower(coalesce(ResourceIdentity, "
    "CASE WHEN NOT starts_with(ResourceId, '/') THEN ResourceId END))",
    "client_ip": bare_ip("IPAddress"),
    "user_agent": "UserAgent",
    "session_id": "SessionId",
    "unique_token_id": "UniqueTokenIdentifier",
    "token_issuer_type": "TokenIssuerType",
    "interactive": "coalesce(TRY_CAST(IsInteractive AS BOOLEAN), "
    f"{interactive_by_category('Category')})",
    "error_code": "coalesce(TRY_CAST(ResultType AS INTEGER), "
    "TRY_CAST(Status.errorCode AS INTEGER))",
    "failure_reason": "coalesce(nullif(Status.failureReason, ''), ResultDescription)",
    "country": "coalesce(nullif(LocationDetails.countryOrRegion, ''), Location)",
    "city": "nullif(LocationDetails.city, '')",
    "resource_name": "ResourceDisplayName",
    "authentication_requirement": "AuthenticationRequirement",
    "conditional_access_status": "ConditionalAccessStatus",
    "risk_state": "RiskState",
    "device_id": "lower(nullif(DeviceDetail.deviceId, ''))",
    "device_trust_type": "nullif(DeviceDetail.trustType, '')",
    "device_compliant": "TRY_CAST(DeviceDetail.isCompliant AS BOOLEAN)",
    "warnings": warnings_sql(
        {
            "time_from_authentication_details": f"{_ROW_TIME} IS NULL AND {_STEP_TIME} IS NOT NULL",
            "dynamic_not_json": "len(_unparsed) > 0",
        }
    ),
}

FORMAT = Format(
    name="sentinel-signin-logs",
    description="Entra ID sign-ins, Microsoft Sentinel SigninLogs / "
    "AADNonInteractiveUserSignInLogs rows (JSON lines or array)",
    table="signins",
    sniff=_sniff,
    id_field="Id",
    time_field="TimeGenerated",
    columns=COLUMNS,
    relation=sentinel_relation(TEXT, DYNAMIC),
    select=SELECT,
)
