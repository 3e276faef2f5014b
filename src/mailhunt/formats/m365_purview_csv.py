"""Microsoft 365 unified audit log, as the Purview portal's audit search exports it to CSV.

Audit (Standard/Premium) search, "Export" > "Download all results": one row per record with the
columns RecordId, CreationDate, RecordType, Operation, UserId, AuditData, AssociatedAdminUnits,
AssociatedAdminUnitsNames. AuditData is the whole UAL record, the same JSON the Management
Activity API delivers, as one CSV-quoted cell (quotes doubled); the other columns are a summary
of it. Everything is read from AuditData and mapped exactly as ``m365_ual`` maps the API's JSON
(time from AuditData.CreationTime). The file may start with a UTF-8 BOM and use CRLF line ends.
A row whose AuditData is not a JSON object (e.g. truncated at Excel's 32,767-character cell
limit after a round trip through Excel) is quarantined. References:
https://learn.microsoft.com/purview/audit-search
https://learn.microsoft.com/purview/audit-log-export-records
https://learn.microsoft.com/purview/audit-log-detailed-properties
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import audit_data_csv

# Search-UnifiedAuditLog's CSV has AuditData too, but no RecordId (and Operations, UserIds).
FORMAT = audit_data_csv(
    "m365-ual-purview-csv",
    "Microsoft 365 unified audit log, Purview portal audit search CSV export",
    headers=("RecordId", "CreationDate", "Operation", "AuditData"),
    not_headers=("Operations",),
)
