"""Small MaxMind-format databases for the tests, written with mmdb-writer.

``write_world(folder)`` writes a GeoLite2-Country-shaped and a GeoLite2-ASN-shaped database
covering the simulated tenant's address space (``simulate/catalog.py`` and the attack and noise
modules): British home, office and carrier networks, a German hotel network, Azure (the
archiver), Vultr (the attacker's servers) and a commercial VPN. Record shapes follow MaxMind's
documentation (https://dev.maxmind.com/geoip/docs/databases/city-and-country,
https://dev.maxmind.com/geoip/docs/databases/asn).
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MmdbU32, MMDBWriter
from netaddr import IPSet

# network, country, ASN, AS organisation (as GeoLite2-ASN names them)
NETWORKS: tuple[tuple[str, str, int, str], ...] = (
    ("86.0.0.0/8", "GB", 5089, "Virgin Media Limited"),
    ("81.0.0.0/8", "GB", 2856, "British Telecommunications PLC"),
    ("82.0.0.0/8", "GB", 5607, "Sky UK Limited"),
    ("90.0.0.0/8", "GB", 2856, "British Telecommunications PLC"),
    ("109.0.0.0/8", "GB", 5607, "Sky UK Limited"),
    ("2a00:2380::/25", "GB", 2856, "British Telecommunications PLC"),
    ("62.0.0.0/8", "GB", 5413, "Daisy Communications Ltd"),
    ("148.252.0.0/16", "GB", 35228, "Telefonica UK Limited"),
    ("91.32.0.0/11", "DE", 3320, "Deutsche Telekom AG"),
    ("20.0.0.0/8", "GB", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"),
    ("45.77.0.0/16", "US", 20473, "AS-CHOOPA"),
    ("149.28.0.0/16", "SG", 20473, "AS-CHOOPA"),
    ("207.148.0.0/16", "NL", 20473, "AS-CHOOPA"),
    ("185.213.154.0/24", "SE", 39351, "31173 Services AB"),
    ("193.138.218.0/24", "SE", 39351, "31173 Services AB"),
    ("203.0.113.0/24", "GB", 64500, "Documentation Broadband Ltd"),
    ("198.51.100.0/24", "GB", 64501, "Documentation Mobile Ltd"),
)


def write_country(path: Path, networks: tuple[tuple[str, str, int, str], ...] = NETWORKS) -> Path:
    writer = MMDBWriter(6, "GeoLite2-Country", languages=["en"], ipv4_compatible=True)
    for network, country, _, _ in networks:
        writer.insert_network(
            IPSet([network]),
            {"country": {"iso_code": country, "names": {"en": country}}, "continent": {}},
        )
    writer.to_db_file(str(path))
    return path


def write_asn(path: Path, networks: tuple[tuple[str, str, int, str], ...] = NETWORKS) -> Path:
    writer = MMDBWriter(6, "GeoLite2-ASN", languages=["en"], ipv4_compatible=True)
    for network, _, asn, org in networks:
        writer.insert_network(
            IPSet([network]),
            {"autonomous_system_number": MmdbU32(asn), "autonomous_system_organization": org},
        )
    writer.to_db_file(str(path))
    return path


def write_world(folder: Path) -> tuple[Path, Path]:
    """The country and the ASN database of the simulated world, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_country(folder / "country.mmdb"), write_asn(folder / "asn.mmdb")
