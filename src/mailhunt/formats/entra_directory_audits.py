"""Entra ID directory audit log as Microsoft Graph returns it (auditLogs/directoryAudits).

JSON Lines, a JSON array, or a ``{"value": [...]}`` page. One record per directory change:
consent and permission grants, app registrations and their credentials, role assignments,
user and policy changes: what an intruder does before reading mail. ``initiatedBy`` holds
either ``user`` (userPrincipalName, ipAddress) or ``app`` (appId, displayName,
servicePrincipalId), the other being null; the actor is the user's UPN, else the app's display
name, else its appId. ``category`` (UserManagement, RoleManagement...) and ``loggedByService``
(Core Directory, PIM...) have columns of their own; the Graph ``category`` is read as
``audit_category`` (the Azure Monitor envelope has a ``category`` of its own).
``activityDisplayName`` is kept verbatim (the credential change is
"Update application, en dash, Certificates and secrets management" with a trailing space), as
Graph, the unified audit log and Sentinel all spell it. ``targetResources`` (what was changed)
has no column in the events table and stays in the raw record. Graph records carry no tenant id
(the tenant is the one queried): ``tenant_id`` is NULL. References:
https://learn.microsoft.com/graph/api/resources/directoryaudit
https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities
"""

from __future__ import annotations

from mailhunt.formats.base import Format, bare_ip, json_sniffer, utc_time

WORKLOAD = "AzureActiveDirectory"
INITIATED_BY = (
    "STRUCT(user STRUCT(id VARCHAR, displayName VARCHAR, userPrincipalName VARCHAR, "
    "ipAddress VARCHAR), app STRUCT(appId VARCHAR, displayName VARCHAR, "
    "servicePrincipalId VARCHAR, servicePrincipalName VARCHAR))"
)
ADDITIONAL_DETAILS = "STRUCT(key VARCHAR, value VARCHAR)[]"

# Schema column -> SQL over a directory audit's fields (Graph names), shared with the Sentinel
# AuditLogs formats, whose relations rename their columns to these.
SELECT = {
    "record_id": "nullif(id, '')",
    "time": utc_time("activityDateTime"),
    "workload": f"'{WORKLOAD}'",
    "operation": "activityDisplayName",
    "result": "nullif(result, '')",
    "actor_upn": "lower(coalesce(nullif(initiatedBy.user.userPrincipalName, ''), "
    "nullif(initiatedBy.app.displayName, ''), nullif(initiatedBy.app.appId, '')))",
    "app_id": "lower(nullif(initiatedBy.app.appId, ''))",
    "client_ip": bare_ip("initiatedBy.user.ipAddress"),
    "user_agent": "list_filter(additionalDetails, lambda d: d.key = 'User-Agent')[1].value",
    "category": "nullif(audit_category, '')",
    "logged_by_service": "nullif(loggedByService, '')",
}

FORMAT = Format(
    name="entra-directory-audits-graph",
    description="Entra ID directory audits, Microsoft Graph auditLogs/directoryAudits "
    "(lines, array or page)",
    table="events",
    sniff=json_sniffer(
        "id",
        "activityDateTime",
        "activityDisplayName",
        any_of=("initiatedBy", "loggedByService", "targetResources"),
    ),
    id_field="id",
    time_field="activityDateTime",
    columns={
        "id": "VARCHAR",
        "activityDateTime": "VARCHAR",
        "activityDisplayName": "VARCHAR",
        "result": "VARCHAR",
        "category": "VARCHAR",
        "loggedByService": "VARCHAR",
        "initiatedBy": INITIATED_BY,
        "additionalDetails": ADDITIONAL_DETAILS,
    },
    relation="SELECT *, category AS audit_category FROM {source}",
    select=SELECT,
)
