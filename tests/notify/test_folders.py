"""Tenant folder names: a slug no tenant id can turn into a path out of DIR."""

from __future__ import annotations

import pytest

from mailhunt.notify import folder_name
from tests.injection_world import load_corpus

NAMES = [
    "contoso.onmicrosoft.com",
    "bbbbbbbb-0000-4000-8000-00000000b0b0",
    "BBBBBBBB-0000-4000-8000-00000000B0B0",
    "../../etc/passwd",
    "/abs/path",
    "..",
    ".",
    "",
    "-rf",
    ".hidden",
    "CON",
    "nul.txt",
    "a" * 300,
    "tenant\x00nul",
    "tenant\nline",
    "\u202eevil",
    "C:\\Windows",
    "日本",
    "\udcff",
]


@pytest.mark.parametrize("name", NAMES + list(load_corpus("paths").values()))
def test_a_slug_is_one_safe_name(name: str) -> None:
    slug = folder_name(name)
    assert 0 < len(slug) <= 64 + 13
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in slug)
    assert slug[0] not in ".-"
    assert slug not in {".", ".."}
    assert slug == folder_name(name)  # stable


def test_distinct_ids_get_distinct_folders() -> None:
    slugs = [folder_name(n) for n in NAMES]
    assert len(set(slugs)) == len(slugs)


def test_a_plain_id_is_its_own_name() -> None:
    assert folder_name("contoso.onmicrosoft.com") == "contoso.onmicrosoft.com"
    assert folder_name("BBBB").startswith("bbbb-")  # changed: the id's hash makes it unique
