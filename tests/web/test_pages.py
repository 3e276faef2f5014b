"""Every page and its JSON twin over the simulator's test bed: what each shows is what the
library functions the command line calls return."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mailhunt.alerts.query import list_alerts
from mailhunt.investigate.evidence import original_bytes
from mailhunt.investigate.incidents import list_incidents
from mailhunt.store.db import Store
from tests.report.html_checks import parse

PAGES = ["/", "/alerts", "/incidents", "/rules", "/ingest"]
TWINS = ["/api/overview", "/api/alerts", "/api/incidents", "/api/rules", "/api/ingest"]


@pytest.fixture(scope="session")
def facts(demo_db: Path) -> dict[str, object]:
    with Store.open(demo_db, create=False, read_only=True) as store:
        alerts = list_alerts(store)
        [incident] = list_incidents(store)
        return {"alerts": alerts, "incident": incident}


def _links(html: str) -> list[str]:
    return [str(e.attrs["href"]) for e in parse(html).elements if e.tag == "a"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_the_nav_and_stylesheet(demo: TestClient, path: str) -> None:
    response = demo.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = _links(response.text)
    assert {"/", "/alerts", "/incidents", "/rules", "/ingest"} <= set(links)
    assert all(link.startswith("/") for link in links)  # nothing leaves the server


@pytest.mark.parametrize("path", TWINS)
def test_every_json_twin_is_json(demo: TestClient, path: str) -> None:
    response = demo.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_overview_charts_and_lists_what_the_store_holds(demo: TestClient, facts: dict) -> None:
    twin = demo.get("/api/overview").json()
    assert sum(d["count"] for d in twin["alerts_per_day"]) == len(facts["alerts"])
    assert [i["id"] for i in twin["incidents"]] == [facts["incident"].id]
    assert [t["tenant_id"] for t in twin["tenants"]] == facts["incident"].tenant_ids
    assert {s["format"] for s in twin["sources"]} == {"m365-ual-json", "entra-signins-graph"}
    html = demo.get("/").text
    assert html.count("<svg") == 2  # alerts and incidents per day
    assert facts["incident"].id in html


def test_alert_pages_walk_every_alert_by_cursor(demo: TestClient, facts: dict) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = demo.get("/api/alerts", params=params).json()
        seen += [a["id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    newest_first = sorted(facts["alerts"], key=lambda a: (a.first_seen, a.id), reverse=True)
    assert seen == [a.id for a in newest_first]
    assert page["total"] == len(seen)


def test_alert_filters(demo: TestClient, facts: dict) -> None:
    alert = facts["alerts"][0]
    mailbox, ip = alert.mailboxes[0], alert.client_ips[0]

    def ids(**params: str) -> set[str]:
        found = demo.get("/api/alerts", params=params | {"limit": 500}).json()
        return {a["id"] for a in found["alerts"]}

    assert ids(mailbox=mailbox.upper()) == {a.id for a in facts["alerts"] if mailbox in a.mailboxes}
    assert ids(ip=ip) == {a.id for a in facts["alerts"] if ip in a.client_ips}
    assert ids(ip="10.0.0.0/8") == set()
    assert ids(rule=alert.rule_id) == {a.id for a in facts["alerts"] if a.rule_id == alert.rule_id}
    assert ids(severity="critical") == {a.id for a in facts["alerts"] if a.severity == "critical"}
    assert ids(until="2000-01-01") == set()
    html = demo.get("/alerts", params={"mailbox": mailbox}).text
    assert f'value="{mailbox}"' in html  # the filter form keeps what was given


@pytest.mark.parametrize(
    ("params", "status"),
    [({"cursor": "not-a-cursor"}, 400), ({"ip": "no address"}, 400), ({"severity": "x"}, 422)],
)
def test_bad_alert_filters_are_one_line_errors(demo: TestClient, params: dict, status: int) -> None:
    assert demo.get("/api/alerts", params=params).status_code == status
    page = demo.get("/alerts", params=params)
    assert page.status_code == status
    assert "Error" in page.text


def test_alert_page_links_incident_evidence_and_timelines(demo: TestClient, facts: dict) -> None:
    alert = facts["alerts"][0]
    links = _links(demo.get(f"/alerts/{alert.id}").text)
    assert f"/incidents/{facts['incident'].id}" in links
    assert f"/records/{alert.event_ids[0]}" in links
    assert any(link.startswith("/timeline/mailbox?value=") for link in links)
    twin = demo.get(f"/api/alerts/{alert.id}").json()
    assert twin["incident_ids"] == [facts["incident"].id]
    assert demo.get("/api/alerts/nope").status_code == 404


def test_incident_page_shows_the_blast_radius(demo: TestClient, facts: dict) -> None:
    incident = facts["incident"]
    twin = demo.get(f"/api/incidents/{incident.id}").json()
    radius = twin["radius"]
    assert radius["incident"]["id"] == incident.id
    assert {m["mailbox_upn"] for m in radius["mailboxes"]} == set(incident.mailboxes)
    assert twin["notices"] == incident.tenant_ids
    html = demo.get(f"/incidents/{incident.id}").text
    for mailbox in incident.mailboxes:
        assert f"/timeline/mailbox?value={mailbox.replace('@', '%40')}" in html
    assert demo.get("/incidents/INC-NONE").status_code == 404


def test_notice_download_is_the_tenant_folder(demo: TestClient, facts: dict) -> None:
    incident = facts["incident"]
    tenant = incident.tenant_ids[0]
    response = demo.get(f"/api/incidents/{incident.id}/notices/{tenant}")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(n.split("/", 1)[1] for n in names) == sorted(
        ["notice.md", "notice.html", "evidence.csv", "messages.csv", "indicators.stix.json"]
    )
    assert demo.get(f"/api/incidents/{incident.id}/notices/other").status_code == 404


def test_timeline_pages_and_pivots(demo: TestClient, facts: dict) -> None:
    alert = facts["alerts"][0]
    twin = demo.get("/api/timeline/mailbox", params={"value": alert.mailboxes[0]}).json()
    assert twin["rows"]
    assert twin["sessions"]
    html = demo.get("/timeline/mailbox", params={"value": alert.mailboxes[0]}).text
    links = _links(html)
    assert any(link.startswith("/timeline/ip?value=") for link in links)
    assert any(link.startswith("/records/") for link in links)
    ip = demo.get("/api/timeline/ip", params={"value": alert.client_ips[0]}).json()
    assert {r["client_ip"] for r in ip["rows"]} == {alert.client_ips[0]}
    assert demo.get("/timeline/ip", params={"value": "not-an-ip"}).status_code == 400
    assert demo.get("/timeline/bogus", params={"value": "x"}).status_code == 422


def test_record_page_and_exact_bytes(demo: TestClient, demo_db: Path, facts: dict) -> None:
    record = facts["alerts"][0].event_ids[0]
    with Store.open(demo_db, create=False, read_only=True) as store:
        expected = original_bytes(store, record).data
    assert demo.get(f"/records/{record}/raw").content == expected
    assert demo.get(f"/api/records/{record}").json()["available"] is True
    assert record in demo.get(f"/records/{record}").text
    assert demo.get("/api/records/none").status_code == 404


def test_rules_and_ingest_pages(demo: TestClient, facts: dict) -> None:
    rules = demo.get("/api/rules").json()
    counted = {a["id"]: a["alerts"] for a in rules["analytics"] if a["alerts"]}
    assert sum(counted.values()) == len(facts["alerts"])
    ingest = demo.get("/api/ingest").json()
    assert "ingested" in {r["status"] for r in ingest["runs"]}
    assert "token-without-signin" in demo.get("/rules").text
