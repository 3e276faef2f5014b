"""A new phone's first sync: Outlook Mobile set up, every folder synced at once.

A user who never used Outlook Mobile installs it (a new phone) on a weekday, signs in
interactively from their mobile carrier's network (an address they may never have used: a new
phone on a new SIM), and the app immediately syncs the whole mailbox, folder by folder (Inbox,
Sent Items, Archive, Deleted Items, Inbox\\Projects), then reads a few messages. This is the
best known Sync false positive: a new application and maybe a new network, whole folders, with
tokens the owner's own sign-in issued. ``sync-from-new-context`` must stay silent (a common
Microsoft client on the owner's token, from a network the owner just signed in from), and
``new-network-for-mailbox`` too.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.catalog import Endpoint
from mailhunt.simulate.mailstore import DELETED, INBOX, SENT
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.noise._reading import OwnReader
from mailhunt.simulate.scene import Scene

NAME = "new-phone-first-sync"
FOLDERS = (INBOX, SENT, "\\Archive", DELETED, "\\Inbox\\Projects")


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    personas = scene.cast.personas
    candidates = [
        u
        for u in scene.cast.users
        if "mobile" not in u.clients
        and u.upn not in (personas.new_device_user, personas.late_joiner, personas.traveller)
    ]
    first = max(8, scene.tenant.days // 2)
    weekdays = [d for d in range(first, scene.tenant.days) if not scene.tenant.weekend(d)]
    if not candidates or not weekdays:
        return
    user = rng.choice(candidates)
    day = rng.choice(weekdays)
    mobile = catalog.CLIENTS["mobile"]
    carrier = Endpoint(catalog.carrier_ip(rng), user.phone_net.place)
    reader = OwnReader(scene, rng)
    at = scene.tenant.midnight(day) + timedelta(hours=user.start_hour + rng.uniform(1.0, 8.0))
    at = reader.sync(user, mobile, carrier, at, FOLDERS)
    for _ in range(rng.randint(1, 3)):
        at += timedelta(minutes=rng.randint(2, 40))
        reader.bind(user, mobile, carrier, at, day)


NOISE = NoiseKind(
    NAME,
    "a user sets up Outlook Mobile on a new phone: an interactive sign-in from a carrier "
    "network, then a sync of every folder",
    plant,
)
