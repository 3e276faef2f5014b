"""Legitimate mailbox forwarding: to a colleague, and to the user's own mailbox in a sister
organisation.

An administrator forwards a user's mailbox to the user's manager (an internal address, keeping a
copy), and a user who also works for the organisation's European entity forwards to their own
mailbox there (same local part, ``<org>-emea.com``). ``mail-forwarding`` must stay quiet.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate.acting import Acting, admin_user, usual_ip
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.scene import Scene

NAME = "legit-forwarding"


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    act = Acting(scene, rng)
    admin = admin_user(scene)
    pool = [u for u in scene.cast.users[6:-1] if u.upn != admin.upn]
    if len(pool) < 3:  # a small tenant: any user but the executive and the administrator
        pool = [u for u in scene.cast.users[1:] if u.upn != admin.upn]
    leaver, manager, dual = rng.sample(pool, 3)
    org = scene.tenant.domain.split(".")[0]
    days = scene.tenant.days
    at = scene.tenant.midnight(rng.randrange(max(1, days - 1))) + timedelta(hours=11)
    act.cmdlet(
        at,
        admin,
        usual_ip(scene, admin, at),
        "Set-Mailbox",
        {
            "Identity": leaver.upn,
            "ForwardingSmtpAddress": f"smtp:{manager.upn}",
            "DeliverToMailboxAndForward": "True",
        },
        object_id=leaver.upn,
    )
    at = scene.tenant.midnight(rng.randrange(max(1, days - 1))) + timedelta(hours=14)
    local = dual.upn.split("@")[0]
    act.cmdlet(
        at,
        dual,
        usual_ip(scene, dual, at),
        "Set-Mailbox",
        {
            "Identity": dual.upn,
            "ForwardingSmtpAddress": f"smtp:{local}@{org}-emea.com",
            "DeliverToMailboxAndForward": "True",
        },
        object_id=dual.upn,
        admin=False,
    )


NOISE = NoiseKind(
    name=NAME,
    summary="mailbox forwarding to a manager, and to the user's own mailbox in a sister "
    "organisation",
    plant=plant,
)
