"""In a real browser (Debian's Chromium driven by Playwright): the review pages as supervisors use them,
at the keyboard, with the mouse, and on a phone."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator

import pytest

from tests.chromium import DESKTOP, PHONE, chromium, log_in, needs_chromium, sideways_overflow
from tests.collector.observations import littering, plan_site_a
from tests.collector.support import PASSWORDS, LiveServer, World, clip, h264_clip, jpeg, make_event

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def desktop(browser) -> Iterator:
    context = browser.new_context(**DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser) -> Iterator:
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def post_flagged(world: World, files: dict[str, bytes], n: int, **event) -> list[str]:
    """``n`` flagged events a minute apart, oldest first, each with ``files`` as its evidence."""
    start = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    ids = []
    for i in range(n):
        body = make_event(evidence=files, started_at=start + dt.timedelta(minutes=i), **event)
        world.post_event(body)
        for kind, data in files.items():
            assert world.upload(body, kind, data).status_code == 201
        ids.append(body["event_id"])
    return ids


def api(world: World, path: str):
    r = world.client.get(f"/api/v1{path}", headers=world.user("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def test_log_in_review_and_see_the_statistics_change(live_server: LiveServer, desktop):
    page, world, base = desktop, live_server.world, live_server.url
    files = {"snapshot": jpeg(320, 240, 1), "crop": jpeg(96, 96, 2), "clip": clip(20_000)}
    (flagged,) = post_flagged(world, files, 1)
    world.post_event(make_event(item="food_waste", flags=()))

    log_in(page, base, "rita", PASSWORDS["rita"], "/stats")
    assert page.inner_text("#total-disposals") == "2"
    assert page.inner_text("#total-rate") == "50.0 %"
    assert page.inner_text("#total-backlog") == "1"

    page.goto(f"{base}/review")
    card = page.locator(f'.card[data-id="{flagged}"]')
    assert card.locator("img").evaluate("img => img.complete && img.naturalWidth") == 320
    card.locator("a.event-link").click()
    page.wait_for_url(f"{base}/events/{flagged}")
    assert page.locator("video#clip").get_attribute("src").endswith("/evidence/clip")
    assert page.locator("img#crop").evaluate("img => img.naturalWidth") == 96
    facts = page.inner_text(".facts")
    assert "厨余垃圾 Kitchen waste" in facts and "其他垃圾 Other waste" in facts and "塑料袋 Plastic bag" in facts
    clip_range = page.request.get(f"{base}/events/{flagged}/evidence/clip", headers={"Range": "bytes=0-99"})
    assert clip_range.status == 206 and len(clip_range.body()) == 100

    with page.expect_navigation():
        page.keyboard.press("r")  # false positive; nothing else to review, so back to the queue
    assert page.url.startswith(f"{base}/review?") and "已将 1 个事件标为误报" in page.inner_text(".flash.ok")
    assert api(world, f"/events/{flagged}")["review_status"] == "rejected"

    page.goto(f"{base}/stats")
    assert page.inner_text("#total-rate") == "100.0 %"
    assert page.inner_text("#total-backlog") == "0"
    assert page.locator("svg.chart.wide rect").count() >= 3

    page.goto(f"{base}/events/{flagged}")
    assert "误报 False positive" in page.inner_text("#history")
    with page.expect_navigation():
        page.keyboard.press("u")
    assert page.inner_text("#review-status") == "待审核 unreviewed"
    page.goto(f"{base}/stats")
    assert page.inner_text("#total-rate") == "50.0 %"


def test_review_ten_events_at_the_keyboard(live_server: LiveServer, desktop, tmp_path):
    """Log in, open the queue, judge ten events and take the last verdict back: keys only, no mouse."""
    page, world, base = desktop, live_server.world, live_server.url
    files = {"snapshot": jpeg(1280, 720, 3), "crop": jpeg(120, 140, 4), "clip": h264_clip(tmp_path)}
    ids = post_flagged(world, files, 10)[::-1]  # as the queue shows them: newest first

    page.goto(f"{base}/review")
    page.wait_for_url(re.compile(r".*/login\?next=/review$"))
    page.keyboard.type("rita")  # the user name has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["rita"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/review"
    for key, current in (("j", ids[0]), ("j", ids[1]), ("k", ids[0])):
        page.keyboard.press(key)
        assert page.locator(".card.current").get_attribute("data-id") == current
    with page.expect_navigation():
        page.keyboard.press("Enter")

    verdicts = ["c", "r", "e", "c", "c", "r", "c", "e", "c", "c"]
    corrected = {}
    for i, key in enumerate(verdicts):
        assert page.url.startswith(f"{base}/events/{ids[i]}"), (i, page.url)
        if key == "e":
            page.keyboard.press("x")  # the item list takes the focus
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Escape")  # back from the field to the shortcuts
            corrected[ids[i]] = page.eval_on_selector("#item", "select => select.value")
        if i == 3:
            page.keyboard.press("m")
            page.keyboard.type("the lid was open")
            page.keyboard.press("Escape")
        with page.expect_navigation():
            page.keyboard.press(key)
        if i < len(verdicts) - 1:
            assert page.locator("#undo-last").is_visible()  # the verdict just given, one key from undone

    assert page.url.startswith(f"{base}/review?")
    assert "队列中已无待审核事件" in page.inner_text(".flash.ok")
    expected = {"c": "confirmed", "r": "rejected", "e": "corrected"}
    for event_id, key in zip(ids, verdicts, strict=True):
        detail = api(world, f"/events/{event_id}")
        assert detail["review_status"] == expected[key]
        assert [(r["action"], r["user"]) for r in detail["history"]] == [(detail["history"][0]["action"], "rita")]
        if key == "e":
            assert detail["label_item"] == corrected[event_id] != "plastic_bag"
    assert api(world, f"/events/{ids[3]}")["review_note"] == "the lid was open"

    with page.expect_navigation():
        page.keyboard.press("u")  # the tenth verdict, taken back: its event shows again
    assert page.url.startswith(f"{base}/events/{ids[9]}")
    assert api(world, f"/events/{ids[9]}")["review_status"] == "unreviewed"


def test_a_typed_note_is_not_lost_without_asking(live_server: LiveServer, desktop):
    page, world, base = desktop, live_server.world, live_server.url
    ids = post_flagged(world, {}, 2)[::-1]
    log_in(page, base, "rita", PASSWORDS["rita"], f"/events/{ids[0]}")
    page.keyboard.press("m")
    page.keyboard.type("half a thought")
    page.keyboard.press("Escape")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("n")
    page.wait_for_timeout(300)
    assert asked == ["放弃已输入的备注？ Discard the note you typed?"]
    assert page.url.startswith(f"{base}/events/{ids[0]}") and page.input_value("#note") == "half a thought"
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.keyboard.press("q")
    assert page.url == f"{base}/review#e-{ids[0]}"
    assert page.locator(".card.current").get_attribute("data-id") == ids[0]  # the card of the event left
    page.keyboard.press("j")
    assert page.locator(".card.current").get_attribute("data-id") == ids[1]


def test_select_several_and_confirm_them(live_server: LiveServer, desktop):
    page, world, base = desktop, live_server.world, live_server.url
    ids = post_flagged(world, {"snapshot": jpeg(640, 360, 5)}, 5)[::-1]
    log_in(page, base, "rita", PASSWORDS["rita"])
    assert not page.locator("#confirm-selected").is_visible()  # nothing selected yet
    for key in ("j", "x", "j", "j", "x"):
        page.keyboard.press(key)
    page.locator(f'.card[data-id="{ids[4]}"] .pick input').check()  # and one by mouse
    assert page.inner_text("#selected-n") == "3"
    chosen = {ids[0], ids[2], ids[4]}
    assert {c.get_attribute("data-id") for c in page.locator(".card.selected").all()} == chosen
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.keyboard.press("c")
    assert asked == ["确认所选的 3 个事件？ Confirm the 3 selected events?"]
    assert "已确认 3 个事件" in page.inner_text(".flash.ok")
    assert page.inner_text("#unreviewed-total") == "2" and page.locator(".card").count() == 2
    for event_id in ids:
        history = api(world, f"/events/{event_id}/reviews")
        if event_id in chosen:
            assert [(r["action"], r["user"]) for r in history] == [("confirm", "rita")]
        else:
            assert history == []
    with page.expect_navigation():
        page.keyboard.press("u")
    assert "已撤销 3 个审核" in page.inner_text(".flash.ok") and page.locator(".card").count() == 5


def test_evidence_keeps_its_frame_zooms_and_downloads(live_server: LiveServer, desktop, tmp_path):
    page, world, base = desktop, live_server.world, live_server.url
    wide = post_flagged(
        world, {"snapshot": jpeg(1280, 720, 6), "crop": jpeg(80, 90, 7), "clip": h264_clip(tmp_path)}, 1
    )
    narrow = post_flagged(world, {"snapshot": jpeg(640, 480, 8)}, 1, bin_id="o1", bin_category="other")
    log_in(page, base, "rita", PASSWORDS["rita"])
    for event_id, ratio in ((wide[0], 16 / 9), (narrow[0], 4 / 3)):
        img = page.locator(f'.card[data-id="{event_id}"] .thumb img')
        img.evaluate("img => img.decode()")
        fit, drawn = img.evaluate(
            """img => {
                const box = img.getBoundingClientRect();
                const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
                return [getComputedStyle(img).objectFit, img.naturalWidth * scale / (img.naturalHeight * scale)];
            }"""
        )
        assert fit == "contain" and drawn == pytest.approx(ratio, rel=0.01)  # all of the frame, none cropped

    card = page.locator(f'.card[data-id="{wide[0]}"]')
    card.hover()
    preview = card.locator("video.preview-clip")
    preview.wait_for()
    page.wait_for_function(
        "id => document.querySelector(`.card[data-id='${id}'] video.preview-clip`).currentTime > 0", arg=wide[0]
    )
    page.mouse.move(0, 0)
    preview.wait_for(state="detached")

    page.goto(f"{base}/events/{wide[0]}")
    snapshot_width = page.locator("img#snapshot").evaluate("img => img.getBoundingClientRect().width")
    crop = page.locator("img#crop").evaluate("img => [img.getBoundingClientRect().width, img.naturalWidth]")
    assert crop[0] <= crop[1] and crop[0] < snapshot_width / 4  # the crop is never blown up
    page.keyboard.press("z")
    zoom = page.locator("#zoom-image")
    assert page.locator("dialog#zoom").evaluate("d => d.open") and zoom.evaluate("img => img.naturalWidth") == 1280
    zoom.click(position={"x": 50, "y": 50})
    assert zoom.get_attribute("class") == "actual"
    assert zoom.evaluate("img => img.getBoundingClientRect().width") == 1280  # at its own size
    page.keyboard.press("Escape")
    assert not page.locator("dialog#zoom").evaluate("d => d.open")
    with page.expect_download() as download:
        page.keyboard.press("d")
    local = dt.datetime(2026, 11, 20, 9, 0)  # 01:00 UTC in Asia/Shanghai
    assert download.value.suggested_filename == f"site-a_k1_{local:%Y%m%d-%H%M%S}_{wide[0][:8]}_clip.mp4"


def test_the_model_upload_computes_its_hash(live_server: LiveServer, desktop, tmp_path):
    page, base = desktop, live_server.url
    model = tmp_path / "candidate.onnx"
    model.write_bytes((b"\x08\x08\x12\x07binwatch-browser").ljust(5000, b"\x00"))
    log_in(page, base, "admin", PASSWORDS["admin"], "/admin/models")
    page.fill("input[name=version]", "v-browser")
    page.set_input_files("#model-file", str(model))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    page.wait_for_function(f"document.querySelector('#model-sha256').value === '{digest}'")
    assert "已在浏览器中计算" in page.inner_text("#model-sha256-state")
    with page.expect_navigation():
        page.click("#model-upload button[type=submit]")
    assert "已登记模型 v-browser" in page.inner_text(".flash.ok")
    assert digest[:16] in page.inner_text('#models tr[data-version="v-browser"]')


def test_chinese_labels_are_in_the_page(live_server: LiveServer, desktop):
    page, world, base = desktop, live_server.world, live_server.url
    (event_id,) = post_flagged(world, {}, 1, flags=("kitchen_contamination", "off_hours"))
    world.post_event(make_event(flags=("uncertain",)))
    log_in(page, base, "admin", PASSWORDS["admin"])
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    fonts = page.evaluate("getComputedStyle(document.body).fontFamily")
    for font in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei"):
        assert font in fonts
    queue = page.inner_text("main")
    for label in ("违规", "待确认", "混合投放", "厨余混杂", "非投放时段", "识别不确定", "未见物品", "确认所选", "日历"):
        assert label in queue, label
    nav = page.inner_text("header")
    for label in ("审核队列", "统计", "设备", "投放点", "责任人", "用户", "模型", "退出"):
        assert label in nav, label
    page.goto(f"{base}/events/{event_id}")
    page.click("button[value=confirm]")
    page.goto(f"{base}/events/{event_id}")
    history = page.inner_text("#history")
    assert "确认 Confirm" in history and "待审核 unreviewed" in history and "已确认 confirmed" in history
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+8", history)  # times carry their zone
    page.goto(f"{base}/stats")
    stats = page.inner_text("main")
    for label in ("投放", "合规率", "待审核", "按投放点", "按日", "按责任人"):
        assert label in stats, label
    # No header breaks inside a word: each header's words keep together.
    assert page.locator("table.grid th").first.evaluate("th => getComputedStyle(th).wordBreak") == "keep-all"


def test_every_page_fits_a_phone(live_server: LiveServer, phone):
    page, world, base = phone, live_server.world, live_server.url
    ids = post_flagged(world, {"snapshot": jpeg(1280, 720, 9), "crop": jpeg(100, 100, 10), "clip": clip(9000)}, 3)
    for day in range(1, 12):  # a statistics table with many rows and all its columns
        world.post_event(make_event(started_at=dt.datetime(2026, 10, day, 3, tzinfo=dt.UTC)))
    world.post_event(make_event("dev-b", bin_id="x1", bin_category="other", item="broom", flags=()))
    plan_site_a(world)
    litter = littering()
    world.post_event(litter)
    r = world.client.post(f"/api/v1/events/{ids[2]}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200, r.text
    r = world.client.post(
        "/api/v1/work-orders", json={"event_id": ids[2], "note": "sort it " * 30}, headers=world.user()
    )
    assert r.status_code == 201, r.text
    order = r.json()["order_id"]
    log_in(page, base, "admin", PASSWORDS["admin"], "/admin/sites")
    assert sideways_overflow(page) == 0

    paths = [
        "/review",
        "/review?status=all&month=2026-10",
        f"/events/{ids[1]}",
        "/stats",
        "/devices",
        "/admin/sites",
        "/admin/entities",
        "/admin/devices",
        "/admin/users",
        "/admin/models",
        "/admin/platform",
        f"/events/{litter['event_id']}",
        "/work-orders",
        f"/work-orders/{order}",
        "/events/3f3f3f3f-0000-4000-8000-00000000000f",  # the error page
    ]
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("load")
        assert sideways_overflow(page) == 0, path
    page.goto(f"{base}/admin/devices")
    page.fill("input[name=device_id]", "phone-box-with-a-long-name-1")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.locator("#token").is_visible() and sideways_overflow(page) == 0

    page.goto(f"{base}/review")
    page.tap(f'.card[data-id="{ids[0]}"] button.preview')  # no hover on a phone: a tap previews the clip
    page.locator(f'.card[data-id="{ids[0]}"] video.preview-clip').wait_for()
    page.tap(f'.card[data-id="{ids[0]}"] button.preview')
    page.locator(f'.card[data-id="{ids[0]}"] video.preview-clip').wait_for(state="detached")

    page.goto(f"{base}/events/{ids[1]}")
    assert not page.locator("nav.main").is_visible()  # folded into the menu
    page.tap("label.menu-button")
    assert page.locator("nav.main").is_visible()
    assert not page.locator(".keys").is_visible() and page.locator(".swipe").is_visible()

    cdp = page.context.new_cdp_session(page)

    def swipe(x0: int, x1: int) -> None:
        for kind, x in (("touchStart", x0), ("touchMove", (x0 + x1) // 2), ("touchMove", x1)):
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": 600}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    with page.expect_navigation():
        swipe(330, 40)  # to the left: the next (older) event
    assert page.url.startswith(f"{base}/events/{ids[0]}")
    with page.expect_navigation():
        swipe(40, 330)  # to the right: back
    assert page.url.startswith(f"{base}/events/{ids[1]}")
