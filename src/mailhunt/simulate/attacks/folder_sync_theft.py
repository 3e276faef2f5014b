"""Whole-folder theft: Inbox, Sent Items and Archive synced from new infrastructure.

The actor syncs entire folders (MailItemsAccessed with MailAccessType Sync: one record per
folder, no message listed) of the executive's and one other mailbox, through Outlook Mobile, a
client the tenant knows, with forged tokens no sign-in issued, from a rented server neither
mailbox was ever read from, in one early-morning run (00:00-06:00 UTC). Everything in those
folders must be presumed disclosed. Caught by ``sync-from-new-context`` (a Sync from a network
new to the mailbox, naming the folders), ``new-network-for-mailbox`` and
``token-without-signin``.

References:
https://learn.microsoft.com/purview/audit-log-investigate-accounts (Sync access)
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.attacks._forged import ForgedSession
from mailhunt.simulate.mailstore import INBOX, SENT
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.ual import FolderRead

KIND = "folder-sync-theft"
ARCHIVE = "\\Archive"


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    ip = catalog.vps_ip(scene.actor_rng(KIND))
    mobile = catalog.CLIENTS["mobile"]
    actor = ForgedSession(rng, scene.tenant, mobile, (ip,))
    executive = scene.cast.by_upn(scene.cast.personas.executive)
    others = [u for u in scene.cast.users if u is not executive and u.start_day <= scene.day]
    victims = [executive, rng.choice(others)]
    at = scene.tenant.midnight(scene.day) + timedelta(seconds=rng.randint(600, 21_600))
    for victim in victims:
        for path in (INBOX, SENT, ARCHIVE):
            at += timedelta(seconds=rng.randint(3, 45))
            folder = FolderRead(path, scene.store.folder_id(victim.upn, path))
            actor.access(victim, ip, at, "Sync", (folder,))
        at += timedelta(seconds=rng.randint(60, 600))
    for moment, record in actor.records:
        scene.add_ual(moment, record)
    times = [moment for moment, _ in actor.records]
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id=mobile.app_id,
        client_app_id=mobile.app_id,
        client_ips=(ip,),
        mailboxes=tuple(sorted(v.upn for v in victims)),
        record_ids=tuple(record["Id"] for _, record in actor.records),
        internet_message_ids=(),
        first_seen=min(times),
        last_seen=max(times),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="forged tokens sync the whole Inbox, Sent Items and Archive of the executive's and "
    "one other mailbox through Outlook Mobile from a new rented server",
    inject=inject,
    expected=("sync-from-new-context", "new-network-for-mailbox", "token-without-signin"),
)
