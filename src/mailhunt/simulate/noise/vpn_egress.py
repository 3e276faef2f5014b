"""VPN egress: a few users read their mail through a commercial VPN for a day.

Two or three users (not the planted personas) switch on a consumer VPN service for one weekday:
every request leaves from the provider's exit addresses (a Swedish VPN's range, a network kind
``vpn`` once enriched: 31173 Services AB, AS39351, in the curated list), through the clients they
always use (Outlook on the web, Outlook, Outlook Mobile), with tokens their own sign-ins from
that exit issued (the first interactive, as Entra asks when the address changes country).
Benign: the user authenticated from there. ``new-network-for-mailbox`` must stay silent (the
sign-in vouches for the network; a VPN sign-in is not raised on its own) and so must
``sync-from-new-context`` for their Outlook's folder syncs.
"""

from __future__ import annotations

from datetime import timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.catalog import Endpoint, Place
from mailhunt.simulate.mailstore import INBOX
from mailhunt.simulate.noise import NoiseKind
from mailhunt.simulate.noise._reading import OwnReader
from mailhunt.simulate.scene import Scene

NAME = "vpn-egress"
VPN_PLACE = Place("Stockholm", "Stockholm County", "SE", 59.3293, 18.0686)
# Exit addresses of a commercial VPN provider (its own announced ranges).
VPN_RANGES = ("185.213.154", "193.138.218")


def plant(scene: Scene) -> None:
    rng = scene.rng(NAME)
    personas = scene.cast.personas
    special = {
        personas.executive,
        personas.traveller,
        personas.new_device_user,
        personas.late_joiner,
        *personas.delegates,
    }
    ordinary = [u for u in scene.cast.users if u.upn not in special]
    weekdays = [d for d in range(1, scene.tenant.days) if not scene.tenant.weekend(d)]
    if not ordinary or not weekdays:
        return
    reader = OwnReader(scene, rng)
    for user in rng.sample(ordinary, min(len(ordinary), rng.randint(2, 3))):
        day = rng.choice(weekdays)
        exit_ip = f"{rng.choice(VPN_RANGES)}.{rng.randint(2, 254)}"
        endpoint = Endpoint(exit_ip, VPN_PLACE)
        at = scene.tenant.midnight(day) + timedelta(hours=user.start_hour)
        for _ in range(rng.randint(3, 6)):
            at += timedelta(minutes=rng.randint(15, 90))
            keys = [key for key in ("desktop", "owa", "mobile") if user.uses(key, day)]
            client = catalog.CLIENTS[rng.choice(keys)]
            if client.key in ("desktop", "mobile") and rng.random() < 0.3:
                at = reader.sync(user, client, endpoint, at, (INBOX,))
            else:
                reader.bind(user, client, endpoint, at, day)


NOISE = NoiseKind(
    NAME,
    "2-3 users read their mail for a day through a commercial VPN's exits, with their usual "
    "clients and tokens their own sign-ins there issued",
    plant,
)
