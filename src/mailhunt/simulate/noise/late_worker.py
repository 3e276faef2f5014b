"""Someone who reads mail at night now and then.

One ordinary user, on four or five nights of the period, signs in to Outlook on the web from
home between 22:00 and 02:30 UTC (an interactive sign-in: a new session and token) and reads a
handful of recent messages: one to four Bind records of one to four messages. Known client,
known network, an issued token: only the hour is unusual.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import ual
from mailhunt.simulate.benign import actor_of, owner_of
from mailhunt.simulate.catalog import CLIENTS
from mailhunt.simulate.ids import new_uuid, render_ip, token_id
from mailhunt.simulate.mailstore import Message
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.people import User
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.signins import SignInSpec, user_signin
from mailhunt.simulate.ual import Context, FolderRead, Token

NAME = "late-worker"


def _worker(scene: Scene) -> User:
    users = scene.cast.users
    regular = [u for u in users[6:-1] if u.start_day == 0] or list(users[1:])
    return scene.rng(NAME).choice(regular)


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    user = _worker(scene)
    days = scene.tenant.days
    nights = sorted(rng.sample(range(1, days - 1), min(days - 2, rng.randint(4, 5))))
    client = CLIENTS["owa"]
    for day in nights:
        start = scene.tenant.midnight(day) + timedelta(hours=22, seconds=rng.randint(0, 16_200))
        session, token = new_uuid(rng), token_id(rng)
        spec = SignInSpec(start, user, client, user.home, session, token, True)
        signin = user_signin(rng, scene.tenant.tenant_id, spec)
        scene.add_signin(start, signin)
        scene.add_ual(start, ual.user_logged_in(new_uuid(rng), signin))
        issued = Token(token, session, start, client.app_id, client.ual_app_id)
        exchange_session = new_uuid(rng)
        at = start
        for _ in range(rng.randint(1, 4)):
            at += timedelta(seconds=rng.randint(20, 400))
            pool = scene.store.recent(user.upn, min(day, days - 1), 2, first_day=user.start_day)
            picked: list[Message] = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
            by_folder: dict[str, list[Message]] = {}
            for message in picked:
                by_folder.setdefault(message.folder, []).append(message)
            folders = tuple(
                FolderRead(path, scene.store.folder_id(user.upn, path), tuple(items))
                for path, items in sorted(by_folder.items())
            )
            ctx = Context(
                new_uuid(rng),
                at,
                actor_of(user),
                owner_of(user),
                0,
                render_ip(rng, user.home.ip),
                client.client_info,
                exchange_session,
                client.ual_app_id,
                client.app_id,
                issued,
            )
            tenant = scene.tenant
            record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, "Bind", folders)
            scene.add_ual(at, record)


NOISE = NoiseKind(
    name=NAME,
    summary="a user reads a few messages in Outlook on the web from home late at night, on four "
    "or five nights, after an ordinary interactive sign-in",
    plant=plant,
)
