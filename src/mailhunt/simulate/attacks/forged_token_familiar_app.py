"""Forged tokens through an application the mailboxes already use, from new hosting servers.

The Storm-0558 case the first-seen-application signal misses: the actor forges tokens for
Outlook on the web (Office 365 Exchange Online, the ClientAppId every user of the tenant reads
with), so the application is familiar to each mailbox; the tokens were issued by no sign-in, and
the requests come from rented virtual servers (the same ones across the tenants of one campaign)
that neither the mailbox nor its owner ever used. Over two nights (00:00-09:00 UTC) it binds
recent messages of the executive and one or two others. Caught by ``token-without-signin`` (no
sign-in issued the tokens) and ``new-network-for-mailbox`` (servers new to every victim, nobody
signed in from them); ``mailbox-first-seen-app`` stays silent by design.

References:
https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/
https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.attacks import AttackKind
from mailhunt.simulate.attacks._forged import ForgedSession
from mailhunt.simulate.mailstore import Message
from mailhunt.simulate.model import Intrusion
from mailhunt.simulate.scene import Scene
from mailhunt.simulate.ual import FolderRead

KIND = "forged-token-familiar-app"


def inject(scene: Scene) -> Intrusion:
    rng = scene.rng(KIND)
    infrastructure = scene.actor_rng(KIND)
    ips = (catalog.vps_ip(infrastructure), catalog.vps_ip(infrastructure))
    owa = catalog.CLIENTS["owa"]
    actor = ForgedSession(rng, scene.tenant, owa, ips)
    executive = scene.cast.by_upn(scene.cast.personas.executive)
    others = [u for u in scene.cast.users if u is not executive and u.start_day <= scene.day]
    victims = [executive, *rng.sample(others, min(len(others), rng.randint(1, 2)))]
    messages: dict[str, None] = {}
    for day in range(scene.day, min(scene.day + 2, scene.tenant.days)):
        at = scene.tenant.midnight(day) + timedelta(seconds=rng.randint(600, 20_000))
        for index, victim in enumerate(victims):
            for _ in range(rng.randint(2, 4)):
                at += timedelta(seconds=rng.randint(10, 240))
                pool = scene.store.recent(victim.upn, day, 5, first_day=victim.start_day)
                picked = rng.sample(pool, min(len(pool), rng.randint(2, 5)))
                by_folder: dict[str, list[Message]] = {}
                for message in picked:
                    by_folder.setdefault(message.folder, []).append(message)
                    messages[message.internet_message_id] = None
                folders = tuple(
                    FolderRead(path, scene.store.folder_id(victim.upn, path), tuple(items))
                    for path, items in sorted(by_folder.items())
                )
                actor.access(victim, ips[index % 2], at, "Bind", folders)
    for at, record in actor.records:
        scene.add_ual(at, record)
    times = [at for at, _ in actor.records]
    return Intrusion(
        kind=KIND,
        tenant_id=scene.tenant.tenant_id,
        app_id=owa.app_id,
        client_app_id=owa.app_id,
        client_ips=ips,
        mailboxes=tuple(sorted(v.upn for v in victims)),
        record_ids=tuple(record["Id"] for _, record in actor.records),
        internet_message_ids=tuple(messages),
        first_seen=min(times),
        last_seen=max(times),
    )


ATTACK = AttackKind(
    name=KIND,
    summary="forged tokens (no sign-in issued them) read the executive's and 1-2 other "
    "mailboxes through Outlook on the web, which they already use, from new rented servers",
    inject=inject,
    expected=("token-without-signin", "new-network-for-mailbox"),
)
