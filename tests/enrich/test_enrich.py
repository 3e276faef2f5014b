"""IP enrichment: look-ups merged across databases, ip_info written once per address, errors,
the curated list, and `mailhunt detect --geoip`."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.enrich import IpInfo, enrich_ips, kinds, lookup, open_databases
from mailhunt.errors import InputError
from mailhunt.ingest import ingest
from mailhunt.store.db import Store
from tests.enrich.world import write_world
from tests.helpers import OUTLOOK, at, mail_access, signin_record, write_jsonl

ALICE = "alice@contoso.onmicrosoft.com"
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_world(tmp_path_factory.mktemp("world"))


def test_lookup_merges_the_databases(world: tuple[Path, Path]) -> None:
    readers = open_databases(world)
    assert lookup(readers, "45.77.12.34") == IpInfo(
        "45.77.12.34", "US", 20473, "AS-CHOOPA", "hosting"
    )
    assert lookup(readers, "193.138.218.9") == IpInfo(
        "193.138.218.9", "SE", 39351, "31173 Services AB", "vpn"
    )
    assert lookup(readers, "2a00:23c5:1:2::3") == IpInfo(
        "2a00:23c5:1:2::3", "GB", 2856, "British Telecommunications PLC", None
    )
    assert lookup(readers, "10.1.2.3") is None  # no database knows it
    assert lookup(readers, "not an address") is None


def test_country_database_alone_gives_the_country(world: tuple[Path, Path]) -> None:
    [country] = open_databases(world[:1])
    assert lookup([country], "91.40.1.2") == IpInfo("91.40.1.2", "DE", None, None, None)


def test_kinds_from_anonymous_ip_flags_and_names() -> None:
    assert kinds.from_record({"is_anonymous_vpn": True, "is_hosting_provider": True}) == "vpn"
    assert kinds.from_record({"traits": {"is_tor_exit_node": True}}) == "tor"
    assert kinds.from_record({"traits": {"user_type": "cellular"}}) == "residential"
    assert kinds.from_asn(64512, "Example Cloud Hosting GmbH") == "hosting"
    assert kinds.from_asn(64512, "Example VPN Ltd") == "vpn"
    assert kinds.from_asn(64512, "Example Broadband") is None
    assert kinds.strongest("hosting", None, "tor") == "tor"


def test_curated_list_cites_a_source_for_every_line() -> None:
    text = (Path(kinds.__file__).parent / "network_kinds.csv").read_text("utf-8")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert rows
    assert all(row["source"].startswith("https://") for row in rows)
    assert {row["kind"] for row in rows} <= set(kinds.KINDS)
    assert kinds.curated()[20473] == "hosting"


def stored(store: Store, tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "in" / "ual.jsonl",
        [
            mail_access("a1", at(1), ALICE, OUTLOOK, ip="45.77.12.34:443"),
            mail_access("a2", at(2), ALICE, OUTLOOK, ip="[2a00:23c5:1:2::3]:8443"),
            mail_access("a3", at(3), ALICE, OUTLOOK, ip="10.1.2.3"),
        ],
    )
    write_jsonl(
        tmp_path / "in" / "signins.jsonl",
        [signin_record("s1", at(1), ALICE, OUTLOOK, ip="45.77.12.34")],
    )
    ingest(store, [tmp_path / "in"])


def test_enrich_writes_each_known_address_once(
    store: Store, tmp_path: Path, world: tuple[Path, Path]
) -> None:
    stored(store, tmp_path)
    first = enrich_ips(store, world, now=WHEN)
    assert (first.databases, first.looked_up, first.enriched) == (
        ("GeoLite2-Country", "GeoLite2-ASN"),
        3,
        2,
    )
    rows = store.query("SELECT * FROM ip_info ORDER BY ip")
    assert rows == [
        ("2a00:23c5:1:2::3", "GB", 2856, "British Telecommunications PLC", None, WHEN),
        ("45.77.12.34", "US", 20473, "AS-CHOOPA", "hosting", WHEN),
    ]
    again = enrich_ips(store, world)  # only the address nobody knows is looked up again
    assert (again.looked_up, again.enriched) == (1, 0)
    assert store.count("ip_info") == 2


def test_a_file_that_is_not_a_database_is_an_input_error(store: Store, tmp_path: Path) -> None:
    bogus = tmp_path / "GeoLite2-ASN.mmdb"
    bogus.write_text("not a MaxMind database", "utf-8")
    with pytest.raises(InputError, match=r"cannot read GeoIP database .*GeoLite2-ASN\.mmdb"):
        enrich_ips(store, [bogus])
    with pytest.raises(InputError, match="cannot read GeoIP database"):
        enrich_ips(store, [tmp_path / "missing.mmdb"])


def test_detect_geoip_enriches_before_the_analytics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, world: tuple[Path, Path]
) -> None:
    db = tmp_path / "m.duckdb"
    with Store.open(db) as store:
        stored(store, tmp_path)
    argv = ["detect", "--db", str(db), "--geoip", str(world[0]), "--geoip", str(world[1])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "IP enrichment (GeoLite2-Country, GeoLite2-ASN): 2 of 3 new address(es) known" in out
    with Store.open(db, create=False) as store:
        assert store.count("ip_info") == 2
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_text("x", "utf-8")
    assert main(["detect", "--db", str(db), "--geoip", str(bogus)]) != 0
