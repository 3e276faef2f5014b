"""A user's Outlook re-downloads a large folder once, after a profile rebuild.

One ordinary user, on one weekday of the second half of the period, in the middle of the
working day (10:00-14:00 UTC), gets a new Outlook profile: Outlook desktop (MAPI, cached mode)
downloads the mailbox again. Exchange audits a download as Sync records of each folder, in
several passes over about an hour, and the messages Outlook then fetches one by one (the
Inbox of the last four weeks, for its search index and previews) as Binds of 10-30 messages.
Same client, same network as every day; only the volume is unusual, once, in working hours.

Reference: https://learn.microsoft.com/purview/audit-log-investigate-accounts (Sync and Bind
MailItemsAccessed records).
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import ual
from mailhunt.simulate.benign import actor_of, owner_of
from mailhunt.simulate.catalog import CLIENTS
from mailhunt.simulate.ids import new_uuid, render_ip
from mailhunt.simulate.mailstore import DELETED, INBOX, SENT, Message
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.ual import Context, FolderRead

NAME = "heavy-reader"
_FOLDERS = (INBOX, SENT, DELETED, "\\Archive", "\\Inbox\\Projects", "\\Inbox\\Newsletters")


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    tenant, store = scene.tenant, scene.store
    users = scene.cast.users
    regular = [u for u in users[6:-1] if u.start_day == 0] or list(users[1:])
    user = rng.choice(regular)
    weekdays = [d for d in range(tenant.days // 2, tenant.days) if not tenant.weekend(d)]
    day = rng.choice(weekdays or [tenant.days - 1])
    at = tenant.midnight(day) + timedelta(hours=10, seconds=rng.randint(0, 14_400))
    client = CLIENTS["desktop"]
    where = user.office if rng.random() < user.office_ratio else user.home
    session = new_uuid(rng)

    def emit(access: str, folders: tuple[FolderRead, ...]) -> None:
        ctx = Context(
            new_uuid(rng),
            at,
            actor_of(user),
            owner_of(user),
            0,
            render_ip(rng, where.ip),
            client.client_info,
            session,
            None,
            None,
            None,  # MAPI records of Outlook desktop often carry no AppAccessContext
        )
        record = ual.mail_items_accessed(ctx, tenant.tenant_id, tenant.domain, access, folders)
        scene.add_ual(at, record)

    for _ in range(rng.randint(3, 5)):  # download passes over every folder
        for path in _FOLDERS:
            at += timedelta(seconds=rng.randint(5, 60))
            emit("Sync", (FolderRead(path, store.folder_id(user.upn, path)),))
    inbox = [m for m in store.recent(user.upn, day, 28) if m.folder == INBOX]
    while inbox:
        batch: list[Message] = [inbox.pop() for _ in range(min(len(inbox), rng.randint(10, 30)))]
        at += timedelta(seconds=rng.randint(20, 90))
        emit("Bind", (FolderRead(INBOX, store.folder_id(user.upn, INBOX), tuple(batch)),))


NOISE = NoiseKind(
    name=NAME,
    summary="a user's rebuilt Outlook profile re-downloads the mailbox once in working hours: "
    "Sync passes over every folder and Binds of the last four weeks of the Inbox",
    plant=plant,
)
