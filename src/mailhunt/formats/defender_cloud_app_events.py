"""Microsoft Defender XDR advanced hunting results: ``CloudAppEvents`` rows.

Advanced hunting query results saved as JSON Lines (or a JSON array): one row per result, with
Defender's columns (Timestamp, ActionType, Application, ApplicationId, AccountObjectId,
AccountDisplayName, IPAddress, CountryCode, City, ISP, UserAgent, ActivityType, ActivityObjects,
ObjectName, ReportId, ...) and ``RawEventData``: the original unified audit log record, as an
object or as a JSON string. RawEventData is mapped exactly as ``m365_ual`` maps the Management
Activity API's JSON; Defender's columns are used only where it lacks a value (time from
Timestamp, client IP from IPAddress, operation from ActionType, record id from ReportId, user
agent from UserAgent, workload from Application, actor from the UserId column older rows carry).
Defender gives no tenant column: tenant_id is the UAL OrganizationId, NULL for a row without
RawEventData.

Quirks:
- An export of a ``union`` query mixes tables: DeviceEvents or IdentityDirectoryEvents rows
  (LdapSearch, Directory Services replication) carry neither RawEventData nor ActivityObjects
  (or carry them as null). They are skipped, not quarantined. A CloudAppEvents row without
  RawEventData but with ActivityObjects (older rows) is kept, mapped from Defender's columns.
- RawEventData may hold PowerShell-flattened nested fields (``"@{Id=...; Path=\\Inbox;
  FolderItems=System.Object[]}"``): the record is kept, the lost fields are NULL, and it carries
  the warning ``nested_data_lost_in_export`` (as ``m365_powershell_json``).
- Sniffing needs one sampled row with the RawEventData, ActionType and Timestamp keys (a union
  export gives every row every key, null where the table lacks it).

References:
https://learn.microsoft.com/defender-xdr/advanced-hunting-cloudappevents-table
https://learn.microsoft.com/defender-xdr/advanced-hunting-schema-tables
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import carried, unwrap, wrapped_select
from mailhunt.formats.base import Format, bare_ip, json_sniffer, utc_time
from mailhunt.formats.m365_powershell_json import _LOST_SQL as _PS_LOST_SQL
from mailhunt.formats.m365_powershell_json import LOST

# Defender column -> the alias it is carried under next to the UAL fields.
_DEFENDER = {
    "ReportId": "de_report_id",
    "Timestamp": "de_timestamp",
    "ActionType": "de_action_type",
    "Application": "de_application",
    "IPAddress": "de_ip_address",
    "UserAgent": "de_user_agent",
    "ActivityObjects": "de_activity_objects",
    "UserId": "de_user_id",  # not in the documented schema, but older rows carry it
}

_RAW = "nullif(RawEventData, '')"
_DEFENDER_IP = bare_ip("nullif(de_ip_address, '')")
# The same test m365_powershell_json makes on AuditData, made on RawEventData (only when present).
_LOST_SQL = f"{_RAW} IS NOT NULL AND ({_PS_LOST_SQL.replace('AuditData', _RAW)})"

FORMAT = Format(
    name="defender-cloud-app-events",
    description="Microsoft Defender XDR advanced hunting CloudAppEvents rows (JSON lines or array)",
    table="events",
    sniff=json_sniffer("RawEventData", "ActionType", "Timestamp"),
    columns={
        **dict.fromkeys(_DEFENDER, "VARCHAR"),
        "RawEventData": "VARCHAR",  # an object yields its JSON text, a string its content
    },
    relation=unwrap(
        _RAW,
        {
            **carried(_DEFENDER),
            "de_has_raw": f"{_RAW} IS NOT NULL",
            "de_lost": _LOST_SQL,
        },
    ),
    id_field="RawEventData.Id",
    time_field="RawEventData.CreationTime",
    skip="NOT de_has_raw AND de_activity_objects IS NULL",
    select={
        **wrapped_select(
            {
                "record_id": "de_report_id",
                "time": utc_time("de_timestamp"),
                "workload": "de_application",
                "operation": "nullif(de_action_type, '')",
                "actor_upn": "lower(nullif(de_user_id, ''))",
                "client_ip": _DEFENDER_IP,
                "user_agent": "nullif(de_user_agent, '')",
            }
        ),
        "warnings": f"CASE WHEN de_lost THEN ['{LOST}'] END",
    },
)
