"""Entra ID directory audits as the Log Analytics / Microsoft Sentinel portal exports the
``AuditLogs`` table to CSV ("Export to CSV - all columns").

Quirks: those of the portal's CSV (BOM, CRLF, JSON with newlines in quoted cells, times in
``TimeGenerated [UTC]`` / ``ActivityDateTime [UTC]`` written ``4/28/2021, 3:05:26.000 PM``,
dynamic columns as JSON text, or twice as ``X_dynamic`` and ``X_string``). The output of a
hunting query that projected the time away (Sentinel's ``AuditLogs_Hunting`` sample: ``Id`` but
no ``TimeGenerated``) is not this format: without a time a row cannot be placed, so such a file
is left unclaimed and skipped. Mapping as :mod:`mailhunt.formats.sentinel_audit_logs`.
References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs
https://learn.microsoft.com/azure/azure-monitor/logs/log-analytics-tutorial (export to CSV)
"""

from __future__ import annotations

from dataclasses import replace

from mailhunt.formats import sentinel_audit_logs
from mailhunt.formats.sentinel_audit_logs import DYNAMIC, TEXT, TIMES, audit_relation, is_audit_row
from mailhunt.formats.sentinel_signin_logs import portal_csv_rows, portal_csv_sniffer

# The JSON rows' format (columns, mapping, id and time fields) over the CSV's cells, the header
# variants merged into the same fields.
FORMAT = replace(
    sentinel_audit_logs.FORMAT,
    name="sentinel-audit-logs-csv",
    description="Entra ID directory audits, Log Analytics / Sentinel portal CSV export of "
    "AuditLogs",
    reader="csv",
    sniff=portal_csv_sniffer(is_audit_row, TIMES),
    relation=audit_relation(portal_csv_rows(TEXT, list(DYNAMIC), TIMES)),
)
