"""Mitigation steps an incident's evidence calls for, each as exact commands with the values
of the evidence (quoted by :mod:`mailhunt.notify.powershell`), and nothing the evidence does
not call for. No step holds a link: a notice with links looks like phishing.

The commands, as Microsoft documents them:

- Microsoft Graph PowerShell: ``Revoke-MgUserSignInSession -UserId`` (invalidates refresh
  tokens and session cookies), ``Get-MgServicePrincipal -Filter "appId eq '...'"`` then
  ``Remove-MgServicePrincipal -ServicePrincipalId``, ``Update-MgUser -UserId -PasswordProfile``
  (``ForceChangePasswordNextSignInWithMfa``), ``New-MgIdentityConditionalAccessNamedLocation``
  (an ``#microsoft.graph.ipNamedLocation`` of ``iPv4CidrRange``/``iPv6CidrRange``) and
  ``New-MgIdentityConditionalAccessPolicy`` (``grantControls.builtInControls = block``).
- Exchange Online PowerShell: ``Remove-InboxRule -Mailbox -Identity``, ``Get-InboxRule
  -Mailbox``, ``Set-Mailbox -ForwardingSmtpAddress $null -ForwardingAddress $null
  -DeliverToMailboxAndForward $false``, ``Remove-TransportRule -Identity``,
  ``Remove-MailboxPermission -Identity -User -AccessRights -InheritanceType All``,
  ``Remove-RecipientPermission -Identity -Trustee -AccessRights SendAs``,
  ``Remove-MailboxFolderPermission -Identity -User``, ``Set-Mailbox -AuditEnabled $true
  -AuditLogAgeLimit`` (a TimeSpan, dd.hh:mm:ss), ``Set-OrganizationConfig -AuditDisabled
  $false``.

The tenant allow/block list (``New-TenantAllowBlockListItems``) blocks mail senders, URLs and
files (IP entries are IPv6 only, for mail); it does not stop sign-ins, so a sign-in address is
blocked with a Conditional Access named location instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from mailhunt.investigate.model import RelatedAction
from mailhunt.notify.facts import IncidentFacts
from mailhunt.notify.powershell import Command, address, command, guid, quotable, quote

# Mailbox permission rights Remove-MailboxPermission takes (its -AccessRights values).
MAILBOX_RIGHTS = frozenset(
    {
        "ChangeOwner",
        "ChangePermission",
        "DeleteItem",
        "ExternalAccount",
        "FullAccess",
        "ReadPermission",
    }
)
AUDIT_AGE = "365.00:00:00"


@dataclass(frozen=True)
class Step:
    """One thing to do, why (from the evidence), and its commands."""

    title: str
    why: str
    commands: list[Command] = field(default_factory=list)

    @property
    def withheld(self) -> bool:
        """Whether a value could not be quoted safely (its command is left out)."""
        return any(c.text is None for c in self.commands)


def steps(facts: IncidentFacts) -> list[Step]:
    """The steps for one incident, in the order to take them."""
    found = [
        *_sprayed(facts),
        *_sessions(facts),
        *_applications(facts),
        *_rules(facts),
        *_forwarding(facts),
        *_permissions(facts),
        *_addresses(facts),
        *_auditing(facts),
    ]
    return [s for s in found if s.commands]


def _param(action: RelatedAction, *names: str) -> str | None:
    wanted = {n.lower() for n in names}
    return next((v for n, v in action.parameters if n.lower() in wanted and v), None)


def _sprayed(facts: IncidentFacts) -> Iterator[Step]:
    users = sorted({u for s in facts.sprays for u in s.signed_in})
    if users:
        yield Step(
            "Reset the passwords of the accounts signed in after a password spray",
            f"{len(facts.sprays)} address(es) failed sign-ins of several users, then signed "
            "these accounts in: their passwords are known to the intruder.",
            [
                command(
                    "Update-MgUser -UserId {upn} -PasswordProfile "
                    "@{{ ForceChangePasswordNextSignInWithMfa = $true }}",
                    upn=u,
                )
                for u in users
            ],
        )


def _sessions(facts: IncidentFacts) -> Iterator[Step]:
    users = [u.value for u in facts.values("user")]
    if users:
        yield Step(
            "Revoke the sign-in sessions of the accounts the intruder used",
            "Records attributed to the intruder acted as these accounts; revoking their "
            "sessions invalidates the refresh tokens and session cookies issued to them.",
            [command("Revoke-MgUserSignInSession -UserId {upn}", upn=u) for u in users],
        )


def _applications(facts: IncidentFacts) -> Iterator[Step]:
    consented = any(a.kind == "consent" for a in facts.radius.actions)
    apps = [a for a in facts.values("app") if not a.microsoft]
    if not apps:
        return
    commands = []
    for app in apps:
        app_id = guid(app.value)
        if app_id is None:
            commands.append(Command(None, (app.value,)))
            continue
        commands.append(
            Command(
                f"$sp = Get-MgServicePrincipal -Filter \"appId eq '{app_id}'\"; "
                "Remove-MgServicePrincipal -ServicePrincipalId $sp.Id",
                (app_id,),
            )
        )
    why = "An application that is not Microsoft's own read mail in this incident"
    why += " after a consent was granted to it." if consented else "."
    yield Step(
        "Remove the application's service principal (its consent and permissions go with it)",
        why + " Removing its service principal revokes what it was granted in this tenant.",
        commands,
    )


def _rules(facts: IncidentFacts) -> Iterator[Step]:
    commands = []
    for action in facts.radius.actions:
        if action.kind != "inbox-rule" or action.operation == "Remove-InboxRule":
            continue
        mailbox = action.mailbox_upn or action.actor_upn
        name = _param(action, "Name", "Identity")
        if name is not None and "\\" in name and action.operation != "New-InboxRule":
            name = name.rsplit("\\", 1)[1] or None  # Set-InboxRule: 'user@x\\Rule'
        if name is None:
            commands.append(command("Get-InboxRule -Mailbox {mailbox}", mailbox=mailbox))
        else:
            commands.append(
                command(
                    "Remove-InboxRule -Mailbox {mailbox} -Identity {name} -Confirm:$false",
                    mailbox=mailbox,
                    name=name,
                )
            )
    if commands:
        yield Step(
            "Remove the inbox rules the intruder created or changed",
            "Inbox rules were created or changed by the intruder's sessions (a rule that "
            "forwards, moves or deletes mail keeps working after the intruder is gone). Where "
            "the record does not name the rule, list the mailbox's rules and remove it.",
            list(dict.fromkeys(commands)),
        )


def _forwarding(facts: IncidentFacts) -> Iterator[Step]:
    commands = []
    for action in facts.radius.actions:
        if action.kind != "forwarding":
            continue
        if action.operation in ("New-TransportRule", "Set-TransportRule"):
            name = _param(action, "Name", "Identity")
            commands.append(
                command("Remove-TransportRule -Identity {name} -Confirm:$false", name=name)
            )
            continue
        mailbox = _param(action, "Identity") or action.mailbox_upn
        commands.append(
            command(
                "Set-Mailbox -Identity {mailbox} -ForwardingSmtpAddress $null "
                "-ForwardingAddress $null -DeliverToMailboxAndForward $false",
                mailbox=mailbox,
            )
        )
    if commands:
        yield Step(
            "Remove the mail forwarding the intruder set",
            "Forwarding was set by the intruder's sessions: mail keeps leaving until removed.",
            list(dict.fromkeys(commands)),
        )


def _permission(action: RelatedAction) -> Command | None:
    target = _param(action, "Identity") or action.mailbox_upn
    user = _param(action, "User", "Trustee")
    if action.operation == "Add-MailboxPermission":
        rights = [r.strip() for r in (_param(action, "AccessRights") or "FullAccess").split(",")]
        if not all(r in MAILBOX_RIGHTS for r in rights):
            return Command(None, (target or "", user or "", ",".join(rights)))
        return command(
            "Remove-MailboxPermission -Identity {target} -User {user} "
            f"-AccessRights {','.join(rights)} -InheritanceType All -Confirm:$false",
            target=target,
            user=user,
        )
    if action.operation == "Add-RecipientPermission":
        return command(
            "Remove-RecipientPermission -Identity {target} -Trustee {user} -AccessRights SendAs "
            "-Confirm:$false",
            target=target,
            user=user,
        )
    if action.operation in ("Add-MailboxFolderPermission", "Set-MailboxFolderPermission"):
        return command(
            "Remove-MailboxFolderPermission -Identity {target} -User {user} -Confirm:$false",
            target=target,
            user=user,
        )
    return None


def _permissions(facts: IncidentFacts) -> Iterator[Step]:
    found = [_permission(a) for a in facts.radius.actions if a.kind == "permission"]
    commands = list(dict.fromkeys(c for c in found if c is not None))
    if commands:
        yield Step(
            "Remove the mailbox permissions the intruder added",
            "Permissions were granted by the intruder's sessions: they keep giving access.",
            commands,
        )


def _addresses(facts: IncidentFacts) -> Iterator[Step]:
    ips = sorted({a for i in facts.values("ip") if (a := address(i.value)) is not None})
    if not ips:
        return
    ranges = "; ".join(
        "@{ '@odata.type' = '#microsoft.graph.iPv"
        + ("6" if ":" in ip else "4")
        + f"CidrRange'; CidrAddress = '{ip}/{128 if ':' in ip else 32}' }}"
        for ip in ips
    )
    name = f"mailhunt {facts.incident.id} intruder addresses"
    if not quotable(name):
        name = "mailhunt intruder addresses"
    location = (
        "$location = New-MgIdentityConditionalAccessNamedLocation -BodyParameter @{ "
        "'@odata.type' = '#microsoft.graph.ipNamedLocation'; DisplayName = "
        f"{quote(name)}; IsTrusted = $false; IpRanges = @({ranges}) }}"
    )
    policy = (
        "New-MgIdentityConditionalAccessPolicy -BodyParameter @{ DisplayName = "
        f"{quote('Block ' + name)}; State = 'enabled'; Conditions = @{{ Applications = @{{ "
        "IncludeApplications = @('All') }; Users = @{ IncludeUsers = @('All') }; Locations = "
        "@{ IncludeLocations = @($location.Id) } }; GrantControls = @{ Operator = 'OR'; "
        "BuiltInControls = @('block') } }"
    )
    yield Step(
        "Block the intruder's addresses",
        f"The intruder used {len(ips)} address(es) (listed above). A Conditional Access "
        "named location holding them, and a policy blocking sign-ins from it (exclude your "
        "emergency access accounts before enabling it):",
        [Command(location, tuple(ips)), Command(policy)],
    )


def _auditing(facts: IncidentFacts) -> Iterator[Step]:
    radius = facts.radius
    blind = sorted({w.mailbox_upn for w in radius.blind_windows})
    tampered = [a for a in radius.actions if a.kind == "audit"]
    mailboxes = sorted({m.mailbox_upn for m in radius.mailboxes} | set(blind))
    if not mailboxes and not tampered:
        return
    commands = [
        command(
            "Set-Mailbox -Identity {mailbox} -AuditEnabled $true "
            f"-AuditLogAgeLimit '{AUDIT_AGE}'",
            mailbox=m,
        )
        for m in mailboxes
    ]
    why = "Keep a year of mailbox audit records for the mailboxes the intruder touched"
    if blind:
        why += f"; auditing was throttled in {len(blind)} of them (blind windows above)"
    if tampered:
        why += "; the intruder changed audit settings, so turn organisation auditing back on"
        commands.append(Command("Set-OrganizationConfig -AuditDisabled $false"))
    yield Step("Turn on and extend mailbox auditing", why + ".", commands)
