"""The Azure Activity log as Microsoft Sentinel / Log Analytics rows (table ``AzureActivity``),
exported as JSON Lines or a JSON array (``az monitor log-analytics query``, the API).

The same events as :mod:`mailhunt.formats.azure_activity_logs`, in Log Analytics' columns:
``EventDataId`` (the event's id), ``TimeGenerated``, ``OperationNameValue``
(``MICROSOFT.KEYVAULT/VAULTS/DELETE``; ``OperationName`` is its display name, "Delete Key
Vault"), ``ActivityStatusValue`` (``Start``, ``Accept``, ``Success``, ``Failure``),
``CategoryValue`` (``Administrative``, ``Security``, ``Policy``...), ``Caller`` (a UPN, or an
application's object id), ``CallerIpAddress``, ``CorrelationId``, ``ResourceProviderValue``,
``_ResourceId`` / ``ResourceId`` (the resource acted on), ``SubscriptionId``, and the dynamic
``Properties_d``, ``Claims_d``, ``Authorization_d`` (their text twins ``Properties``,
``Claims``, ``Authorization``). Quirks: ``TenantId`` is the Log Analytics *workspace* id: the
Entra tenant is the token's ``tenantid`` claim; the dynamic columns are objects or JSON text
(both read; text that is not JSON gives the warning ``dynamic_not_json``); rows written before
the 2020 schema change lack the ``...Value`` columns and are read from ``OperationName``,
``ActivityStatus`` and ``Category``. Rows are mapped as the diagnostic-settings records are
(workload ``AzureActivity``; ``parameters`` the entries of ``Properties_d``). References:
https://learn.microsoft.com/azure/azure-monitor/reference/tables/azureactivity
https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema
"""

from __future__ import annotations

from collections.abc import Sequence

from mailhunt.formats.azure_activity_logs import (
    CLAIM_TENANT,
    WORKLOAD,
    claim,
    json_entries,
)
from mailhunt.formats.base import Format, Record, Sample, bare_ip, has_keys, warnings_sql
from mailhunt.formats.sentinel_signin_logs import sentinel_relation, sentinel_time
from mailhunt.model.sql import quote_identifier as quote

TABLE = "AzureActivity"
TEXT = (
    "EventDataId",
    "TimeGenerated",
    "EventSubmissionTimestamp",
    "OperationNameValue",
    "OperationName",
    "ActivityStatusValue",
    "ActivityStatus",
    "CategoryValue",
    "Category",
    "Caller",
    "CallerIpAddress",
    "CorrelationId",
    "ResourceId",
    "_ResourceId",
    "Type",
)
_MAP = "MAP(VARCHAR, JSON)"
DYNAMIC = {"Properties_d": _MAP, "Properties": _MAP, "Claims_d": _MAP, "Claims": _MAP}
TIMES = ("TimeGenerated", "EventSubmissionTimestamp")
COLUMNS = dict.fromkeys((*TEXT, *DYNAMIC), "VARCHAR")  # objects are read as their JSON text


def is_activity_row(record: Record, time_keys: Sequence[str] = TIMES) -> bool:
    """A Log Analytics AzureActivity row: its event id, operation, category and a time."""
    return (
        has_keys(record, "EventDataId", "CorrelationId")
        and any(key in record for key in time_keys)
        and (record.get("Type") == TABLE or has_keys(record, "OperationNameValue", "CategoryValue"))
    )


def _sniff(sample: Sample) -> bool:
    return sample.kind == "json" and any(is_activity_row(r) for r in sample.records)


def activity_relation(rows: str = "{source}") -> str:
    """SQL over AzureActivity rows (`rows` reads {source}): the dynamic columns parsed, each
    with its text twin as fallback."""
    return (
        "SELECT *, coalesce(Properties_d, Properties) AS _properties, "
        f"coalesce(Claims_d, Claims) AS _claims FROM ({sentinel_relation(TEXT, DYNAMIC, rows)})"
    )


SELECT = {
    "record_id": "EventDataId",
    "time": f"coalesce({', '.join(sentinel_time(quote(t)) for t in TIMES)})",
    "tenant_id": f"lower({claim('_claims', CLAIM_TENANT)})",
    "workload": f"'{WORKLOAD}'",
    "operation": "coalesce(OperationNameValue, OperationName)",
    "result": "coalesce(ActivityStatusValue, ActivityStatus)",
    "actor_upn": "lower(Caller)",
    "app_id": f"lower({claim('_claims', 'appid')})",
    "client_ip": bare_ip("CallerIpAddress"),
    "object_id": "coalesce(_ResourceId, ResourceId)",
    "category": "coalesce(CategoryValue, Category)",
    "parameters": f"nullif({json_entries('_properties')}, [])",
    "warnings": warnings_sql({"dynamic_not_json": "len(_unparsed) > 0"}),
}

FORMAT = Format(
    name="sentinel-azure-activity",
    description="Azure Activity log, Microsoft Sentinel / Log Analytics AzureActivity rows "
    "(JSON lines or array)",
    table="events",
    sniff=_sniff,
    id_field="EventDataId",
    time_field="TimeGenerated",
    columns=COLUMNS,
    relation=activity_relation(),
    select=SELECT,
)
