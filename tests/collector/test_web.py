"""The supervisors' pages over HTTP: login by cookie, CSRF on forms, roles, reviewing, admin forms."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from binwatch.collector.db.tables import Login
from binwatch.collector.web.session import COOKIE
from tests.collector.support import PASSWORDS, World, jpeg, make_event


def browser(world: World, username: str | None = "rita") -> TestClient:
    client = TestClient(world.app, follow_redirects=False)
    if username:
        r = client.post("/login", data={"username": username, "password": PASSWORDS[username], "next": "/stats"})
        assert r.status_code == 303 and r.headers["location"] == "/stats"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    return client


def csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_pages_need_a_login(world: World):
    client = browser(world, None)
    for path in ("/review", "/stats", "/devices", "/admin/sites", f"/events/{make_event()['event_id']}"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=" + path.split("?")[0])


def test_wrong_password_shows_the_form_again(world: World):
    r = browser(world, None).post("/login", data={"username": "rita", "password": "nope-nope"})
    assert r.status_code == 401 and "wrong user name or password" in r.text


def test_next_cannot_leave_the_site(world: World):
    client = browser(world, None)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil"):
        r = client.post("/login", data={"username": "rita", "password": PASSWORDS["rita"], "next": target})
        assert r.headers["location"] == "/review"


def test_expired_session_redirects_to_login(world: World):
    client = browser(world)
    with world.app.state.db.write() as session:
        session.execute(update(Login).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    r = client.get("/review")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    assert "expired" in client.get(r.headers["location"]).text


def test_a_cookie_is_not_an_api_token(world: World):
    client = browser(world)
    assert client.get("/api/v1/events").status_code == 401


def test_reviewer_pages_and_admin_refusal(world: World):
    client = browser(world)
    for path in ("/review", "/stats", "/devices", "/review?status=all&flag=mixed_disposal", "/stats?since=2026-11-01"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert (
            "default-src 'self'" in r.headers["content-security-policy"]
            and "frame-ancestors 'none'" in r.headers["content-security-policy"]
        )
    for path in ("/admin/sites", "/admin/entities", "/admin/devices", "/admin/users", "/admin/models"):
        r = client.get(path)
        assert r.status_code == 403 and "admins only" in r.text
    assert client.get("/stats?since=yesterday").status_code == 303
    assert client.get("/review?cursor=garbage").status_code == 303


def test_review_through_the_page(world: World):
    crop = jpeg()
    body = make_event(evidence={"crop": crop})
    world.post_event(body)
    world.upload(body, "crop", crop)
    client = browser(world)
    queue = client.get("/review").text
    assert body["event_id"] in queue and "塑料袋 Plastic bag" in queue and "厨余垃圾 Kitchen waste" in queue
    page = client.get(f"/events/{body['event_id']}")
    assert page.status_code == 200 and f"/events/{body['event_id']}/evidence/crop" in page.text
    assert client.get(f"/events/{body['event_id']}/evidence/crop").content == crop
    url = f"/events/{body['event_id']}/review"
    assert client.post(url, data={"action": "confirm", "csrf": "forged"}).status_code == 403
    assert client.post(url, data={"action": "confirm", "csrf": "伪造"}).status_code == 403
    assert client.post(url, data={"action": "confirm"}).status_code == 422
    token = csrf(client, f"/events/{body['event_id']}")
    r = client.post(url, data={"action": "correct", "item": "food_waste", "note": "looked again", "csrf": token})
    assert r.status_code == 303 and "ok=correct" in r.headers["location"]
    detail = world.client.get(f"/api/v1/events/{body['event_id']}", headers=world.user()).json()
    assert detail["review_status"] == "corrected" and detail["review_note"] == "looked again"
    r = client.post(url, data={"action": "reject", "csrf": token})
    assert r.status_code == 303
    r = client.post(url, data={"action": "undo", "csrf": token})
    assert "review+undone" in r.headers["location"]
    r = client.post(url, data={"action": "correct", "item": "unicorn", "csrf": token})
    assert "error=" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "unknown item" in page and "looked again" in page


def test_admin_forms(world: World):
    client = browser(world, "admin")
    token = csrf(client, "/admin/entities")
    r = client.post("/admin/entities", data={"name": "菜市场经营者", "type": "shop_operator", "csrf": token})
    assert "ok=" in r.headers["location"]
    r = client.post(
        "/admin/sites",
        data={
            "site_id": "site-m",
            "name": "Market",
            "address": "5 Road",
            "entity_id": "3",
            "bins": "k1:kitchen, o1:other",
            "csrf": token,
        },
    )
    assert "ok=" in r.headers["location"], r.headers["location"]
    r = client.post(
        "/admin/sites",
        data={
            "site_id": "site-n",
            "name": "N",
            "address": "6 Road",
            "entity_id": "3",
            "bins": "k1:compost",
            "csrf": token,
        },
    )
    assert "error=" in r.headers["location"] and "unknown+category" in r.headers["location"]
    r = client.post("/admin/devices", data={"device_id": "dev-m", "site_id": "site-m", "csrf": token})
    assert r.status_code == 200
    device_token = re.search(r'<pre class="token" id="token">(bwd_[^<]+)</pre>', r.text).group(1)
    event = make_event("dev-m", site_id="site-m", bin_id="o1", bin_category="other", item="broom", flags=())
    assert (
        world.client.post("/api/v1/events", json=event, headers={"Authorization": f"Bearer {device_token}"}).status_code
        == 201
    )
    r = client.post(
        "/admin/users", data={"username": "newbie", "password": "newbie-password", "role": "reviewer", "csrf": token}
    )
    assert "ok=" in r.headers["location"]
    assert "site-m" in client.get("/admin/sites").text and "newbie" in client.get("/admin/users").text
    assert client.post("/admin/entities", data={"name": "x", "type": "other", "csrf": "bad"}).status_code == 403


def test_logout_needs_csrf_and_ends_the_login(world: World):
    client = browser(world)
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    old_cookie = client.cookies[COOKIE]
    r = client.post("/logout", data={"csrf": csrf(client, "/review")})
    assert r.status_code == 303 and COOKIE not in client.cookies
    client.cookies.set(COOKIE, old_cookie)
    r = client.get("/review")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", ["/static/app.css", "/static/app.js"])
def test_static_files(world: World, path):
    assert browser(world, None).get(path).status_code == 200
