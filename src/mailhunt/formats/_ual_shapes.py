"""Shared pieces of the formats that carry a unified audit log record inside another wrapper.

Purview and Search-UnifiedAuditLog CSV exports, PowerShell JSON and Microsoft Graph audit log
queries all hold the same UAL record (the Management Activity API's JSON) as text or as a nested
object. Each unpacks it into the typed fields of ``m365_ual.COLUMNS`` with one relation, then maps
it with ``m365_ual.SELECT``, so every shape of the same record gives the same row.
Exports that hand over the record itself with its keys in another letter case (``creationtime``,
``creationTime``) are read by ``recased_ual``: DuckDB's read_json matches JSON keys and STRUCT
field names case-sensitively, but its SQL binds column names and struct fields
case-insensitively, so only the typed columns are recased and ``m365_ual.SELECT`` is used as is.
Not a format itself (the registry skips modules whose name starts with ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from mailhunt.formats.base import Format, Sample, csv_sniffer, json_sniffer
from mailhunt.formats.m365_ual import COLUMNS, SELECT, SNIFF_ANY, SNIFF_KEYS

# The UAL record as one DuckDB STRUCT type, built from the typed columns m365_ual reads.
UAL_STRUCT = "STRUCT(" + ", ".join(f'"{name}" {type_}' for name, type_ in COLUMNS.items()) + ")"

# AuditLogRecordType names -> numbers, from the Management Activity API schema
# (https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema#auditlogrecordtype).
# Exports that give RecordType as a name (Sentinel OfficeActivity, Graph auditLogRecordType,
# Search-UnifiedAuditLog) are mapped back to the number the schema stores.
RECORD_TYPES = {
    "ExchangeAdmin": 1,
    "ExchangeItem": 2,
    "ExchangeItemGroup": 3,
    "SharePoint": 4,
    "SyntheticProbe": 5,
    "SharePointFileOperation": 6,
    "OneDrive": 7,
    "AzureActiveDirectory": 8,
    "AzureActiveDirectoryAccountLogon": 9,
    "DataCenterSecurityCmdlet": 10,
    "ComplianceDLPSharePoint": 11,
    "Sway": 12,
    "ComplianceDLPExchange": 13,
    "SharePointSharingOperation": 14,
    "AzureActiveDirectoryStsLogon": 15,
    "SkypeForBusinessPSTNUsage": 16,
    "SkypeForBusinessUsersBlocked": 17,
    "SecurityComplianceCenterEOPCmdlet": 18,
    "ExchangeAggregatedOperation": 19,
    "PowerBIAudit": 20,
    "CRM": 21,
    "Yammer": 22,
    "SkypeForBusinessCmdlets": 23,
    "Discovery": 24,
    "MicrosoftTeams": 25,
    "ThreatIntelligence": 28,
    "MailSubmission": 29,
    "MicrosoftFlow": 30,
    "AeD": 31,
    "MicrosoftStream": 32,
    "ComplianceDLPSharePointClassification": 33,
    "ThreatFinder": 34,
    "Project": 35,
    "SharePointListOperation": 36,
    "SharePointCommentOperation": 37,
    "DataGovernance": 38,
    "Kaizala": 39,
    "SecurityComplianceAlerts": 40,
    "ThreatIntelligenceUrl": 41,
    "SecurityComplianceInsights": 42,
    "MIPLabel": 43,
    "WorkplaceAnalytics": 44,
    "VivaInsights": 44,
    "PowerAppsApp": 45,
    "PowerAppsPlan": 46,
    "ThreatIntelligenceAtpContent": 47,
    "LabelContentExplorer": 48,
    "TeamsHealthcare": 49,
    "ExchangeItemAggregated": 50,
    "HygieneEvent": 51,
    "DataInsightsRestApiAudit": 52,
    "InformationBarrierPolicyApplication": 53,
    "SharePointListItemOperation": 54,
    "SharePointContentTypeOperation": 55,
    "SharePointFieldOperation": 56,
    "MicrosoftTeamsAdmin": 57,
    "HRSignal": 58,
    "MicrosoftTeamsDevice": 59,
    "MicrosoftTeamsAnalytics": 60,
    "InformationWorkerProtection": 61,
    "Campaign": 62,
    "DLPEndpoint": 63,
    "AirInvestigation": 64,
    "Quarantine": 65,
    "MicrosoftForms": 66,
    "ApplicationAudit": 67,
    "ComplianceSupervisionExchange": 68,
    "CustomerKeyServiceEncryption": 69,
    "OfficeNative": 70,
    "MipAutoLabelSharePointItem": 71,
    "MipAutoLabelSharePointPolicyLocation": 72,
    "MicrosoftTeamsShifts": 73,
    "MipAutoLabelExchangeItem": 75,
    "CortanaBriefing": 76,
    "WDATPAlerts": 78,
    "SensitivityLabelPolicyMatch": 82,
    "SensitivityLabelAction": 83,
    "SensitivityLabeledFileAction": 84,
    "AttackSim": 85,
    "AirManualInvestigation": 86,
    "SecurityComplianceRBAC": 87,
    "UserTraining": 88,
    "AirAdminActionInvestigation": 89,
    "MSTIC": 90,
    "PhysicalBadgingSignal": 91,
    "AipDiscover": 93,
    "AipSensitivityLabelAction": 94,
    "AipProtectionAction": 95,
    "AipFileDeleted": 96,
    "AipHeartBeat": 97,
    "MCASAlerts": 98,
    "OnPremisesFileShareScannerDlp": 99,
    "OnPremisesSharePointScannerDlp": 100,
    "ExchangeSearch": 101,
    "SharePointSearch": 102,
    "PrivacyInsights": 103,
    "MyAnalyticsSettings": 105,
    "SecurityComplianceUserChange": 106,
    "ComplianceDLPExchangeClassification": 107,
    "MipExactDataMatch": 109,
    "CopilotInteraction": 261,
}

_RECORD_TYPE_MAP = (
    "MAP {" + ", ".join(f"'{name.lower()}': {code}" for name, code in RECORD_TYPES.items()) + "}"
)


def record_type(field_sql: str) -> str:
    """SQL for a RecordType given as a number, a numeric string or a name (any letter case)."""
    return f"coalesce(TRY_CAST({field_sql} AS INTEGER), {_RECORD_TYPE_MAP}[lower({field_sql})])"


def unwrap(json_sql: str, keep: Mapping[str, str] | None = None) -> str:
    """A relation turning the UAL record held as JSON text in `json_sql` into the typed fields of
    m365_ual.COLUMNS (all NULL when the text is not a JSON object: the row stays, and is then
    quarantined for its missing id). `keep`: alias -> SQL over the reader's fields, carried along
    (aliases must not be UAL field names)."""
    kept = "".join(f"{sql} AS {alias}, " for alias, sql in (keep or {}).items())
    return (
        f"SELECT _ordinal, {kept}ual.* FROM (SELECT *, "
        f"TRY_CAST(TRY_CAST({json_sql} AS JSON) AS {UAL_STRUCT}) AS ual FROM {{source}})"
    )


def carried(fields: Mapping[str, str]) -> dict[str, str]:
    """`unwrap`'s `keep` for a wrapper's own fields, from field name -> alias."""
    return {alias: f'"{name}"' for name, alias in fields.items()}


def wrapped_select(fallbacks: Mapping[str, str]) -> dict[str, str]:
    """m365_ual.SELECT for a UAL record carried in a wrapper that repeats some of its values
    (Graph's summary fields, Defender's columns, PowerShell's properties): each column of
    `fallbacks` is the record's own value, else the fallback (SQL over the fields `unwrap`
    kept), for records whose inner JSON lacks it."""
    return {
        **SELECT,
        **{column: f"coalesce({SELECT[column]}, {sql})" for column, sql in fallbacks.items()},
    }


def audit_data_csv(
    name: str, description: str, headers: tuple[str, ...], not_headers: tuple[str, ...]
) -> Format:
    """A CSV export whose AuditData column holds the whole UAL record: recognised by its
    header (with `headers`, without any of `not_headers`), read like the API's JSON."""
    has_headers = csv_sniffer(*headers)

    def sniff(sample: Sample) -> bool:
        return has_headers(sample) and not any(h in sample.records[0] for h in not_headers)

    return Format(
        name=name,
        description=description,
        table="events",
        sniff=sniff,
        reader="csv",
        columns=COLUMNS,  # the fields of the record in AuditData (quarantine names them)
        relation=unwrap("AuditData"),
        embedded_json="AuditData",
        id_field="Id",
        time_field="CreationTime",
        select=SELECT,
    )


# A STRUCT field name inside a DuckDB type text: a word right after "(" or ", ", then a space
# and its type ("STRUCT(Path VARCHAR, FolderItems STRUCT(...)[])[]").
_STRUCT_FIELD = re.compile(r"(?:(?<=\()|(?<=, ))([A-Za-z_]\w*)(?= )")


def recased_columns(rename: Callable[[str], str]) -> dict[str, str]:
    """m365_ual.COLUMNS with every key and every STRUCT field name (at any depth) passed
    through `rename`: the typed columns read_json needs for records keyed in another case."""
    recased = {
        rename(name): _STRUCT_FIELD.sub(lambda m: rename(m.group(1)), type_)
        for name, type_ in COLUMNS.items()
    }
    if len(recased) != len(COLUMNS):
        raise ValueError("renaming made two UAL fields one")
    return recased


def camel_case(name: str) -> str:
    """A PascalCase name in camelCase as .NET's JsonNamingPolicy.CamelCase (and Json.NET's
    CamelCaseNamingStrategy) write it: the leading run of capitals is lowered, except the
    last one when it starts the next word ("AADSessionId" -> "aadSessionId", "ClientIPAddress"
    -> "clientIPAddress", "Id" -> "id")."""
    chars = list(name)
    for i, char in enumerate(chars):
        if i == 1 and not char.isupper():
            break
        if i > 0 and i + 1 < len(chars) and not chars[i + 1].isupper():
            break
        chars[i] = char.lower()
    return "".join(chars)


def recased_ual(name: str, description: str, rename: Callable[[str], str]) -> Format:
    """The Management Activity API's JSON with every key (at any depth) renamed by `rename`:
    read with the recased typed columns, mapped with m365_ual's SQL unchanged (DuckDB binds
    names case-insensitively), recognised by the recased keys m365_ual sniffs."""
    return Format(
        name=name,
        description=description,
        table="events",
        sniff=json_sniffer(*map(rename, SNIFF_KEYS), any_of=tuple(map(rename, SNIFF_ANY))),
        id_field=rename("Id"),
        time_field=rename("CreationTime"),
        columns=recased_columns(rename),
        select=SELECT,
    )
