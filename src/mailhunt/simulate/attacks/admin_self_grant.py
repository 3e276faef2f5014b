"""An Exchange administrator grants himself FullAccess to the executive's mailbox and reads it.

The tenant's administrator (the Graph CLI persona) runs ``Add-MailboxPermission -Identity
<executive> -User <himself> -AccessRights FullAccess`` from his usual address, then opens the
mailbox in Outlook desktop (classic MAPI: ``Client=MSExchangeRPC``, no application id), the
reads audited with the Admin or Delegate logon type, that day and the next. Nothing about the
client, the network or the token is new: only the grant and its use tell.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate.acting import (
    LOGON_ADMIN,
    LOGON_DELEGATE,
    Acting,
    admin_user,
    later,
    usual_ip,
)
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene

KIND = "admin-self-grant"


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    act = Acting(scene, rng)
    admin = admin_user(scene)
    executive = scene.cast.by_upn(scene.cast.personas.executive)
    start = scene.tenant.midnight(scene.day) + timedelta(hours=rng.uniform(10.0, 16.0))
    ip = usual_ip(scene, admin, start)
    grant = act.cmdlet(
        start,
        admin,
        ip,
        "Add-MailboxPermission",
        {
            "Identity": executive.upn,
            "User": admin.upn.split("@")[0],
            "AccessRights": "FullAccess",
            "InheritanceType": "All",
            "AutoMapping": "False",
        },
        object_id=executive.upn,
    )
    reads: list[str] = []
    logon = rng.choice((LOGON_ADMIN, LOGON_DELEGATE))
    at = later(start, rng, 600, 2400)
    for day in (scene.day, scene.day + 1):
        if day >= scene.tenant.days:
            break
        if day != scene.day:
            at = scene.tenant.midnight(day) + timedelta(hours=rng.uniform(9.0, 17.0))
        session = new_uuid(rng)
        for _ in range(rng.randint(2, 5)):
            at = later(at, rng, 20, 400)
            reads.append(
                act.read_mail(
                    at,
                    admin,
                    executive,
                    ip,
                    client_info="Client=MSExchangeRPC",
                    logon_type=logon,
                    session=session,
                    day=day,
                )
            )
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id="",
        client_app_id="",
        client_ips=(ip,),
        mailboxes=(executive.upn,),
        record_ids=(grant, *reads),
        internet_message_ids=(),
        first_seen=start,
        last_seen=at,
        key_record_ids=(grant,),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="an Exchange administrator grants himself FullAccess to the executive's mailbox "
    "and reads it in Outlook desktop",
    inject=inject,
    expected=("permission-grant-then-access",),
)
