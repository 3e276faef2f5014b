"""The tenant's people: users with mailboxes, networks and clients, and their special roles."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from mailhunt.simulate import catalog
from mailhunt.simulate.catalog import Endpoint
from mailhunt.simulate.ids import new_uuid, puid, server_name
from mailhunt.simulate.model import Personas

MIN_USERS = 7


@dataclass(frozen=True)
class User:
    """One person in the tenant, with a mailbox and the clients they use."""

    upn: str
    display_name: str
    object_id: str
    user_key: str
    sid: str
    mailbox_guid: str
    server: str
    home: Endpoint
    office: Endpoint
    phone_net: Endpoint
    clients: tuple[str, ...]
    mobile_from_day: int
    start_day: int
    start_hour: float
    office_ratio: float
    laptop_id: str
    laptop_name: str
    phone_id: str

    def uses(self, client: str, day: int) -> bool:
        """Whether the user has ``client`` set up on ``day``."""
        if client == "mobile" and day < self.mobile_from_day:
            return False
        return client in self.clients


@dataclass(frozen=True)
class Cast:
    """Everybody, and who plays which role."""

    users: tuple[User, ...]
    personas: Personas

    def by_upn(self, upn: str) -> User:
        return next(user for user in self.users if user.upn == upn)


def _names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    total = len(catalog.FIRST_NAMES) * len(catalog.LAST_NAMES)
    if count > total:
        raise ValueError(f"at most {total} users can be simulated")
    picks = rng.sample(range(total), count)
    width = len(catalog.LAST_NAMES)
    return [(catalog.FIRST_NAMES[p // width], catalog.LAST_NAMES[p % width]) for p in picks]


def _clients(index: int, count: int, rng: random.Random) -> tuple[str, ...]:
    if index == 0:
        return ("desktop", "owa", "mobile")
    if index in (1, 2, 3, 4, 5, count - 1):
        return ("desktop", "owa")
    roll = rng.random()
    if roll < 0.3:
        return ("desktop", "owa", "mobile")
    if roll < 0.4:
        return ("owa", "mobile")
    return ("desktop", "owa")


def _user(
    rng: random.Random, name: tuple[str, str], domain: str, sid_base: str, office: Endpoint
) -> User:
    first, last = name
    place = rng.choice(catalog.HOME_PLACES)
    return User(
        upn=f"{first}.{last}@{domain}",
        display_name=f"{first.title()} {last.title()}",
        object_id=new_uuid(rng),
        user_key=puid(rng),
        sid=f"{sid_base}-{rng.randint(1_000_000, 9_999_999)}",
        mailbox_guid=new_uuid(rng),
        server=server_name(rng),
        home=Endpoint(catalog.home_ip(rng), place),
        office=office,
        phone_net=Endpoint(catalog.carrier_ip(rng), place),
        clients=(),
        mobile_from_day=0,
        start_day=0,
        start_hour=rng.uniform(7.0, 9.5),
        office_ratio=rng.uniform(0.3, 0.9),
        laptop_id=new_uuid(rng),
        laptop_name=f"LAPTOP-{rng.getrandbits(28):07X}",
        phone_id=new_uuid(rng),
    )


def build_cast(rng: random.Random, *, domain: str, users: int, days: int) -> Cast:
    """Create ``users`` people and assign the planted roles (see ``Personas``)."""
    if users < MIN_USERS:
        raise ValueError(f"users must be at least {MIN_USERS}, got {users}")
    new_device_day = max(1, days // 2)
    late_day = max(0, days - 5)
    people = _people(rng, domain, users, new_device_day, late_day)
    return Cast(people, _personas(people, days, new_device_day, late_day))


def _people(
    rng: random.Random, domain: str, users: int, new_device_day: int, late_day: int
) -> tuple[User, ...]:
    sid_base = "S-1-5-21-" + "-".join(str(rng.randint(10**9, 4 * 10**9)) for _ in range(3))
    office = Endpoint(catalog.office_ip(rng), catalog.OFFICE_PLACE)
    people: list[User] = []
    for index, name in enumerate(_names(rng, users)):
        user = _user(rng, name, domain, sid_base, office)
        clients = _clients(index, users, rng)
        if index == 3:  # the new-device user: Outlook mobile from new_device_day
            user = replace(user, clients=(*clients, "mobile"), mobile_from_day=new_device_day)
        elif index == users - 1:  # the late joiner
            user = replace(user, clients=clients, start_day=late_day)
        else:
            user = replace(user, clients=clients)
        people.append(user)
    return tuple(people)


def _personas(people: tuple[User, ...], days: int, new_device_day: int, late_day: int) -> Personas:
    travel_start = max(1, days // 3)
    return Personas(
        users=tuple(user.upn for user in people),
        executive=people[0].upn,
        delegates=(people[1].upn, people[2].upn),
        new_device_user=people[3].upn,
        new_device_app_id=catalog.OUTLOOK_MOBILE_APP_ID,
        new_device_day=new_device_day,
        traveller=people[4].upn,
        travel_days=tuple(d for d in (travel_start, travel_start + 1) if d < days),
        travel_country=catalog.TRAVEL_PLACE.country,
        graph_cli_user=people[5].upn,
        late_joiner=people[-1].upn,
        late_joiner_day=late_day,
        archiver=catalog.ARCHIVER_NAME,
        archiver_app_id=catalog.ARCHIVER_APP_ID,
    )
