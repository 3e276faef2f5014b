"""The Azure Activity log as the Log Analytics / Microsoft Sentinel portal exports the
``AzureActivity`` table to CSV ("Export to CSV - all columns").

Quirks: those of the portal's CSV (BOM, CRLF, JSON with newlines in quoted cells, times in
``TimeGenerated [UTC]`` written ``4/2/2024, 10:15:31.441 AM``, dynamic columns as JSON text).
Mapping as :mod:`mailhunt.formats.sentinel_azure_activity`. References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/azureactivity
https://learn.microsoft.com/azure/azure-monitor/logs/log-analytics-tutorial (export to CSV)
"""

from __future__ import annotations

from dataclasses import replace

from mailhunt.formats import sentinel_azure_activity
from mailhunt.formats.sentinel_azure_activity import (
    DYNAMIC,
    TEXT,
    TIMES,
    activity_relation,
    is_activity_row,
)
from mailhunt.formats.sentinel_signin_logs import portal_csv_rows, portal_csv_sniffer

# The JSON rows' format over the CSV's cells, the header variants merged into the same fields.
FORMAT = replace(
    sentinel_azure_activity.FORMAT,
    name="sentinel-azure-activity-csv",
    description="Azure Activity log, Log Analytics / Sentinel portal CSV export of AzureActivity",
    reader="csv",
    sniff=portal_csv_sniffer(is_activity_row, TIMES),
    relation=activity_relation(portal_csv_rows(TEXT, list(DYNAMIC), TIMES)),
)
