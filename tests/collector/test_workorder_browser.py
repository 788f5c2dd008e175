"""A work order in a real browser (Debian's Chromium driven by Playwright): a supervisor raises it, the
responsible entity's user logs in, sees only its orders, acknowledges it and closes it with a photo
uploaded from a file, and the supervisor reopens it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.support import PASSWORDS, LiveServer, jpeg, make_event

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
)


@pytest.fixture
def browser(live_server: LiveServer):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


def log_in(browser, base: str, username: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_raise_take_on_close_with_a_photo_and_reopen(live_server: LiveServer, browser, tmp_path):
    world, base = live_server.world, live_server.url
    snapshot = jpeg(320, 240, 5)
    event = make_event(evidence={"snapshot": snapshot})
    world.post_event(event)
    assert world.upload(event, "snapshot", snapshot).status_code == 201
    world.client.post(f"/api/v1/events/{event['event_id']}/review", json={"action": "confirm"}, headers=world.user())

    rita = log_in(browser, base, "rita")
    rita.goto(f"{base}/work-orders")
    row = rita.locator("#candidates tr", has_text=event["event_id"][:8])
    row.locator("input[name=note]").fill("请清理厨余桶里的塑料袋")
    row.locator("button").click()
    rita.wait_for_selector(".flash.ok")
    order_url = rita.url.split("?")[0]
    assert "待处理 Open" in rita.inner_text("#order-state")

    erin = log_in(browser, base, "erin")
    assert erin.url.endswith("/work-orders")  # an entity's user lands on its orders, not the review queue
    erin.click(f'a[href="{order_url.removeprefix(base)}"]')
    erin.wait_for_url(order_url)
    assert erin.locator("img#snapshot").evaluate("img => img.complete && img.naturalWidth") == 320
    erin.click("#acknowledge")
    erin.wait_for_selector(".flash.ok")
    assert "处理中 Acknowledged" in erin.inner_text("#order-state")
    photo = tmp_path / "after.jpg"
    photo.write_bytes(jpeg(400, 300, 6))
    erin.fill("textarea[name=note]", "已清理，桶已冲洗")
    erin.set_input_files("input[name=photo]", str(photo))
    erin.click("#close")
    erin.wait_for_selector(".flash.ok")
    assert "已销项 Closed" in erin.inner_text("#order-state")
    assert erin.locator("img#photo").evaluate("img => img.complete && img.naturalWidth") == 400
    assert [s.strip() for s in erin.locator("#steps tr td:nth-child(3)").all_inner_texts()] == [
        "下发工单 Raised",
        "签收 Acknowledged",
        "销项 Closed",
    ]

    rita.reload()
    rita.fill("input[name=note]", "照片看不到厨余桶")
    rita.click("#reopen")
    rita.wait_for_selector(".flash.ok")
    assert "待处理 Open" in rita.inner_text("#order-state")
    assert "退回重办 Reopened" in rita.inner_text("#steps")
