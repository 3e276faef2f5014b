"""An administrator approves a line-of-business application that reads mail every day.

On the second day, the tenant's administrator, from where he usually works, grants the
company's own mail-processing application the Mail.Read application permission (``Add app role
assignment to service principal.``, an admin-only tenant-wide consent); from then on the
application signs in with client credentials each morning and syncs the Inbox of every mailbox
that exists. ``consent-then-mail-access`` must stay quiet (administrator consent from a known
network), and so should the first-seen and fan-out analytics (the reads are the application's
baseline from the start, before any mailbox has a week of history).
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.acting import Acting, admin_user, usual_ip
from mailhunt.simulate.ids import new_uuid
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.ual import Actor

NAME = "approved-app-consent"
APP_ID = "7c2b9e14-58a3-4f0d-b6e2-91d4a7c3f085"
APP_NAME = "contoso-invoice-intake"
SP_ID = "3e8f1a27-c64b-4d95-a0b3-5f2e7d9c1b46"
APP_IP = "20.108.146.91"  # Azure UK South, beside the archiver


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    act = Acting(scene, rng)
    admin = admin_user(scene)
    at = scene.tenant.midnight(min(1, scene.tenant.days - 1)) + timedelta(hours=10)
    act.directory_change(
        at,
        admin,
        usual_ip(scene, admin, at),
        "Add app role assignment to service principal.",
        [
            ("AppRole.Id", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
            ("AppRole.Value", "Mail.Read"),
            ("AppRole.DisplayName", "Read mail in all mailboxes"),
            ("ServicePrincipal.ObjectID", SP_ID),
            ("ServicePrincipal.DisplayName", APP_NAME),
            ("ServicePrincipal.AppId", APP_ID),
        ],
        object_id=catalog.GRAPH_APP_ID,
        targets=[(catalog.GRAPH_APP_ID, 2), ("Microsoft Graph", 1)],
        admin=True,
    )
    actor_key = APP_ID
    for day in range(min(1, scene.tenant.days - 1), scene.tenant.days):
        issued = scene.tenant.midnight(day) + timedelta(hours=6, seconds=rng.randint(0, 600))
        if day == min(1, scene.tenant.days - 1):
            issued = at + timedelta(minutes=30)
        token = act.app_only_signin(
            issued, app_id=APP_ID, app_name=APP_NAME, sp_id=SP_ID, ip=APP_IP
        )
        session = new_uuid(rng)
        moment = issued
        for user in scene.cast.users:
            if day < user.start_day:
                continue
            moment += timedelta(seconds=rng.randint(2, 30))
            act.read_mail(
                moment,
                Actor(APP_NAME, actor_key, user.sid, 5),
                user,
                APP_IP,
                client_info=catalog.REST_CLIENT_INFO,
                session=session,
                app_id=catalog.GRAPH_APP_ID,
                client_app_id=APP_ID,
                token=token,
                day=day,
                sync=True,
            )


NOISE = NoiseKind(
    name=NAME,
    summary="an administrator grants a line-of-business application Mail.Read; it syncs every "
    "mailbox's Inbox each morning",
    plant=plant,
)
