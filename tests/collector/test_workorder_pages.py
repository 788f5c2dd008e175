"""The work-order pages over HTTP: a supervisor raises an order from the page, the entity's user is kept to
its own pages and closes the order with a photo, the statistics page lists overdue orders, admins see
the platform queue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from binwatch.collector.db.tables import ReviewAction, User, utcnow
from binwatch.collector.errors import Forbidden
from binwatch.collector.review import review_event, review_many
from binwatch.collector.workorders import create_order
from tests.collector.support import PASSWORDS, World, jpeg, make_event


def browser(world: World, username: str) -> TestClient:
    client = TestClient(world.app, follow_redirects=False)
    r = client.post("/login", data={"username": username, "password": PASSWORDS[username], "next": "/work-orders"})
    assert r.status_code == 303
    return client


def csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def confirmed(world: World, device: str = "dev-a", **overrides) -> dict:
    body = make_event(device, evidence={"snapshot": jpeg(160, 120, 4)}, **overrides)
    world.post_event(body)
    world.upload(body, "snapshot", jpeg(160, 120, 4))
    world.client.post(f"/api/v1/events/{body['event_id']}/review", json={"action": "confirm"}, headers=world.user())
    return body


def test_raise_acknowledge_close_and_reopen_from_the_pages(world: World):
    event = confirmed(world)
    rita = browser(world, "rita")
    listing = rita.get("/work-orders").text
    assert event["event_id"] in listing and "待下发" in listing
    r = rita.post(
        "/work-orders",
        data={"csrf": csrf(rita, "/work-orders"), "event_id": event["event_id"], "note": "清理塑料袋", "due_h": "6"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/work-orders/")
    url = r.headers["location"].split("?")[0]
    order = world.client.get(f"/api/v1{url}", headers=world.user()).json()
    assert order["note"] == "清理塑料袋" and order["state"] == "open"
    assert 5.9 < (dt.datetime.fromisoformat(order["due_at"]) - utcnow()).total_seconds() / 3600 <= 6

    erin = browser(world, "erin")
    assert erin.get("/review").headers["location"] == "/work-orders"  # supervisors' pages send it home
    assert erin.get("/stats").headers["location"] == "/work-orders"
    page = erin.get(url)
    assert page.status_code == 200 and 'id="acknowledge"' in page.text and "reopen" not in page.text
    assert erin.get(f"{url}/evidence/snapshot").content == jpeg(160, 120, 4)
    token = csrf(erin, url)
    assert erin.post(f"{url}/acknowledge", data={"csrf": token, "note": "收到"}).status_code == 303
    photo = jpeg(200, 150, 7)
    r = erin.post(
        f"{url}/close",
        data={"csrf": token, "note": "已清理"},
        files={"photo": ("after.jpg", photo, "image/jpeg")},
    )
    assert r.status_code == 303 and "error" not in r.headers["location"]
    assert erin.get(f"{url}/photo").content == photo
    closed = erin.get(url).text
    assert '已销项 <span lang="en">Closed</span>' in closed and "销项" in closed and "签收" in closed

    page = rita.get(url).text
    assert 'id="reopen"' in page
    rita.post(f"{url}/reopen", data={"csrf": csrf(rita, url), "note": "照片不清楚"})
    assert world.client.get(f"/api/v1{url}", headers=world.user()).json()["state"] == "open"


def test_the_entity_user_sees_only_its_orders(world: World):
    own, other = confirmed(world), confirmed(world, "dev-b", bin_id="x1", bin_category="other")
    ids = []
    for event in (own, other):
        r = world.client.post("/api/v1/work-orders", json={"event_id": event["event_id"]}, headers=world.user())
        ids.append(r.json()["order_id"])
    erin = browser(world, "erin")
    listing = erin.get("/work-orders").text
    assert f'href="/work-orders/{ids[0]}"' in listing and f'href="/work-orders/{ids[1]}"' not in listing
    assert "待下发" not in listing  # no raising for an entity
    assert erin.get(f"/work-orders/{ids[1]}").status_code == 404
    assert erin.get(f"/work-orders/{ids[1]}/evidence/snapshot").status_code == 404
    r = erin.post(f"/work-orders/{ids[1]}/acknowledge", data={"csrf": csrf(erin, "/work-orders"), "note": ""})
    assert r.status_code == 404


def test_statistics_list_overdue_orders_and_admins_see_the_platform_queue(world: World):
    event = confirmed(world)
    past = utcnow() - dt.timedelta(hours=3)
    with world.app.state.db.write() as session:
        order = create_order(session, event["event_id"], None, due_at=past + dt.timedelta(hours=1), now=past)
        order_id = order.id
    stats = browser(world, "rita").get("/stats").text
    overdue = stats[stats.index('id="overdue-orders"') :]
    assert f'href="/work-orders/{order_id}"' in overdue and "厨余混杂" in overdue
    admin = browser(world, "admin")
    page = admin.get("/admin/platform")
    assert page.status_code == 200 and "平台对接" in page.text
    assert browser(world, "rita").get("/admin/platform").status_code == 403


def test_a_refused_step_says_why_in_both_languages(world: World):
    event = confirmed(world)
    rita, erin = browser(world, "rita"), browser(world, "erin")
    r = rita.post(
        "/work-orders", data={"csrf": csrf(rita, "/work-orders"), "event_id": event["event_id"], "due_h": "soon"}
    )
    assert "处理期限应为小时数" in rita.get(r.headers["location"]).text
    r = erin.post("/work-orders", data={"csrf": csrf(erin, "/work-orders"), "event_id": event["event_id"]})
    assert "只有审核员和管理员可以下发" in erin.get(r.headers["location"]).text

    order = world.client.post("/api/v1/work-orders", json={"event_id": event["event_id"]}, headers=world.user())
    url = f"/work-orders/{order.json()['order_id']}"
    token = csrf(erin, url)
    r = erin.post(f"{url}/close", data={"csrf": token, "note": "已清理"})
    page = erin.get(r.headers["location"]).text
    assert "销项须附整改照片" in page and "closing needs a photo" in page
    r = erin.post(f"{url}/cancel", data={"csrf": token, "note": ""})
    assert "only supervisors raise, reopen or cancel work orders" in erin.get(r.headers["location"]).text
    assert world.client.get(f"/api/v1{url}", headers=world.user()).json()["state"] == "open"


def test_the_entity_user_reviews_no_event_on_the_pages(world: World):
    # The review forms took any login: erin rejected the flags of site A's violation (her own entity's: the grounds
    # of a work order against it) and of site B's, one by one and in a batch. The API refused her (403); the pages
    # now send her to her work orders, and the verdict itself refuses an entity's user whatever brings it.
    own, other = (
        world.post_event(make_event()),
        world.post_event(make_event("dev-b", bin_id="x1", bin_category="other")),
    )
    erin = browser(world, "erin")
    token = csrf(erin, "/work-orders")
    for event in (own, other):
        r = erin.post(f"/events/{event['event_id']}/review", data={"csrf": token, "action": "reject"})
        assert r.status_code == 303 and r.headers["location"] == "/work-orders"
    r = erin.post(
        "/review/batch", data={"csrf": token, "action": "reject", "event_id": [own["event_id"], other["event_id"]]}
    )
    assert r.status_code == 303 and r.headers["location"] == "/work-orders"
    for event in (own, other):
        reviews = world.client.get(f"/api/v1/events/{event['event_id']}/reviews", headers=world.user("admin")).json()
        assert reviews == []
    with world.app.state.db.write() as session:
        user = session.scalars(select(User).where(User.username == "erin")).one()
        with pytest.raises(Forbidden, match="only reviewers and admins"):
            review_event(session, own["event_id"], user, ReviewAction.REJECT)
        with pytest.raises(Forbidden, match="only reviewers and admins"):
            review_many(session, [own["event_id"]], user, ReviewAction.UNDO)


def test_an_order_id_past_the_tables_is_422_for_every_step(world: World):
    erin = browser(world, "erin")
    token = csrf(erin, "/work-orders")
    for step in ("acknowledge", "close", "reopen", "cancel"):
        assert erin.post(f"/work-orders/{2**63}/{step}", data={"csrf": token, "note": "n"}).status_code == 422
