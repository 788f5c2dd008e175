"""The supervisors' pages over HTTP: login by cookie, CSRF on forms, roles, reviewing, admin forms."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from binwatch.collector.db.tables import Login
from binwatch.collector.web.session import COOKIE
from tests.collector.observations import AT, emptying, littering, overflow, plan_site_a
from tests.collector.support import PASSWORDS, World, clip, jpeg, make_event


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


def test_wrong_password_keeps_the_user_name_and_next(world: World):
    client = browser(world, None)
    r = client.post("/login?next=%2Fstats%3Fsince%3D2026-11-01", data={"username": "rita", "password": "nope-nope"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text and "Wrong user name or password" in r.text
    assert 'name="username" value="rita"' in r.text
    form = re.search(r'<form method="post" action="([^"]+)">', r.text).group(1)
    assert form == "/login?next=%2Fstats%3Fsince%3D2026-11-01"
    target = re.search(r'name="next" value="([^"]+)"', r.text).group(1)
    assert target == "/stats?since=2026-11-01"
    r = client.post(form, data={"username": "rita", "password": PASSWORDS["rita"], "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/stats?since=2026-11-01"


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
    assert body["event_id"] in queue and '塑料袋 <span lang="en">Plastic bag</span>' in queue
    assert '厨余垃圾 <span lang="en">Kitchen waste</span>' in queue
    page = client.get(f"/events/{body['event_id']}")
    assert page.status_code == 200 and f"/events/{body['event_id']}/evidence/crop" in page.text
    assert client.get(f"/events/{body['event_id']}/evidence/crop").content == crop
    url = f"/events/{body['event_id']}/review"
    assert client.post(url, data={"action": "confirm", "csrf": "forged"}).status_code == 403
    assert client.post(url, data={"action": "confirm", "csrf": "伪造"}).status_code == 403
    assert client.post(url, data={"action": "confirm"}).status_code == 422
    token = csrf(client, f"/events/{body['event_id']}")
    r = client.post(url, data={"action": "correct", "item": "food_waste", "note": "looked again", "csrf": token})
    # Nothing else to review: back to the queue, which offers to undo.
    assert r.status_code == 303 and r.headers["location"].startswith("/review?ok=")
    assert f"reviewed={body['event_id']}" in r.headers["location"]
    after = client.get(r.headers["location"]).text
    assert "已更正 1 个事件" in after and 'id="undo-last"' in after and f'value="{body["event_id"]}"' in after
    detail = world.client.get(f"/api/v1/events/{body['event_id']}", headers=world.user()).json()
    assert detail["review_status"] == "corrected" and detail["review_note"] == "looked again"
    r = client.post(url, data={"action": "reject", "csrf": token})
    assert r.status_code == 303
    r = client.post(url, data={"action": "undo", "csrf": token})
    assert r.headers["location"].startswith(f"/events/{body['event_id']}?ok=")
    assert "已撤销 1 个审核" in client.get(r.headers["location"]).text
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
            "bins": "k1：kitchen：240：城东餐厨处理厂，o1:other",  # as a Chinese input method types it
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
    assert 'value="k1:kitchen:240:城东餐厨处理厂, o1:other"' in client.get("/admin/sites").text  # saved as it reads
    bins = world.client.get("/api/v1/sites/site-m", headers=world.user()).json()["bins"]
    assert bins[0] == {"bin_id": "k1", "category": "kitchen", "capacity_l": 240.0, "destination": "城东餐厨处理厂"}
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


def test_every_flag_kind_status_and_action_has_both_names():
    from typing import get_args

    from binwatch.collector.compliance import VIOLATION_KINDS
    from binwatch.collector.db.tables import DeliveryState, ReviewAction, ReviewStatus, Role, WorkOrderState
    from binwatch.collector.web.labels import LABELS
    from binwatch.events.platform import MessageType, WorkOrderAction
    from binwatch.events.schema import VIOLATION_FLAGS, CameraState, EventKind, Flag

    wanted = (
        [f"flag.{f.value}" for f in Flag]
        + [f"kind.{k.value}" for k in EventKind]
        + [f"status.{s.value}" for s in ReviewStatus]
        + [f"action.{a.value}" for a in ReviewAction]
        + [f"done.{a.value}" for a in ReviewAction]
        + [f"role.{r.value}" for r in Role]
        + [f"camera.{c}" for c in get_args(CameraState)]
        + [f"severity.{s}" for s in ("violation", "review")]
        + [f"order.{s.value}" for s in WorkOrderState]
        + [f"step.{a}" for a in get_args(WorkOrderAction)]
        + [f"reason.{r}" for r in sorted({f.value for f in VIOLATION_FLAGS} | VIOLATION_KINDS)]
        + [f"delivery.{s.value}" for s in DeliveryState]
        + [f"message.{m}" for m in get_args(MessageType)]
    )
    missing = [key for key in wanted if key not in LABELS]
    assert not missing
    for key, (zh, en) in LABELS.items():
        assert zh.strip() and en.strip(), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or key.startswith(("weekday", "category", "item")), key


def _templates() -> list[Path]:
    import binwatch.collector.web

    return sorted(Path(binwatch.collector.web.__file__).with_name("templates").glob("*.html"))


def test_every_label_a_template_names_is_in_the_table():
    """A label key written out in a template is checked here, not when someone first opens that page."""
    from binwatch.collector.web.labels import LABELS

    named = set()
    for template in _templates():
        named |= set(re.findall(r"""\b(?:t|text)\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", template.read_text()))
    assert len(named) > 100
    assert sorted(named - LABELS.keys()) == []


# Han ideographs, CJK punctuation and full-width forms: Chinese written anywhere but the table.
CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def test_templates_write_no_chinese_outside_the_table():
    """Every Chinese word of a page comes from ``labels``, so no page can show one without its English."""
    found = [
        f"{template.name}:{number}: {line.strip()}"
        for template in _templates()
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1)
        if CJK.search(line)
    ]
    assert found == []


class _Words(HTMLParser):
    """The words a template shows once its Jinja is taken out: text, and the attributes people read."""

    READ = {"title", "alt", "placeholder", "aria-label", "label", "data-confirm", "data-ask", "data-discard"}
    CODE = {"code", "kbd", "pre", "script", "style"}  # names and keys, written as they are typed

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.CODE:
            self.inside.append(tag)
        self.words += [
            w for name, value in attrs if name in self.READ for w in re.findall(r"[A-Za-z]{2,}", value or "")
        ]

    def handle_endtag(self, tag):
        if self.inside and self.inside[-1] == tag:
            self.inside.pop()

    def handle_data(self, data):
        if not self.inside:
            self.words += re.findall(r"[A-Za-z]{2,}", data)


def test_templates_write_no_english_outside_the_table():
    """Nor an English word without its Chinese; left are names and formats, the same in both languages."""
    names = {"binwatch", "SHA", "JSON", "JPEG", "yyyy", "mm", "dd"}
    formats = {"kitchen", "other", "recyclable", "hazardous", "ground", "collection", "lane"}  # admin_sites' examples
    found = {}
    for template in _templates():
        source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", template.read_text(encoding="utf-8"), flags=re.S)
        parser = _Words()
        parser.feed(source)
        if words := sorted(set(parser.words) - names - formats):
            found[template.name] = words
    assert found == {}


def test_times_show_their_zone(world: World, settings):
    from binwatch.collector.web.render import utc_offset

    body = make_event(started_at=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC))
    world.post_event(body)
    page = browser(world).get(f"/events/{body['event_id']}").text
    assert (
        '<time datetime="2026-11-20T09:30:00+00:00" title="Asia/Shanghai">2026-11-20 17:30:00 <small>UTC+8</small>'
        in page
    )
    assert "Asia/Shanghai (UTC+8)" in page
    zone = dt.timezone(dt.timedelta(hours=-3, minutes=-30))
    assert utc_offset(dt.datetime(2026, 1, 1, tzinfo=zone)) == "UTC-3:30"
    assert utc_offset(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == "UTC"


def test_queue_shows_what_is_left_per_severity_flag_and_day(world: World):
    for body in (
        make_event(flags=("kitchen_contamination",), started_at=dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)),
        make_event(flags=("uncertain",), started_at=dt.datetime(2026, 11, 21, 17, tzinfo=dt.UTC)),
        make_event(flags=("item_unseen",), item=None, started_at=dt.datetime(2026, 11, 21, 17, tzinfo=dt.UTC)),
    ):
        world.post_event(body)
    client = browser(world)
    page = client.get("/review").text
    assert re.search(r'id="count-violation">1<', page) and re.search(r'id="count-review">2<', page)
    assert re.search(r'id="count-flag-uncertain">1<', page) and re.search(r'id="count-flag-off_hours">0<', page)
    assert re.search(r'data-day="2026-11-22">2026-11-22 <b class="n">2</b>', page)
    assert re.search(r'data-day="2026-11-20">2026-11-20 <b class="n">1</b>', page)
    assert "<strong>2026-11</strong>" in page  # the calendar opens on the newest day left
    page = client.get("/review?severity=review&day=2026-11-22").text
    assert page.count('class="card sev-review') == 2 and 'class="card sev-violation' not in page
    assert 'aria-current="true" title' in page  # the severity tab
    page = client.get("/review?month=2026-10").text
    assert "<strong>2026-10</strong>" in page and '<details class="calendar" open>' in page
    r = client.get("/review?day=22.11.2026")
    assert r.status_code == 303 and "yyyy-mm-dd" in r.headers["location"]
    assert client.get("/review?severity=nonsense&status=nonsense&flag=nonsense").status_code == 200


def test_events_around_the_bins_in_the_queue_and_on_their_page(world: World):
    plan_site_a(world)
    litter, full = littering(), overflow()
    for body in (litter, full, emptying(at=AT + dt.timedelta(minutes=5))):
        world.post_event(body)
    client = browser(world)
    page = client.get("/review?severity=violation").text
    for name in ('乱扔垃圾 <span lang="en">Littering</span>', '满溢 <span lang="en">Overflow</span>'):
        assert name in page, name
    assert f'data-id="{litter["event_id"]}"' in page
    page = client.get(f"/events/{litter['event_id']}").text
    assert '<strong id="observed">乱扔垃圾 <span lang="en">Littering</span></strong>' in page and "g1" in page
    assert 'name="item"' not in page  # no item to correct on a littering event
    assert f'href="/work-orders?event={litter["event_id"]}"' in page
    page = client.get(f"/events/{full['event_id']}").text
    assert '满溢 <span lang="en">Overflow</span>' in page and "o1" in page


def test_a_verdict_moves_on_within_the_queue_and_offers_the_undo(world: World):
    hours = (1, 2, 3, 4)
    events = [
        make_event(flags=("kitchen_contamination",), started_at=dt.datetime(2026, 11, 20, h, tzinfo=dt.UTC))
        for h in hours
    ]
    events.insert(2, make_event(flags=("uncertain",), started_at=dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)))
    for body in events:
        world.post_event(body)
    ids = [e["event_id"] for e in events]  # oldest first; the queue shows them newest first
    client = browser(world)
    page = client.get(f"/events/{ids[3]}?severity=violation").text
    assert f'href="/events/{ids[1]}?severity=violation" data-key="j n" id="next-event"' in page  # skips the uncertain
    assert f'href="/events/{ids[4]}?severity=violation" data-key="k p" id="prev-event"' in page
    assert f'href="/review?severity=violation#e-{ids[3]}" data-key="q"' in page
    token = csrf(client, f"/events/{ids[3]}")
    r = client.post(f"/events/{ids[3]}/review?severity=violation", data={"action": "confirm", "csrf": token})
    assert r.headers["location"].startswith(f"/events/{ids[1]}?severity=violation&ok=")
    assert r.headers["location"].endswith(f"&reviewed={ids[3]}")
    page = client.get(r.headers["location"]).text
    assert "已确认 1 个事件" in page and 'id="undo-last"' in page
    assert 'action="/review/batch?severity=violation"' in page
    r = client.post("/review/batch?severity=violation", data={"action": "undo", "event_id": ids[3], "csrf": token})
    assert r.headers["location"].startswith(f"/events/{ids[3]}?severity=violation&ok=")
    detail = world.client.get(f"/api/v1/events/{ids[3]}", headers=world.user()).json()
    assert detail["review_status"] == "unreviewed"
    # The oldest event: nothing older, so the newer one it came after.
    r = client.post(f"/events/{ids[0]}/review?severity=violation", data={"action": "reject", "csrf": token})
    assert r.headers["location"].startswith(f"/events/{ids[1]}?severity=violation&ok=")


def test_confirm_selected_from_the_queue(world: World):
    events = [make_event(flags=("mixed_disposal",), bin_id="r1", bin_category="recyclable") for _ in range(3)]
    for body in events:
        world.post_event(body)
    ids = [e["event_id"] for e in events]
    client = browser(world)
    token = csrf(client, "/review")
    r = client.post("/review/batch", data={"action": "confirm", "event_id": ids[:2], "csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/review?ok=")
    assert f"reviewed={ids[0]}%2C{ids[1]}" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "已确认 2 个事件" in page and page.count('name="event_id" value=') >= 3  # the undo form and the card
    for event_id, state in zip(ids, ("confirmed", "confirmed", "unreviewed"), strict=True):
        log = world.client.get(f"/api/v1/events/{event_id}/reviews", headers=world.user()).json()
        assert len(log) == (state == "confirmed") and (not log or log[0]["user"] == "rita")
    r = client.post("/review/batch", data={"action": "undo", "event_id": ids[:2], "csrf": token})
    assert r.headers["location"].startswith("/review?ok=") and "reviewed" not in r.headers["location"]
    for bad in (
        {"action": "confirm", "csrf": token},
        {"action": "confirm", "event_id": "not-an-id", "csrf": token},
        {"action": "shrug", "event_id": ids[0], "csrf": token},
        {"action": "confirm", "event_id": [ids[0], "3f3f3f3f-0000-4000-8000-000000000009"], "csrf": token},
    ):
        r = client.post("/review/batch", data=bad)
        assert r.status_code == 303 and "error=" in r.headers["location"], bad
    assert world.client.get(f"/api/v1/events/{ids[0]}", headers=world.user()).json()["review_status"] == "unreviewed"
    assert client.post("/review/batch", data={"action": "confirm", "event_id": ids[0], "csrf": "x"}).status_code == 403


def test_the_clip_downloads_from_the_page(world: World):
    data = clip(20_000)
    body = make_event(evidence={"clip": data})
    world.post_event(body)
    world.upload(body, "clip", data)
    client = browser(world)
    assert (
        f'href="/events/{body["event_id"]}/evidence/clip?download=1" download'
        in client.get(f"/events/{body['event_id']}").text
    )
    r = client.get(f"/events/{body['event_id']}/evidence/clip?download=1")
    assert r.content == data and r.headers["content-disposition"].startswith('attachment; filename="site-a_k1_')


def test_model_upload_computes_the_hash_itself(world: World):
    from tests.collector.test_registry import onnx

    client = browser(world, "admin")
    token = csrf(client, "/admin/models")
    model = onnx("page")
    files = {"file": ("m.onnx", model, "application/octet-stream")}
    r = client.post("/admin/models", data={"version": "v-page", "csrf": token}, files=files)
    assert r.status_code == 303 and "ok=" in r.headers["location"], r.headers["location"]
    listed = world.client.get("/api/v1/models", headers=world.user("admin")).json()
    assert any(m["version"] == "v-page" and m["sha256"] == hashlib.sha256(model).hexdigest() for m in listed)
    r = client.post("/admin/models", data={"version": "v-bad", "sha256": "0" * 64, "csrf": token}, files=files)
    assert "error=" in r.headers["location"]
