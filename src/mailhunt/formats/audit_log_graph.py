"""Microsoft 365 unified audit log records from the Microsoft Graph audit log query API.

``GET /security/auditLog/queries/{id}/records`` returns ``auditLogRecord`` resources, usually as
``{"@odata.context": ..., "value": [...]}`` pages (saved pages, or their records as JSON Lines).
Each record has Graph-cased summary fields (id, createdDateTime, auditLogRecordType as a name,
operation, organizationId, userPrincipalName, userId, clientIp, objectId, service) and auditData:
the UAL record as an object, the same JSON the Management Activity API delivers. auditData is
mapped exactly as ``m365_ual`` maps the API's JSON; a summary field is used only where auditData
lacks the value (record type from the auditLogRecordType name). References:
https://learn.microsoft.com/graph/api/resources/security-auditlogrecord
https://learn.microsoft.com/graph/api/security-auditlogquery-list-records
https://learn.microsoft.com/graph/api/resources/security-auditlogrecordtype
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import carried, record_type, unwrap, wrapped_select
from mailhunt.formats.base import Format, bare_ip, json_sniffer, utc_time

# Graph summary field -> the alias it is carried under next to the UAL fields.
_SUMMARY = {
    "id": "graph_id",
    "createdDateTime": "graph_created",
    "auditLogRecordType": "graph_record_type",
    "operation": "graph_operation",
    "organizationId": "graph_organization_id",
    "userPrincipalName": "graph_upn",
    "clientIp": "graph_client_ip",
    "service": "graph_service",
}

FORMAT = Format(
    name="m365-ual-graph-audit-log",
    description="Microsoft 365 unified audit log, Graph security/auditLog query records (pages)",
    table="events",
    sniff=json_sniffer(
        "id", "createdDateTime", "auditData", any_of=("auditLogRecordType", "operation")
    ),
    columns={**dict.fromkeys(_SUMMARY, "VARCHAR"), "auditData": "VARCHAR"},
    relation=unwrap("auditData", carried(_SUMMARY)),
    id_field="id",
    time_field="createdDateTime",
    select={
        **wrapped_select(
            {
                "record_id": "graph_id",
                "time": utc_time("graph_created"),
                "tenant_id": "lower(graph_organization_id)",
                "workload": "graph_service",
                "record_type": record_type("graph_record_type"),
                "operation": "graph_operation",
                "actor_upn": "lower(graph_upn)",
            }
        ),
        # the UAL's address, else the summary's clientIp, and then its port removed
        "client_ip": bare_ip("coalesce(ClientIPAddress, ClientIP, graph_client_ip)"),
    },
)
