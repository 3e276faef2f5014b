"""Fixed reference data: well-known application ids, client profiles, names and places."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Well-known first-party application ids.
OFFICE_APP_ID = "d3590ed6-52b3-4102-aeff-aad2292ab01c"  # Microsoft Office (Outlook desktop)
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online (OWA)
OUTLOOK_MOBILE_APP_ID = "27922004-5251-4030-b22d-91ecd9a37ea4"  # Outlook Mobile
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph
GRAPH_CLI_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools

# The tenant's own nightly archiving application (a third-party app registration).
ARCHIVER_APP_ID = "5f3c8d21-7a4e-4b9c-9e1f-2d6a8b0c4e71"
ARCHIVER_NAME = "archiver-app"
ARCHIVER_SP_ID = "b1e7c0a4-3d92-4f6e-8a15-7c9d2e4f6a38"  # its service principal object id
ARCHIVER_IP = "20.108.146.77"  # Azure UK South

DESKTOP_UA = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
EDGE_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0"
)
PWSH_UA = "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.2"
REST_CLIENT_INFO = "Client=REST;Client=RESTSystem;;"


@dataclass(frozen=True)
class ClientProfile:
    """How one kind of mail client signs in and how Exchange audits its access."""

    key: str
    app_id: str  # sign-in appId, and the ClientAppId the UAL records carry
    app_name: str
    ual_app_id: str | None  # AppId on MailItemsAccessed; None for MSExchangeRPC
    client_info: str
    client_app_used: str
    user_agent: str
    operating_system: str
    browser: str
    resource_id: str = EXCHANGE_APP_ID
    resource_name: str = "Office 365 Exchange Online"


CLIENTS: dict[str, ClientProfile] = {
    "desktop": ClientProfile(
        "desktop",
        OFFICE_APP_ID,
        "Microsoft Office",
        None,
        "Client=MSExchangeRPC",
        "Mobile Apps and Desktop clients",
        DESKTOP_UA,
        "Windows10",
        "Rich Client 16.0.17928",
    ),
    "owa": ClientProfile(
        "owa",
        EXCHANGE_APP_ID,
        "Office 365 Exchange Online",
        EXCHANGE_APP_ID,
        "Client=OWA;Action=ViaProxy",
        "Browser",
        EDGE_UA,
        "Windows10",
        "Edge 125.0.0",
    ),
    "mobile": ClientProfile(
        "mobile",
        OUTLOOK_MOBILE_APP_ID,
        "Outlook Mobile",
        OUTLOOK_MOBILE_APP_ID,
        "Client=OutlookService;Outlook-iOS/2.0;",
        "Mobile Apps and Desktop clients",
        "Outlook-iOS/2.0",
        "Ios 17.5.1",
        "Mobile App",
    ),
    "graph-cli": ClientProfile(
        "graph-cli",
        GRAPH_CLI_APP_ID,
        "Microsoft Graph Command Line Tools",
        GRAPH_APP_ID,
        REST_CLIENT_INFO,
        "Mobile Apps and Desktop clients",
        PWSH_UA,
        "Windows10",
        "",
        GRAPH_APP_ID,
        "Microsoft Graph",
    ),
}

FIRST_NAMES = (
    "alex",
    "maria",
    "james",
    "priya",
    "daniel",
    "sofia",
    "michael",
    "aisha",
    "robert",
    "elena",
    "david",
    "hannah",
    "thomas",
    "yuki",
    "william",
    "chloe",
    "samuel",
    "fatima",
    "george",
    "nora",
    "peter",
    "grace",
    "lucas",
    "amelia",
    "oliver",
    "ines",
    "kevin",
    "laura",
    "omar",
    "julia",
)
LAST_NAMES = (
    "smith",
    "garcia",
    "chen",
    "patel",
    "johnson",
    "novak",
    "williams",
    "kim",
    "brown",
    "rossi",
    "miller",
    "nguyen",
    "davis",
    "okafor",
    "wilson",
    "silva",
    "moore",
    "tanaka",
    "taylor",
    "berg",
    "anderson",
    "hughes",
    "thomas",
    "kowalski",
    "jackson",
    "murphy",
    "white",
    "schmidt",
    "lee",
)
EXTERNAL_DOMAINS = (
    "mail.gmail.com",
    "fabrikam.com",
    "northwindtraders.com",
    "adatum.com",
    "litware.com",
    "notifications.github.com",
    "email.linkedin.com",
    "tailspintoys.com",
)
SUBJECTS = (
    "Re: Q3 forecast",
    "Weekly sync notes",
    "Re: contract draft v3",
    "Invoice 4471",
    "Lunch?",
    "Re: board deck",
    "FW: customer escalation",
    "Travel itinerary",
    "Re: hiring plan",
    "Updated roadmap",
    "Re: budget approval",
    "Meeting follow-up",
)


@dataclass(frozen=True)
class Place:
    """A sign-in location as Entra reports it."""

    city: str
    state: str
    country: str
    latitude: float
    longitude: float


OFFICE_PLACE = Place("London", "England", "GB", 51.5072, -0.1276)
DATACENTER_PLACE = Place("London", "England", "GB", 51.5072, -0.1276)
HOME_PLACES = (
    OFFICE_PLACE,
    Place("Reading", "England", "GB", 51.4543, -0.9781),
    Place("Croydon", "England", "GB", 51.3762, -0.0982),
    Place("Watford", "England", "GB", 51.6565, -0.3903),
    Place("Guildford", "England", "GB", 51.2362, -0.5704),
)
TRAVEL_PLACE = Place("Berlin", "Berlin", "DE", 52.52, 13.405)


@dataclass(frozen=True)
class Endpoint:
    """A network vantage point: the address a client connects from and where it is."""

    ip: str
    place: Place


def home_ip(rng: random.Random) -> str:
    """A residential ISP address (IPv4 or IPv6)."""
    if rng.random() < 0.3:
        groups = ":".join(f"{rng.getrandbits(16):x}" for _ in range(3))
        return f"2a00:23c{rng.randint(4, 7)}:{groups}::{rng.getrandbits(16):x}"
    first = rng.choice((86, 81, 82, 90, 109))
    return f"{first}.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def office_ip(rng: random.Random) -> str:
    """The office NAT address everybody at the office shares."""
    return f"62.{rng.randint(100, 200)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def carrier_ip(rng: random.Random) -> str:
    """A mobile carrier address."""
    return f"148.252.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def travel_ip(rng: random.Random) -> str:
    """A hotel/ISP address in the travel country."""
    return f"91.{rng.randint(32, 63)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def vps_ip(rng: random.Random) -> str:
    """A rented virtual private server: where the attacker operates from."""
    prefix = rng.choice(("45.77", "149.28", "207.148"))
    return f"{prefix}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
