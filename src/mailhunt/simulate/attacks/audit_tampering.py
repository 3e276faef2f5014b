"""An actor holding the administrator's account blinds mailbox auditing.

From a rented server, the actor signs in as the tenant's administrator, turns IMAP on for the
executive's mailbox and downloads it over IMAP (still audited), then bypasses mailbox auditing
for the administrator's own account (``Set-MailboxAuditBypassAssociation``) and turns auditing
off for the executive's mailbox (``Set-Mailbox -AuditEnabled $false``), so that later reads
leave no record. Key records: the two tampering cmdlets.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.acting import LOGON_DELEGATE, VPS_PLACE, Acting, admin_user, later
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.catalog import CLIENTS, Endpoint
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene

KIND = "audit-tampering"


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    act = Acting(scene, rng)
    ip = catalog.vps_ip(scene.actor_rng(KIND))
    admin = admin_user(scene)
    executive = scene.cast.by_upn(scene.cast.personas.executive)
    start = scene.tenant.midnight(scene.day) + timedelta(hours=rng.uniform(0.5, 5.0))
    at = start
    signin_id, _ = act.sign_in(
        at,
        admin,
        CLIENTS["owa"],
        Endpoint(ip, VPS_PLACE),
        session=new_uuid(rng),
        interactive=True,
    )
    at = later(at, rng, 60, 300)
    enable = act.cmdlet(
        at,
        admin,
        ip,
        "Set-CASMailbox",
        {"Identity": executive.upn, "ImapEnabled": "True"},
        object_id=executive.upn,
    )
    session = new_uuid(rng)
    reads = []
    for _ in range(rng.randint(2, 4)):
        at = later(at, rng, 120, 900)
        reads.append(
            act.read_mail(
                at,
                admin,
                executive,
                ip,
                client_info="Client=IMAP4;Protocol=IMAP4",
                logon_type=LOGON_DELEGATE,
                session=session,
                day=scene.day,
                sync=True,
            )
        )
    at = later(at, rng, 60, 600)
    bypass = act.cmdlet(
        at,
        admin,
        ip,
        "Set-MailboxAuditBypassAssociation",
        {"Identity": admin.upn, "AuditBypassEnabled": "True"},
        object_id=admin.upn,
    )
    at = later(at, rng, 20, 120)
    off = act.cmdlet(
        at,
        admin,
        ip,
        "Set-Mailbox",
        {"Identity": executive.upn, "AuditEnabled": "False"},
        object_id=executive.upn,
    )
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id="",
        client_app_id="",
        client_ips=(ip,),
        mailboxes=(executive.upn, admin.upn),
        record_ids=(signin_id, enable, *reads, bypass, off),
        internet_message_ids=(),
        first_seen=start,
        last_seen=at,
        key_record_ids=(bypass, off),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="with the administrator's account, from a rented server: IMAP turned on for the "
    "executive and used, then auditing bypassed for the account and off for the mailbox",
    inject=inject,
    expected=("audit-tampering", "mail-protocol-enabled"),
)
