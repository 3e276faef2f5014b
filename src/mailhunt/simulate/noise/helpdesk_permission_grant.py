"""An administrator grants a colleague FullAccess to a mailbox for a helpdesk ticket.

Mid-period, the tenant's administrator, from the address he last worked from, runs
``Add-MailboxPermission -AccessRights FullAccess`` on an ordinary user's mailbox (a colleague
on leave) for another ordinary user, who then reads it in Outlook desktop with the Delegate
logon type on the following working days. The grant is given by someone other than the reader,
from a network he already used: ``permission-grant-then-access`` must stay quiet.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate.acting import LOGON_DELEGATE, Acting, admin_user, later, usual_ip
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.scene import Scene

NAME = "helpdesk-permission-grant"


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    act = Acting(scene, rng)
    admin = admin_user(scene)
    pool = [u for u in scene.cast.users[6:-1] if u.upn != admin.upn]
    if len(pool) < 2:  # a small tenant: any user but the executive and the administrator
        pool = [u for u in scene.cast.users[1:] if u.upn != admin.upn]
    owner, reader = rng.sample(pool, 2)
    day = max(1, scene.tenant.days // 2 - 1)
    at = scene.tenant.midnight(day) + timedelta(hours=rng.uniform(9.5, 15.0))
    act.cmdlet(
        at,
        admin,
        usual_ip(scene, admin, at),
        "Add-MailboxPermission",
        {
            "Identity": owner.upn,
            "User": reader.upn,
            "AccessRights": "FullAccess",
            "InheritanceType": "All",
        },
        object_id=owner.upn,
    )
    for offset in range(1, 4):
        read_day = day + offset
        if read_day >= scene.tenant.days:
            break
        start = scene.tenant.midnight(read_day) + timedelta(hours=rng.uniform(9.0, 16.0))
        ip = usual_ip(scene, reader, start)
        session = new_uuid(rng)
        at = start
        for _ in range(rng.randint(1, 3)):
            at = later(at, rng, 30, 600)
            act.read_mail(
                at,
                reader,
                owner,
                ip,
                client_info="Client=MSExchangeRPC",
                logon_type=LOGON_DELEGATE,
                session=session,
                day=read_day,
            )


NOISE = NoiseKind(
    name=NAME,
    summary="an administrator grants a colleague FullAccess to a mailbox for a ticket; the "
    "colleague reads it in Outlook",
    plant=plant,
)
