"""Indicator lists: the shipped Storm-0558 set, STIX 2.1 bundles, CSV; bad entries skipped."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from mailhunt.errors import InputError
from mailhunt.intel import BUILTIN, Indicator, builtin_lists, read_indicator_file
from mailhunt.intel.load import normalise


def test_the_shipped_storm_0558_list_cites_its_source() -> None:
    [listing] = builtin_lists()
    assert listing.source == BUILTIN
    assert listing.skipped == {}
    kinds = {i.kind for i in listing.indicators}
    assert kinds == {"ip", "signing_key"}
    ips = [i for i in listing.indicators if i.kind == "ip"]
    assert len(ips) == 35
    assert (
        Indicator(
            "ip",
            "51.89.156.153",
            "Storm-0558 SoftEther proxy",
            "https://www.microsoft.com/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/",
            date(2023, 3, 9),
            date(2023, 7, 10),
        )
        in ips
    )


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ip", " 203.0.113[.]7 ", "203.0.113.7"),
        ("ip", "2001:DB8:0:0::1", "2001:db8::1"),
        ("ip", "203.0.113", None),
        ("app_id", "E5F6A7B8-C9D0-4E1F-8A2B-3C4D5E6F7A8B", "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"),
        ("app_id", "not-a-guid", None),
        ("email", "Ceo@Contoso.com", "ceo@contoso.com"),
        ("email", "ceo", None),
        ("domain", "Evil.Example.", "evil.example"),
        ("user_agent", "python-requests/2.31", "python-requests/2.31"),
        ("nonsense", "x", None),
        ("ip", "", None),
    ],
)
def test_values_are_normalised_or_refused(kind: str, value: str, expected: str | None) -> None:
    assert normalise(kind, value) == expected


def bundle(*objects: dict[str, object]) -> dict[str, object]:
    return {
        "type": "bundle",
        "id": "bundle--6f0b0d3b-6a1c-4c8e-9f11-2f3b1f0f8a11",
        "objects": list(objects),
    }


def indicator(pattern: str, **extra: object) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
        **extra,
    }


def test_stix_bundle_patterns_and_observables(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        json.dumps(
            bundle(
                indicator(
                    "[ipv4-addr:value = '198.51.100.23'] OR [domain-name:value = 'evil.example']",
                    name="token panel",
                ),
                indicator("[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
                indicator("[file:name = 'invoice.exe']"),
                indicator("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '5.6.7.8']"),
                indicator("this is not a pattern"),
                {
                    "type": "ipv6-addr",
                    "spec_version": "2.1",
                    "id": "ipv6-addr--1e9d1b5c-8bd4-5d2f-8a3a-5b6a6f3f6a01",
                    "value": "2001:db8::7",
                },
                {
                    "type": "malware",
                    "spec_version": "2.1",
                    "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
                    "created": "2024-01-01T00:00:00.000Z",
                    "modified": "2024-01-01T00:00:00.000Z",
                    "name": "x",
                    "is_family": False,
                },
            )
        )
    )
    listing = read_indicator_file(path)
    assert listing.source == "feed.json"
    assert [(i.kind, i.value, i.description) for i in listing.indicators] == [
        ("ip", "198.51.100.23", "token panel"),
        ("domain", "evil.example", "token panel"),
        ("ip", "2001:db8::7", None),
    ]
    assert listing.indicators[0].first_seen == date(2024, 1, 1)
    assert listing.skipped == {
        "comparison mailhunt cannot match": 2,
        "pattern with qualifiers or FOLLOWEDBY/AND": 1,
        "invalid STIX object": 1,
    }


def test_csv_list(tmp_path: Path) -> None:
    path = tmp_path / "iocs.csv"
    path.write_text(
        "Type,Value,Description\n"
        "ip,203.0.113.9,panel\n"
        "user-agent,BadClient/1.0,tool\n"
        "app_id,5e0b6c1d-2f3a-4b5c-8d7e-9f0a1b2c3d4e,\n"
        "hash,abc,\n"
        "ip,999.1.1.1,\n",
        encoding="utf-8",
    )
    listing = read_indicator_file(path)
    assert [(i.kind, i.value) for i in listing.indicators] == [
        ("ip", "203.0.113.9"),
        ("user_agent", "badclient/1.0"),
        ("app_id", "5e0b6c1d-2f3a-4b5c-8d7e-9f0a1b2c3d4e"),
    ]
    assert listing.skipped == {"unknown type": 1, "invalid value": 1}


@pytest.mark.parametrize("content", ["{not json", '{"type": "indicator"}', "a,b\n1,2\n", ""])
def test_files_that_are_no_list_are_one_line_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_indicator_file(path)
    assert "\n" not in str(error.value)
