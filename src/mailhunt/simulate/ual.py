"""Unified audit log records in the Office 365 Management Activity API shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailhunt.simulate.ids import ual_time
from mailhunt.simulate.mailstore import Message

MAIL_ITEMS_ACCESSED = 50
EXCHANGE_ITEM = 2
EXCHANGE_ITEM_GROUP = 3
EXCHANGE_ADMIN = 1
AAD_STS_LOGON = 15


@dataclass(frozen=True)
class Actor:
    """Who the record says acted (UserId, UserKey, LogonUserSid)."""

    upn: str
    key: str
    sid: str
    user_type: int = 0


@dataclass(frozen=True)
class Owner:
    """The mailbox acted on."""

    upn: str
    guid: str
    sid: str
    server: str


@dataclass(frozen=True)
class Token:
    """The access token presented, as ``AppAccessContext`` reports it."""

    token_id: str
    session_id: str | None
    issued_at: datetime
    client_app_id: str | None
    api_id: str | None


@dataclass(frozen=True)
class Context:
    """Everything a mailbox audit record says about the access besides the items."""

    record_id: str
    time: datetime
    actor: Actor
    owner: Owner
    logon_type: int
    client_ip: str
    client_info: str
    session_id: str
    app_id: str | None
    client_app_id: str | None
    token: Token | None


@dataclass(frozen=True)
class FolderRead:
    """One folder of a MailItemsAccessed record; no items means a Sync of the whole folder."""

    path: str
    folder_id: str
    items: tuple[Message, ...] = ()


def _header(ctx: Context, tenant_id: str, operation: str, record_type: int) -> dict[str, Any]:
    return {
        "CreationTime": ual_time(ctx.time),
        "Id": ctx.record_id,
        "Operation": operation,
        "OrganizationId": tenant_id,
        "RecordType": record_type,
        "ResultStatus": "Succeeded",
        "UserKey": ctx.actor.key,
        "UserType": ctx.actor.user_type,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": ctx.actor.upn,
    }


def _app_access_context(token: Token) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if token.session_id is not None:
        context["AADSessionId"] = token.session_id
    context["IssuedAtTime"] = ual_time(token.issued_at)
    context["UniqueTokenId"] = token.token_id
    if token.client_app_id is not None:
        context["ClientAppId"] = token.client_app_id
    if token.api_id is not None:
        context["APIId"] = token.api_id
    return context


def _mailbox_fields(ctx: Context, domain: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if ctx.app_id is not None:
        fields["AppId"] = ctx.app_id
    if ctx.client_app_id is not None:
        fields["ClientAppId"] = ctx.client_app_id
    if ctx.token is not None:
        fields["AppAccessContext"] = _app_access_context(ctx.token)
    fields.update(
        {
            "ClientIPAddress": ctx.client_ip,
            "ClientInfoString": ctx.client_info,
            "ExternalAccess": False,
            "InternalLogonType": ctx.logon_type,
            "LogonType": ctx.logon_type,
            "LogonUserSid": ctx.actor.sid,
            "MailboxGuid": ctx.owner.guid,
            "MailboxOwnerSid": ctx.owner.sid,
            "MailboxOwnerUPN": ctx.owner.upn,
            "OrganizationName": domain,
            "OriginatingServer": f"{ctx.owner.server} (15.20.7633.021)\r\n",
            "SessionId": ctx.session_id,
        }
    )
    return fields


def _folder(folder: FolderRead) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": folder.folder_id, "Path": folder.path}
    if folder.items:
        entry["FolderItems"] = [
            {"InternetMessageId": m.internet_message_id, "SizeInBytes": m.size, "Id": m.item_id}
            for m in folder.items
        ]
    return entry


def mail_items_accessed(
    ctx: Context,
    tenant_id: str,
    domain: str,
    access: str,
    folders: tuple[FolderRead, ...],
    *,
    throttled: bool = False,
) -> dict[str, Any]:
    """A MailItemsAccessed record (RecordType 50): Bind of listed items or Sync of folders.
    ``throttled``: the record Exchange writes with IsThrottled True when the mailbox passed
    1,000 MailItemsAccessed records in 24 hours (Bind auditing then stops for 24 hours)."""
    record = _header(ctx, tenant_id, "MailItemsAccessed", MAIL_ITEMS_ACCESSED)
    record.update(_mailbox_fields(ctx, domain))
    count = sum(len(f.items) for f in folders) if access == "Bind" else len(folders)
    record["OperationProperties"] = [
        {"Name": "MailAccessType", "Value": access},
        {"Name": "IsThrottled", "Value": "True" if throttled else "False"},
    ]
    record["Folders"] = [_folder(folder) for folder in folders]
    record["OperationCount"] = count
    return record


def _item(message: Message, folder_id: str) -> dict[str, Any]:
    return {
        "Id": message.item_id,
        "InternetMessageId": message.internet_message_id,
        "ParentFolder": {"Id": folder_id, "Path": message.folder},
        "SizeInBytes": message.size,
        "Subject": message.subject,
    }


def send(
    ctx: Context, tenant_id: str, domain: str, message: Message, folder_id: str
) -> dict[str, Any]:
    """A Send record (RecordType 2, ExchangeItem)."""
    record = _header(ctx, tenant_id, "Send", EXCHANGE_ITEM)
    record.update(_mailbox_fields(ctx, domain))
    record["Item"] = _item(message, folder_id)
    return record


def move_to_deleted(
    ctx: Context,
    tenant_id: str,
    domain: str,
    items: tuple[tuple[Message, str], ...],
    deleted_id: str,
) -> dict[str, Any]:
    """A MoveToDeletedItems record (RecordType 3, ExchangeItemGroup); items are (msg, folder id)."""
    record = _header(ctx, tenant_id, "MoveToDeletedItems", EXCHANGE_ITEM_GROUP)
    record.update(_mailbox_fields(ctx, domain))
    first_message, first_folder = items[0]
    record["AffectedItems"] = [_item(message, folder_id) for message, folder_id in items]
    record["CrossMailboxOperation"] = False
    record["DestFolder"] = {"Id": deleted_id, "Path": "\\Deleted Items"}
    record["Folder"] = {"Id": first_folder, "Path": first_message.folder}
    return record


def new_inbox_rule(
    ctx: Context, tenant_id: str, domain: str, rule: str, sender: str
) -> dict[str, Any]:
    """A New-InboxRule cmdlet record (RecordType 1, ExchangeAdmin)."""
    record = _header(ctx, tenant_id, "New-InboxRule", EXCHANGE_ADMIN)
    record.update(
        {
            "ClientIP": ctx.client_ip,
            "ObjectId": f"{ctx.owner.upn}\\{rule}",
            "AppId": ctx.app_id,
            "ClientAppId": ctx.client_app_id,
            "ExternalAccess": False,
            "OrganizationName": domain,
            "OriginatingServer": f"{ctx.owner.server} (15.20.7633.021)",
            "Parameters": [
                {"Name": "AlwaysDeleteOutlookRulesBlob", "Value": "False"},
                {"Name": "Force", "Value": "False"},
                {"Name": "From", "Value": sender},
                {"Name": "MoveToFolder", "Value": "Newsletters"},
                {"Name": "Name", "Value": rule},
                {"Name": "StopProcessingRules", "Value": "True"},
            ],
            "SessionId": ctx.session_id,
        }
    )
    return record


def user_logged_in(record_id: str, signin: dict[str, Any]) -> dict[str, Any]:
    """The UAL mirror of a successful interactive sign-in (RecordType 15, UserLoggedIn)."""
    tenant_id = signin["homeTenantId"]
    created = signin["createdDateTime"].rstrip("Z")
    return {
        "CreationTime": created,
        "Id": record_id,
        "Operation": "UserLoggedIn",
        "OrganizationId": tenant_id,
        "RecordType": AAD_STS_LOGON,
        "ResultStatus": "Success",
        "UserKey": signin["userId"],
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": signin["ipAddress"],
        "ObjectId": signin["resourceId"],
        "UserId": signin["userPrincipalName"],
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "ResultStatusDetail", "Value": "Redirect"},
            {"Name": "UserAgent", "Value": signin["userAgent"]},
            {"Name": "RequestType", "Value": "OAuth2:Authorize"},
        ],
        "ModifiedProperties": [],
        "Actor": [
            {"ID": signin["userId"], "Type": 0},
            {"ID": signin["userPrincipalName"], "Type": 5},
        ],
        "ActorContextId": tenant_id,
        "ActorIpAddress": signin["ipAddress"],
        "InterSystemsId": signin["correlationId"],
        "IntraSystemId": signin["id"],
        "SupportTicketId": "",
        "Target": [{"ID": signin["resourceId"], "Type": 0}],
        "TargetContextId": tenant_id,
        "ApplicationId": signin["appId"],
        "ErrorNumber": "0",
    }
