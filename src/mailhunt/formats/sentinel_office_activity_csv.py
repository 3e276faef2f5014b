"""Microsoft Sentinel / Log Analytics ``OfficeActivity`` rows as the portal exports them to CSV.

Logs > Export > "CSV (all columns)": a UTF-8 file with BOM and CRLF line ends, one column per
OfficeActivity field that the result holds (the set of columns varies between exports), times
under "<name> [UTC]" headers written like "4/28/2021, 3:05:26.000 PM", and dynamic fields
(Folders, Parameters, OperationProperties...) as pretty-printed JSON with embedded CRLFs inside
quoted cells. ClientIP may be "[IPv6]:port". Mapped exactly like the JSON rows (see
``sentinel_office_activity``); columns are looked up by name in the row, so a missing column is
simply NULL. References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/officeactivity
https://learn.microsoft.com/azure/azure-monitor/logs/log-analytics-tutorial#export-query-results
"""

from __future__ import annotations

from mailhunt.formats.base import Format, csv_sniffer
from mailhunt.formats.m365_ual import COLUMNS
from mailhunt.formats.sentinel_office_activity import SENTINEL_SELECT, renamed_fields

FORMAT = Format(
    name="sentinel-office-activity-csv",
    description="Microsoft Sentinel OfficeActivity table, Log Analytics portal CSV export",
    table="events",
    sniff=csv_sniffer("OfficeId", "Operation", "OfficeWorkload"),
    reader="csv",
    columns=COLUMNS,  # the UAL fields the relation renames the row's columns to
    relation="SELECT _ordinal, "
    + renamed_fields(lambda name: f"json_extract_string(_row, '$.\"{name}\"')")
    + " FROM (SELECT _ordinal, to_json(s) AS _row FROM {source} s)",
    id_field="Id",
    time_field="CreationTime",
    select=SENTINEL_SELECT,
)
