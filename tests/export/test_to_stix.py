"""STIX export: a bundle parsing back with stix2 (no custom content), deterministic ids,
patterns whose string literals survive hostile values."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stix2
from stix2patterns.pattern import Pattern

from mailhunt.export import export_files
from mailhunt.export.to_stix import quoted
from mailhunt.store.db import Store
from tests.export.world import AGENT, ATTACKER_IP, ATTACKER_IP6, build
from tests.helpers import ROGUE_APP, check_golden

HOSTILE = [
    "it's",
    "back\\slash",
    "\\'",
    "'] OR [ipv4-addr:value = '1.2.3.4",
    "ends with \\",
    "tab\tnew\nline",
    "\u202eevil",
    "=cmd|' /C calc'!A0",
]


def text(store: Store) -> str:
    _, files = export_files(store, "stix", "alerts")
    assert files[0].name == "alerts.stix.json"
    return files[0].text


def objects(bundle: Any, kind: str) -> list[Any]:
    return [o for o in bundle.objects if o.type == kind]


def test_golden(world: Store) -> None:
    check_golden("export/alerts.stix.json", json.loads(text(world)))


def test_parses_without_custom_content(world: Store) -> None:
    bundle = stix2.parse(text(world), allow_custom=False)
    patterns = sorted(i.pattern for i in objects(bundle, "indicator"))
    assert f"[ipv4-addr:value = '{ATTACKER_IP}']" in patterns
    assert f"[ipv6-addr:value = '{ATTACKER_IP6}']" in patterns
    assert f"[software:name = '{ROGUE_APP}']" in patterns
    user_agent = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
    assert f"[{user_agent} = '{AGENT}']" in patterns
    creator = objects(bundle, "identity")[0]
    assert creator.name == "mailhunt"
    assert all(i.created_by_ref == creator.id for i in objects(bundle, "indicator"))
    for sighting in objects(bundle, "sighting"):
        assert sighting.first_seen <= sighting.last_seen
        assert sighting.where_sighted_refs


def test_deterministic(world: Store) -> None:
    with Store.open(None) as again:
        build(again)
        assert text(again) == text(world)


@pytest.mark.parametrize("value", HOSTILE)
def test_pattern_literal_round_trips(value: str) -> None:
    pattern = f"[software:name = {quoted(value)}]"
    stix2.Indicator(pattern=pattern, pattern_type="stix", valid_from="2024-01-01T00:00:00Z")
    (((_, _, literal),),) = Pattern(pattern).inspect().comparisons.values()
    assert literal == quoted(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_parse_back(value: str) -> None:
    with Store.open(None) as store:
        build(store, hostile=value)
        exported = text(store)
    assert exported.isascii()
    bundle = stix2.parse(exported, allow_custom=False)
    names = {i.name for i in objects(bundle, "indicator")}
    assert f"Client application {value}" in names
    assert f"User agent {value}" in names
