"""Microsoft 365 unified audit log, as the Office 365 Management Activity API delivers it.

JSON Lines or a JSON array per content blob; one record per audited operation. The fields read
are those of the common schema plus the Exchange mailbox-access ones (MailItemsAccessed:
Folders/FolderItems, OperationProperties, AppAccessContext) and, for Security & Compliance alert
records (SecurityComplianceAlerts, Workload SecurityComplianceCenter), the alert's Name and
Category. References:
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
https://learn.microsoft.com/purview/audit-log-investigate-accounts (MailItemsAccessed)
"""

from __future__ import annotations

from mailhunt.formats.base import Format, bare_ip, json_sniffer, name_value, utc_time

# A Security & Compliance alert record (SecurityComplianceAlerts, RecordType 40): only these
# carry AlertId, and their Name and Category are the alert's.
_ALERT = "nullif(AlertId, '') IS NOT NULL"
_LOGON_TYPES = "['Owner', 'Admin', 'Delegate', 'Transport', 'SystemService', 'BestAccess']"

# The typed columns of a UAL record: read by read_json here, and by from_json where another
# export carries the same record as a JSON string (Purview CSV, Search-UnifiedAuditLog CSV).
COLUMNS = {
    "Id": "VARCHAR",
    "CreationTime": "VARCHAR",
    "OrganizationId": "VARCHAR",
    "Workload": "VARCHAR",
    "RecordType": "VARCHAR",
    "Operation": "VARCHAR",
    "ResultStatus": "VARCHAR",
    "UserId": "VARCHAR",
    "MailboxOwnerUPN": "VARCHAR",
    "MailboxGuid": "VARCHAR",
    "AppId": "VARCHAR",
    "ClientAppId": "VARCHAR",
    "ClientIPAddress": "VARCHAR",
    "ClientIP": "VARCHAR",
    "ClientInfoString": "VARCHAR",
    "SessionId": "VARCHAR",
    "LogonType": "VARCHAR",
    "OperationCount": "VARCHAR",
    "ObjectId": "VARCHAR",
    # SecurityComplianceAlerts (RecordType 40): the alert's id, name and category
    "AlertId": "VARCHAR",
    "Name": "VARCHAR",
    "Category": "VARCHAR",
    "Parameters": "STRUCT(Name VARCHAR, Value VARCHAR)[]",
    "ModifiedProperties": "STRUCT(Name VARCHAR, NewValue VARCHAR)[]",
    "ExtendedProperties": "STRUCT(Name VARCHAR, Value VARCHAR)[]",
    "OperationProperties": "STRUCT(Name VARCHAR, Value VARCHAR)[]",
    "Folders": "STRUCT(Path VARCHAR, FolderItems "
    "STRUCT(InternetMessageId VARCHAR, SizeInBytes BIGINT)[])[]",
    "AppAccessContext": "STRUCT(UniqueTokenId VARCHAR, AADSessionId VARCHAR, "
    "IssuedAtTime VARCHAR, ClientAppId VARCHAR)",
}

# Schema column -> SQL over a UAL record's fields, shared by every format carrying UAL records.
SELECT = {
    "record_id": "Id",
    "time": utc_time("CreationTime"),
    "tenant_id": "lower(OrganizationId)",
    "workload": "Workload",
    "record_type": "TRY_CAST(RecordType AS INTEGER)",
    "operation": "Operation",
    "result": "ResultStatus",
    "actor_upn": "lower(UserId)",
    "mailbox_upn": "lower(MailboxOwnerUPN)",
    "mailbox_guid": "lower(MailboxGuid)",
    "app_id": "lower(AppId)",
    "client_app_id": "lower(coalesce(ClientAppId, AppAccessContext.ClientAppId))",
    "client_ip": bare_ip("coalesce(ClientIPAddress, ClientIP)"),
    "user_agent": "coalesce(ClientInfoString, "
    + name_value("ExtendedProperties", "UserAgent")
    + ")",
    "session_id": "SessionId",
    "aad_session_id": "AppAccessContext.AADSessionId",
    "token_id": "AppAccessContext.UniqueTokenId",
    "token_issued_at": utc_time("AppAccessContext.IssuedAtTime"),
    "logon_type": f"coalesce({_LOGON_TYPES}[TRY_CAST(LogonType AS INTEGER) + 1], LogonType)",
    "access_type": name_value("OperationProperties", "MailAccessType"),
    "throttled": "lower(" + name_value("OperationProperties", "IsThrottled") + ") = 'true'",
    "operation_count": "TRY_CAST(OperationCount AS INTEGER)",
    "item_count": (
        "CASE WHEN Folders IS NOT NULL THEN "
        "coalesce(list_sum(list_transform(Folders, lambda f: len(f.FolderItems))), 0) END"
    ),
    # A folder listed without items (a Sync of the whole folder) is one entry with its path
    # and no message: the folder is what was taken.
    "message_items": (
        "flatten(list_transform(Folders, lambda f: CASE WHEN len(f.FolderItems) > 0 "
        "THEN list_transform(f.FolderItems, lambda i: "
        "struct_pack(folder_path := f.Path, internet_message_id := i.InternetMessageId, "
        "size_bytes := i.SizeInBytes)) "
        "WHEN f.Path IS NOT NULL THEN [struct_pack(folder_path := f.Path, "
        "internet_message_id := NULL::VARCHAR, size_bytes := NULL::BIGINT)] END))"
    ),
    "object_id": "ObjectId",
    "alert_name": f"CASE WHEN {_ALERT} THEN nullif(Name, '') END",
    "category": f"CASE WHEN {_ALERT} THEN nullif(Category, '') END",
    "parameters": (
        "nullif(list_transform(coalesce(Parameters, []), lambda p: struct_pack(name := p.Name, "
        "value := p.Value)) || list_transform(coalesce(ModifiedProperties, []), lambda p: "
        "struct_pack(name := p.Name, value := p.NewValue)), [])"
    ),
}

# A UAL record has every key of SNIFF_KEYS and one of SNIFF_ANY (also read, recased, by the
# formats for exports that change the keys' letter case: see _ual_shapes.recased_ual).
SNIFF_KEYS = ("CreationTime", "Operation", "Id")
SNIFF_ANY = ("RecordType", "Workload")

FORMAT = Format(
    name="m365-ual-json",
    description="Microsoft 365 unified audit log, Management Activity API JSON (lines or array)",
    table="events",
    sniff=json_sniffer(*SNIFF_KEYS, any_of=SNIFF_ANY),
    id_field="Id",
    time_field="CreationTime",
    columns=COLUMNS,
    select=SELECT,
)
