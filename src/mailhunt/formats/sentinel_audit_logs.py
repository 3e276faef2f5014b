"""Entra ID directory audits as Microsoft Sentinel / Log Analytics rows (table ``AuditLogs``),
exported as JSON Lines or a JSON array.

The Graph directoryAudit in PascalCase columns (``Id``, ``ActivityDateTime``,
``ActivityDisplayName``, ``Result``, ``InitiatedBy``, ``TargetResources``, ``AdditionalDetails``,
``LoggedByService``, ``AADOperationType``) plus Log Analytics' own (``TimeGenerated``,
``OperationName``, ``TenantId``: the *workspace* id; the Entra tenant is ``AADTenantId``).
Quirks: the dynamic columns are objects or JSON strings (both read; text that is not JSON gives
the warning ``dynamic_not_json``); rows produced by a hunting query may carry extra projected
columns (``InitiatingUserOrApp``, ``targetDisplayName``...), an overwritten ``Type``, and the
same ``Id`` on several rows when the query expanded a list (``mv-expand``): the repeats are
dropped as duplicates. The mapping is the Graph one
(:mod:`mailhunt.formats.entra_directory_audits`). References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs
https://learn.microsoft.com/graph/api/resources/directoryaudit
"""

from __future__ import annotations

from collections.abc import Sequence

from mailhunt.formats import entra_directory_audits as graph
from mailhunt.formats.base import Format, Record, Sample, has_keys, warnings_sql
from mailhunt.formats.sentinel_signin_logs import sentinel_relation, sentinel_time
from mailhunt.model.sql import quote_identifier as quote

TEXT = (
    "Id",
    "TimeGenerated",
    "ActivityDateTime",
    "OperationName",
    "ActivityDisplayName",
    "Result",
    "LoggedByService",
    "Category",
    "AADTenantId",
)
DYNAMIC = {"InitiatedBy": graph.INITIATED_BY, "AdditionalDetails": graph.ADDITIONAL_DETAILS}
TIMES = ("ActivityDateTime", "TimeGenerated")
COLUMNS = dict.fromkeys((*TEXT, *DYNAMIC), "VARCHAR")  # objects are read as their JSON text


def audit_relation(rows: str = "{source}") -> str:
    """SQL over Sentinel AuditLogs rows (`rows` reads {source}) naming their fields as Graph
    does, so that the Graph mapping applies."""
    return (
        "SELECT _ordinal, Id AS id, coalesce(ActivityDisplayName, OperationName) "
        "AS activityDisplayName, Result AS result, InitiatedBy AS initiatedBy, "
        "AdditionalDetails AS additionalDetails, Category AS audit_category, LoggedByService, "
        "ActivityDateTime, TimeGenerated, AADTenantId, "
        f"_unparsed FROM ({sentinel_relation(TEXT, DYNAMIC, rows)})"
    )


def is_audit_row(record: Record, time_keys: Sequence[str]) -> bool:
    """A Log Analytics AuditLogs row: id, operation, initiator, targets, service and a time."""
    return has_keys(
        record, "Id", "OperationName", "InitiatedBy", "TargetResources", "LoggedByService"
    ) and any(key in record for key in time_keys)


def _sniff(sample: Sample) -> bool:
    return sample.kind == "json" and any(is_audit_row(r, TIMES) for r in sample.records)


SELECT = {
    **graph.SELECT,
    "time": f"coalesce({', '.join(sentinel_time(quote(t)) for t in TIMES)})",
    "tenant_id": "lower(AADTenantId)",
    "warnings": warnings_sql({"dynamic_not_json": "len(_unparsed) > 0"}),
}

FORMAT = Format(
    name="sentinel-audit-logs",
    description="Entra ID directory audits, Microsoft Sentinel AuditLogs rows "
    "(JSON lines or array)",
    table="events",
    sniff=_sniff,
    id_field="Id",
    time_field="TimeGenerated",
    columns=COLUMNS,
    relation=audit_relation(),
    select=SELECT,
)
