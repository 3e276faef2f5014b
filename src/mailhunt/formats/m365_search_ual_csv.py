"""Microsoft 365 unified audit log, as ``Search-UnifiedAuditLog | Export-Csv`` writes it.

Exchange Online PowerShell's Search-UnifiedAuditLog objects exported with Export-Csv: columns
RecordType (the AuditLogRecordType *name*), CreationDate, UserIds, Operations, AuditData,
ResultIndex, ResultCount, Identity, IsValid, ObjectState; every cell quoted. AuditData is the UAL
record as the Management Activity API's JSON (quotes doubled) and is the only column read: the
record maps exactly as ``m365_ual`` maps the API's JSON. CreationDate is written in the exporting
machine's culture and time zone (e.g. "6/14/2023 1:14:02 PM", no offset) and is deliberately
ignored: the time is AuditData.CreationTime, UTC. References:
https://learn.microsoft.com/powershell/module/exchange/search-unifiedauditlog
https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/export-csv
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import audit_data_csv

# The Purview portal export has AuditData too, but RecordId/Operation/UserId instead.
FORMAT = audit_data_csv(
    "m365-ual-search-csv",
    "Microsoft 365 unified audit log, Search-UnifiedAuditLog | Export-Csv output",
    headers=("CreationDate", "UserIds", "Operations", "AuditData"),
    not_headers=("RecordId",),
)
