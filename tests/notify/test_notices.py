"""Notices: one folder per affected tenant, none for the others, nothing of another tenant in
a folder, no links, the golden Markdown notice, the HTML's policy, the evidence files."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
import stix2

from mailhunt.notify import FILES, folder_name, write_notices
from mailhunt.store.db import Store
from tests.helpers import GOLDEN, UPDATE_GOLDEN
from tests.notify.world import ALPHA, BRAVO, BRAVO_ONLY_IP, CHARLIE, CHARLIE_IP, DELTA, build

HOSTILE = (
    "=HYPERLINK(\"https://evil.example/x\")'; Start-Process calc; '`$(whoami)` <b>www.evil.example"
)


def tenant_values(store: Store, tenant: str) -> set[str]:
    """Every identifier a tenant's own data holds: its id, UPNs, record, session and message
    ids, addresses, its incidents' and its own alerts' ids."""
    rows = store.query(
        """
        SELECT DISTINCT v FROM (
            SELECT unnest([record_id, mailbox_upn, actor_upn, aad_session_id, client_ip]) AS v
            FROM events WHERE tenant_id = $1
            UNION ALL SELECT unnest([record_id, user_upn, session_id, client_ip]) FROM signins
            WHERE tenant_id = $1
            UNION ALL SELECT internet_message_id FROM mail_items WHERE tenant_id = $1
            UNION ALL SELECT id FROM incidents WHERE list_contains(tenant_ids, $1)
            UNION ALL SELECT id FROM alerts WHERE tenant_ids = [$1]
        ) WHERE v IS NOT NULL AND v <> ''
        """,
        [tenant],
    )
    return {str(r[0]) for r in rows} | {tenant}


def folder_texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted(folder.iterdir())}


def test_one_folder_per_affected_tenant(notices: Path) -> None:
    assert sorted(p.name for p in notices.iterdir()) == sorted(
        [folder_name(ALPHA), folder_name(BRAVO)]
    )
    for folder in notices.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert not list(notices.rglob(".*"))  # no temp file left


def test_false_positive_and_unaffected_tenants_get_no_folder(notices: Path) -> None:
    names = {p.name for p in notices.iterdir()}
    assert folder_name(CHARLIE) not in names  # its only incident is marked false-positive
    assert folder_name(DELTA) not in names  # no incident at all


@pytest.mark.parametrize("hostile", [None, HOSTILE], ids=["clean", "hostile"])
def test_no_folder_names_another_tenants_data(tmp_path: Path, hostile: str | None) -> None:
    with Store.open(None) as store:
        build(store, hostile)
        write_notices(store, tmp_path)
        values = {t: tenant_values(store, t) for t in (ALPHA, BRAVO, CHARLIE, DELTA)}
    assert BRAVO_ONLY_IP in values[BRAVO]
    assert CHARLIE_IP in values[CHARLIE]
    for own in (ALPHA, BRAVO):
        texts = folder_texts(tmp_path / folder_name(own))
        for other, theirs in values.items():
            if other == own:
                continue
            foreign = theirs - values[own]  # what only the other tenant holds
            for name, text in texts.items():
                leaked = sorted(v for v in foreign if v in text)
                assert not leaked, f"{own}'s {name} names {other}'s {leaked}"
            assert all("alert-campaign" not in text for text in texts.values())


def test_a_campaign_is_a_count(notices: Path) -> None:
    for tenant in (ALPHA, BRAVO):
        text = (notices / folder_name(tenant) / "notice.md").read_text("utf-8")
        assert "The same actor was seen in 1 other organisation(s)." in text


_LINKS = re.compile(r"(?i)://|\bhref\b|\bsrc\s*=|\bwww\.|\bmailto:|\burl\(|@import")


@pytest.mark.parametrize("hostile", [None, HOSTILE], ids=["clean", "hostile"])
def test_no_links(tmp_path: Path, hostile: str | None) -> None:
    """No link in any notice, whatever the evidence holds; in the evidence files only where
    the evidence itself holds one (they are exact)."""
    with Store.open(None) as store:
        build(store, hostile)
        write_notices(store, tmp_path)
    for folder in tmp_path.iterdir():
        for name, text in folder_texts(folder).items():
            if hostile is None or name.startswith("notice."):
                assert not _LINKS.search(text), (folder.name, name, _LINKS.search(text))


def _golden_text(name: str, text: str) -> None:
    path = GOLDEN / "notify" / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8"), f"differs from {path} (MAILHUNT_UPDATE_GOLDEN=1)"


def test_golden_notices(notices: Path) -> None:
    for tenant in (ALPHA, BRAVO):
        text = (notices / folder_name(tenant) / "notice.md").read_text("utf-8")
        _golden_text(f"{folder_name(tenant)}.notice.md", text)


def test_html_policy(notices: Path) -> None:
    html = (notices / folder_name(ALPHA) / "notice.html").read_text("utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert policy is not None
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert policy.group(1).startswith("default-src 'none'; ")
    assert f"style-src 'sha256-{digest}'" in policy.group(1)
    assert "unsafe" not in policy.group(1)
    assert "script-src" not in policy.group(1)
    assert "<script" not in html.lower()
    assert not re.search(r"(?i)<[^>]+\son\w+\s*=", html)  # no event handler attribute
    assert "Remove-InboxRule -Mailbox &#39;ann@alpha.example&#39;" in html


def test_hostile_values_are_data_in_html(tmp_path: Path) -> None:
    with Store.open(None) as store:
        build(store, "<script>alert(1)</script><img src=x onerror=alert(2)>")
        write_notices(store, tmp_path)
    html = (tmp_path / folder_name(ALPHA) / "notice.html").read_text("utf-8")
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_evidence_files(notices: Path) -> None:
    folder = notices / folder_name(ALPHA)
    records = list(csv.DictReader(io.StringIO((folder / "evidence.csv").read_text("utf-8"))))
    assert {r["tenant_id"] for r in records} == {ALPHA}
    assert "rec-alpha-4" in {r["record_id"] for r in records}
    messages = list(csv.DictReader(io.StringIO((folder / "messages.csv").read_text("utf-8"))))
    assert sorted(m["internet_message_id"] for m in messages) == [
        f"<alpha-msg-{n}@alpha.example>" for n in (1, 2, 3)
    ]
    bundle = stix2.parse((folder / "indicators.stix.json").read_text("utf-8"), allow_custom=False)
    names = {o.name for o in bundle.objects if o.type == "identity"}
    assert names == {"mailhunt", ALPHA}
    patterns = {o.pattern for o in bundle.objects if o.type == "indicator"}
    assert "[ipv4-addr:value = '203.0.113.66']" in patterns


def test_evidence_csv_cells_are_guarded(tmp_path: Path) -> None:
    with Store.open(None) as store:
        build(store, HOSTILE)
        write_notices(store, tmp_path)
    text = (tmp_path / folder_name(ALPHA) / "messages.csv").read_text("utf-8")
    folders = {row["folder_path"] for row in csv.DictReader(io.StringIO(text))}
    assert "'" + HOSTILE in folders  # the formula-leading folder name, neutralised
    assert HOSTILE not in folders


def test_one_incident(world: Store, tmp_path: Path) -> None:
    [bravo] = list(world.query("SELECT id FROM incidents WHERE tenant_ids = [$1]", [BRAVO]))
    written = write_notices(world, tmp_path, incident_id=bravo[0])
    assert [r.tenant_id for r in written] == [BRAVO]
    assert [p.name for p in tmp_path.iterdir()] == [folder_name(BRAVO)]


def test_stix_bundle_is_json(notices: Path) -> None:
    for folder in notices.iterdir():
        json.loads((folder / "indicators.stix.json").read_text("utf-8"))
