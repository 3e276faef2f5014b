"""Microsoft 365 unified audit log, as PowerShell's ``ConvertTo-Json`` writes Search-UnifiedAuditLog
objects.

``Search-UnifiedAuditLog ... | ConvertTo-Json``: a JSON array (or one object when one record was
found) of {RecordType (a name), CreationDate, UserIds, Operations, AuditData, ResultIndex,
ResultCount, Identity, IsValid, ObjectState}, indented with PowerShell's aligned 4-space style and
CRLF line ends. AuditData is the UAL record: a JSON string as the cmdlet returns it, or a nested
object when the script ran ``ConvertFrom-Json`` on it first. It maps exactly as ``m365_ual`` maps
the Management Activity API's JSON. CreationDate is ``"\\/Date(<ms since 1970, UTC>)\\/"``.

ConvertTo-Json stops at ``-Depth`` (2 by default) and writes anything deeper as its .NET
ToString(): ``"System.Object[]"`` or ``"@{Id=...; Path=\\Inbox; FolderItems=System.Object[]}"``.
Such records are kept, but the nested UAL fields (Folders, OperationProperties, AppAccessContext,
...) they lost are NULL and the record carries the warning ``nested_data_lost_in_export``. When
AuditData itself was flattened (or is missing), the id, time, record type, operation and user come
from Identity, CreationDate, RecordType, Operations and UserIds. References:
https://learn.microsoft.com/powershell/module/exchange/search-unifiedauditlog
https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import record_type, unwrap, wrapped_select
from mailhunt.formats.base import Format, json_sniffer

LOST = "nested_data_lost_in_export"

# UAL fields that are always arrays or objects: a string there is ConvertTo-Json's ToString().
_NESTED = (
    "Folders",
    "OperationProperties",
    "AppAccessContext",
    "ExtendedProperties",
    "DeviceProperties",
    "ModifiedProperties",
    "Parameters",
    "Actor",
    "Target",
    "AffectedItems",
    "Item",
    "Folder",
    "DestFolder",
)
_AUDIT_JSON = "TRY_CAST(AuditData AS JSON)"
_FLATTENED = " OR ".join(
    f"json_type({_AUDIT_JSON}, '$.{name}') = 'VARCHAR' "
    f"OR list_contains(json_type({_AUDIT_JSON}, '$.{name}[*]'), 'VARCHAR')"
    for name in _NESTED
)
_LOST_SQL = f"coalesce(json_type({_AUDIT_JSON}), '') <> 'OBJECT' OR {_FLATTENED}"


def _ps_date(field_sql: str) -> str:
    """SQL for a "/Date(1728364117000)/" (or "/Date(...+0200)/") text: the milliseconds are UTC."""
    millis = f"TRY_CAST(regexp_extract({field_sql}, '^/Date\\((-?[0-9]+)', 1) AS BIGINT)"
    return f"epoch_ms({millis})"


FORMAT = Format(
    name="m365-ual-powershell-json",
    description="Microsoft 365 unified audit log, Search-UnifiedAuditLog | ConvertTo-Json output",
    table="events",
    sniff=json_sniffer(
        "AuditData", "CreationDate", "Operations", any_of=("UserIds", "Identity", "ResultIndex")
    ),
    columns={
        "AuditData": "VARCHAR",  # an object yields its JSON text, a string its content
        "Identity": "VARCHAR",
        "RecordType": "VARCHAR",  # the AuditLogRecordType name
        "CreationDate": "VARCHAR",
        "Operations": "VARCHAR",
        "UserIds": "VARCHAR",
    },
    relation=unwrap(
        "AuditData",
        {
            "ps_identity": "Identity",
            "ps_record_type": "RecordType",
            "ps_creation_date": "CreationDate",
            "ps_operations": "Operations",
            "ps_user_ids": "UserIds",
            "ps_lost": _LOST_SQL,
        },
    ),
    id_field="Identity",
    time_field="CreationDate",
    select={
        **wrapped_select(
            {
                "record_id": "ps_identity",
                "time": f"coalesce({_ps_date('CreationTime')}, {_ps_date('ps_creation_date')})",
                "record_type": record_type("ps_record_type"),
                "operation": "ps_operations",
                "actor_upn": "lower(ps_user_ids)",
            }
        ),
        "warnings": f"CASE WHEN ps_lost THEN ['{LOST}'] END",
    },
)
