"""The security lines: token (401), Host (403), CSRF and Origin on writes (403), headers on
every answer; and the writes themselves, journalled with the server's author."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mailhunt.alerts.suppressions import list_suppressions
from mailhunt.investigate.incidents import get_incident, list_incidents
from mailhunt.store.db import Store
from mailhunt.web import Settings, create_app
from mailhunt.web.security import CSP
from tests.web.conftest import AUTHOR, BASE, PORT, TOKEN, client, settings

HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


@pytest.fixture(scope="module")
def anonymous(demo_db: Path) -> TestClient:
    return TestClient(create_app(settings(demo_db)), base_url=BASE, follow_redirects=False)


def _has_headers(response: object) -> None:
    for name, value in HEADERS.items():
        assert response.headers[name] == value  # type: ignore[attr-defined]
    assert "frame-ancestors 'none'" in CSP
    assert "script-src" not in CSP


@pytest.mark.parametrize("path", ["/", "/api/alerts", "/api/openapi.json", "/static/web.css"])
def test_no_token_is_401(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 401
    assert TOKEN not in response.text
    _has_headers(response)


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Cookie": "x=1"}],
)
def test_wrong_token_is_401(anonymous: TestClient, headers: dict[str, str]) -> None:
    assert anonymous.get("/", headers=headers).status_code == 401
    assert anonymous.get("/", params={"token": "wrong"}).status_code == 401


def test_token_in_the_url_becomes_a_strict_cookie_and_leaves_the_url(demo_db: Path) -> None:
    fresh = TestClient(create_app(settings(demo_db)), base_url=BASE, follow_redirects=False)
    response = fresh.get("/alerts", params={"token": TOKEN, "severity": "high"})
    assert response.status_code == 303
    assert response.headers["location"] == "/alerts?severity=high"
    cookie = response.headers["set-cookie"]
    assert f"mailhunt_token_{PORT}={TOKEN}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert fresh.get("/alerts", params={"severity": "high"}).status_code == 200  # the cookie


@pytest.mark.parametrize(
    "host", ["evil.example:8765", "127.0.0.1:9999", "127.0.0.1", "attacker.localhost:8765"]
)
def test_wrong_host_is_403_even_with_the_token(demo: TestClient, host: str) -> None:
    response = demo.get("/", headers={"Host": host})
    assert response.status_code == 403
    _has_headers(response)


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"])
def test_loopback_names_are_accepted(demo: TestClient, host: str) -> None:
    assert demo.get("/", headers={"Host": host}).status_code == 200


def test_a_non_loopback_bind_accepts_only_its_own_name(tmp_path: Path) -> None:
    found = Settings(db=tmp_path / "x", token=TOKEN, host="192.0.2.10", port=80)
    assert found.allowed_hosts == {"192.0.2.10", "192.0.2.10:80"}


@pytest.mark.parametrize("path", ["/", "/alerts", "/api/overview", "/nothing-here"])
def test_headers_on_every_answer(demo: TestClient, path: str) -> None:
    _has_headers(demo.get(path))


def test_no_script_and_no_swagger(demo: TestClient) -> None:
    assert demo.get("/docs").status_code == 404  # Swagger UI would load script from a CDN
    assert demo.get("/redoc").status_code == 404
    for path in ("/", "/alerts", "/incidents", "/rules", "/ingest"):
        assert "<script" not in demo.get(path).text


def _incident_id(db: Path) -> str:
    with Store.open(db, create=False, read_only=True) as store:
        return list_incidents(store)[0].id


def test_status_set_with_csrf_is_journalled(demo_copy: Path) -> None:
    incident = _incident_id(demo_copy)
    with client(demo_copy, Origin=BASE) as web:
        csrf = settings(demo_copy).csrf_token
        form = {"csrf": csrf, "status": "investigating", "note": "<b>seen</b>", "assignee": "kim"}
        response = web.post(f"/incidents/{incident}/set", data=form)
        assert response.status_code == 303
        assert response.headers["location"] == f"/incidents/{incident}"
        page = web.get(f"/incidents/{incident}").text
        assert "&lt;b&gt;seen&lt;/b&gt;" in page
        assert "<b>seen" not in page
    with Store.open(demo_copy, create=False, read_only=True) as store:
        changed = get_incident(store, incident)
    assert (changed.status, changed.assignee) == ("investigating", "kim")
    assert {n.author for n in changed.notes} == {AUTHOR}
    assert {n.kind for n in changed.notes} == {"status", "assignee", "note"}


@pytest.mark.parametrize(
    ("headers", "csrf"),
    [
        ({"Origin": BASE}, None),  # no CSRF token
        ({"Origin": BASE}, "wrong"),
        ({"Origin": "http://evil.example"}, "right"),  # cross-origin, even with the token
        ({"Origin": "null"}, "right"),
        ({"Sec-Fetch-Site": "cross-site"}, "right"),
        ({"Origin": "null", "Sec-Fetch-Site": "same-site"}, "right"),
        ({"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, "right"),
        ({}, "right"),  # neither header: not a browser's same-origin form
    ],
)
def test_writes_without_csrf_or_from_another_origin_are_refused(
    demo_copy: Path, headers: dict[str, str], csrf: str | None
) -> None:
    incident = _incident_id(demo_copy)
    form = {"status": "resolved"}
    if csrf is not None:
        form["csrf"] = settings(demo_copy).csrf_token if csrf == "right" else csrf
    with client(demo_copy, **headers) as web:
        assert web.post(f"/incidents/{incident}/set", data=form).status_code == 403
    with Store.open(demo_copy, create=False, read_only=True) as store:
        assert get_incident(store, incident).status == "new"


def test_a_browser_form_under_no_referrer_is_accepted(demo_copy: Path) -> None:
    """Chromium sends Origin: null for a same-origin form when the Referrer-Policy is
    no-referrer; Sec-Fetch-Site tells it is the server's own page."""
    incident = _incident_id(demo_copy)
    form = {"csrf": settings(demo_copy).csrf_token, "status": "resolved"}
    with client(demo_copy, Origin="null", **{"Sec-Fetch-Site": "same-origin"}) as web:
        assert web.post(f"/incidents/{incident}/set", data=form).status_code == 303


def test_a_bad_status_is_a_400_and_changes_nothing(demo_copy: Path) -> None:
    incident = _incident_id(demo_copy)
    form = {"csrf": settings(demo_copy).csrf_token, "status": "gone"}
    with client(demo_copy, Origin=BASE) as web:
        assert web.post(f"/incidents/{incident}/set", data=form).status_code == 400


def test_suppression_from_an_alert(demo_copy: Path) -> None:
    with client(demo_copy, Origin=BASE) as web:
        alert = web.get("/api/alerts").json()["alerts"][0]
        form = {
            "csrf": settings(demo_copy).csrf_token,
            "reason": "red team <exercise>",
            "expires": "30d",
            "rule": alert["rule_id"],
            "mailbox": alert["mailboxes"][0],
        }
        response = web.post(f"/alerts/{alert['id']}/suppress", data=form)
        assert response.status_code == 303
        listed = {a["id"] for a in web.get("/api/alerts").json()["alerts"]}
        assert alert["id"] not in listed
        assert "red team &lt;exercise&gt;" in web.get("/rules").text
        missing = web.post(f"/alerts/{alert['id']}/suppress", data=form | {"reason": " "})
        assert missing.status_code == 400
    with Store.open(demo_copy, create=False, read_only=True) as store:
        [suppression] = list_suppressions(store)
    assert (suppression.created_by, suppression.rule_id) == (AUTHOR, alert["rule_id"])
    assert suppression.expires_at is not None
