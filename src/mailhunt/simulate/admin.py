"""Administrative records of the unified audit log: Exchange cmdlets (RecordType 1,
ExchangeAdmin: New-InboxRule, Add-MailboxPermission, Set-Mailbox ...) and Entra ID directory
audits (RecordType 8, AzureActiveDirectory: "Consent to application.", "Add delegated permission
grant." ...), in the Management Activity API shape.

References:
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema#exchange-admin-schema
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema#azure-active-directory-base-schema
https://learn.microsoft.com/purview/audit-log-activities
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailhunt.simulate.ids import ual_time
from mailhunt.simulate.ual import EXCHANGE_ADMIN

AZURE_ACTIVE_DIRECTORY = 8
ADMIN_USER_TYPE = 2  # UserType: Admin


@dataclass(frozen=True)
class Caller:
    """Who ran the operation and from where."""

    upn: str
    user_key: str  # Exchange: the PUID-like key; Entra: the object id
    client_ip: str
    user_type: int = ADMIN_USER_TYPE
    app_id: str | None = None  # the application the cmdlet ran through, when the log says
    session_id: str | None = None


def exchange_cmdlet(
    record_id: str,
    at: datetime,
    tenant_id: str,
    caller: Caller,
    *,
    domain: str,
    operation: str,
    object_id: str,
    parameters: Mapping[str, str],
    server: str = "SA1PR12MB6680",
    succeeded: bool = True,
) -> dict[str, Any]:
    """An Exchange admin cmdlet record: ``operation`` (``New-InboxRule``, ``Set-Mailbox``...)
    run by ``caller`` on ``object_id`` with ``parameters`` (Name -> Value, in that order)."""
    record: dict[str, Any] = {
        "CreationTime": ual_time(at),
        "Id": record_id,
        "Operation": operation,
        "OrganizationId": tenant_id,
        "RecordType": EXCHANGE_ADMIN,
        "ResultStatus": "True" if succeeded else "False",
        "UserKey": caller.user_key,
        "UserType": caller.user_type,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": caller.client_ip,
        "ObjectId": object_id,
        "UserId": caller.upn,
    }
    if caller.app_id is not None:
        record["AppId"] = caller.app_id
    record.update(
        {
            "ExternalAccess": False,
            "OrganizationName": domain,
            "OriginatingServer": f"{server} (15.20.7633.021)",
            "Parameters": [{"Name": name, "Value": value} for name, value in parameters.items()],
        }
    )
    if caller.session_id is not None:
        record["SessionId"] = caller.session_id
    return record


@dataclass(frozen=True)
class Change:
    """One ModifiedProperties entry of a directory audit."""

    name: str
    new_value: str
    old_value: str = ""


def directory_audit(
    record_id: str,
    at: datetime,
    tenant_id: str,
    caller: Caller,
    *,
    operation: str,
    object_id: str,
    changes: Sequence[Change],
    targets: Sequence[tuple[str, int]],
    succeeded: bool = True,
) -> dict[str, Any]:
    """An Entra ID directory audit record (``Consent to application.``, ``Add service
    principal.``, ``Add delegated permission grant.``...): ``object_id`` is what it acted on,
    ``targets`` its (ID, Type) list as the log gives it."""
    return {
        "CreationTime": ual_time(at),
        "Id": record_id,
        "Operation": operation,
        "OrganizationId": tenant_id,
        "RecordType": AZURE_ACTIVE_DIRECTORY,
        "ResultStatus": "Success" if succeeded else "Failure",
        "UserKey": caller.user_key,
        "UserType": caller.user_type,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": caller.client_ip,
        "ObjectId": object_id,
        "UserId": caller.upn,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": "ServicePrincipal"},
        ],
        "ModifiedProperties": [
            {"Name": c.name, "NewValue": c.new_value, "OldValue": c.old_value} for c in changes
        ],
        "Actor": [{"ID": caller.upn, "Type": 5}, {"ID": caller.user_key, "Type": 2}],
        "ActorContextId": tenant_id,
        "InterSystemsId": record_id,
        "IntraSystemId": record_id,
        "SupportTicketId": "",
        "Target": [{"ID": target, "Type": kind} for target, kind in targets],
        "TargetContextId": tenant_id,
    }
