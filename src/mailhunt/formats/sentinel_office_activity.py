"""Microsoft Sentinel / Log Analytics ``OfficeActivity`` rows as JSON (lines, array or page).

The Office 365 connector stores each unified audit log record as one OfficeActivity row, with
fields renamed (OfficeId = the UAL Id, OfficeWorkload, Client_IPAddress, Logon_Type as a name
such as "Owner", TimeGenerated = the record's CreationTime), nested data (Folders,
OperationProperties, ExtendedProperties, AppAccessContext) as JSON *strings*, and RecordType as
a name ("ExchangeItemAggregated") or a numeric string ("50"); what an operation acted on is
OfficeObjectId, and a cmdlet's Parameters (and a change's ModifiedProperties) a JSON string.
The row is renamed back to the UAL fields (parsing the JSON strings into the same typed
structures) and mapped with ``m365_ual``'s SQL, so Folders given as a string still yields
message_items. The tenant is OrganizationId (the Microsoft 365 organisation), else the
workspace's TenantId.

Time is TimeGenerated (ISO 8601, or "4/28/2021, 3:05:26.000 PM" under a "TimeGenerated [UTC]"
key as the portal exports it; the "[UTC]" in the name is what makes it safe to read). Rows
without it fall back to ElevationTime / Start_Time, which the connector fills with the time the
record was collected, minutes after the event; such rows carry the warning
``time_is_collection_time``. References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/officeactivity
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
"""

from __future__ import annotations

from collections.abc import Callable

from mailhunt.formats._ual_shapes import record_type
from mailhunt.formats.base import Format, json_sniffer, utc_time
from mailhunt.formats.m365_ual import COLUMNS, SELECT

COLLECTION_TIME = "time_is_collection_time"

# UAL field -> the OfficeActivity fields carrying it, first non-empty wins; a UAL field not
# listed here keeps its name. CreationTime is read from the time fields below.
RENAMED: dict[str, tuple[str, ...]] = {
    "Id": ("OfficeId", "SourceRecordId"),
    "OrganizationId": ("OrganizationId", "TenantId"),
    "Workload": ("OfficeWorkload",),
    "ClientIPAddress": ("Client_IPAddress",),
    "LogonType": ("Logon_Type",),
    "ObjectId": ("OfficeObjectId", "ObjectId"),
}

# Time fields, each with how its text is written: plain names hold ISO 8601; "[UTC]" names are
# the Log Analytics portal's CSV export ("4/28/2021, 3:05:26.000 PM").
_PORTAL_TIME = "%m/%d/%Y, %I:%M:%S.%g %p"
EVENT_TIMES = ("TimeGenerated", "TimeGenerated [UTC]")
COLLECTION_TIMES = ("ElevationTime", "ElevationTime [UTC]", "Start_Time", "Start_Time [UTC]")

# The OfficeActivity fields read (for read_json's columns).
FIELDS = sorted(
    {source for name in COLUMNS if name != "CreationTime" for source in RENAMED.get(name, (name,))}
    | set(EVENT_TIMES)
    | set(COLLECTION_TIMES)
)


def _time(field: Callable[[str], str], names: tuple[str, ...]) -> str:
    parsed = [
        f"try_strptime({field(name)}, '{_PORTAL_TIME}')"
        if name.endswith(" [UTC]")
        else utc_time(field(name))
        for name in names
    ]
    return f"coalesce({', '.join(parsed)})"


def _text(field: Callable[[str], str], names: tuple[str, ...]) -> str:
    present = [f"nullif({field(name)}, '')" for name in names]
    return f"coalesce({', '.join(present)})"


def renamed_fields(field: Callable[[str], str]) -> str:
    """SQL select list turning an OfficeActivity row into the UAL fields of m365_ual.COLUMNS
    (plus CollectionTime); `field(name)` is the SQL reading one OfficeActivity field as text."""
    items = []
    for name, type_ in COLUMNS.items():
        if name == "CreationTime":
            sql = _time(field, EVENT_TIMES)
        else:
            sql = _text(field, RENAMED.get(name, (name,)))
            if type_ != "VARCHAR":  # nested data arrives as a JSON string
                sql = f"TRY_CAST(TRY_CAST({sql} AS JSON) AS {type_})"
        items.append(f'{sql} AS "{name}"')
    items.append(f"{_time(field, COLLECTION_TIMES)} AS CollectionTime")
    return ", ".join(items)


SENTINEL_SELECT = {
    **SELECT,
    "time": f"coalesce({SELECT['time']}, CollectionTime)",
    "record_type": record_type("RecordType"),
    "warnings": f"CASE WHEN CreationTime IS NULL AND CollectionTime IS NOT NULL "
    f"THEN ['{COLLECTION_TIME}'] END",
}

FORMAT = Format(
    name="sentinel-office-activity-json",
    description="Microsoft Sentinel OfficeActivity table rows as JSON (lines, array or page)",
    table="events",
    sniff=json_sniffer("OfficeId", "Operation", any_of=("OfficeWorkload", "OfficeTenantId")),
    columns=dict.fromkeys(FIELDS, "VARCHAR"),  # nested data: a string or an object, both text
    relation="SELECT _ordinal, " + renamed_fields(lambda name: f'"{name}"') + " FROM {source}",
    id_field="OfficeId",
    time_field="TimeGenerated",
    select=SENTINEL_SELECT,
)
