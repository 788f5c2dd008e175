"""In a real browser (Debian's Chromium driven by Playwright): log in, review an event, see the statistics change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.support import PASSWORDS, LiveServer, clip, jpeg, make_event

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
)


@pytest.fixture
def page(live_server: LiveServer):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


def test_log_in_review_and_see_the_statistics_change(live_server: LiveServer, page):
    world = live_server.world
    files = {"snapshot": jpeg(320, 240, 1), "crop": jpeg(96, 96, 2), "clip": clip(20_000)}
    flagged = make_event(evidence=files, flags=("kitchen_contamination",))
    world.post_event(flagged)
    for kind, data in files.items():
        assert world.upload(flagged, kind, data).status_code == 201
    world.post_event(make_event(item="food_waste", flags=()))
    base = live_server.url

    page.goto(f"{base}/stats")
    assert "/login" in page.url
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", PASSWORDS["rita"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/stats")
    assert page.inner_text("#total-disposals") == "2"
    assert page.inner_text("#total-rate") == "50.0 %"
    assert page.inner_text("#total-backlog") == "1"

    page.goto(f"{base}/review")
    card = page.locator(f'a[href="/events/{flagged["event_id"]}"]')
    assert card.locator("img").evaluate("img => img.complete && img.naturalWidth") == 320
    card.click()
    page.wait_for_url(f"{base}/events/{flagged['event_id']}")
    assert page.locator("video#clip").get_attribute("src").endswith("/evidence/clip")
    assert page.locator("img#crop").evaluate("img => img.naturalWidth") == 96
    facts = page.inner_text(".facts")
    assert "厨余垃圾 Kitchen waste" in facts and "其他垃圾 Other waste" in facts and "塑料袋 Plastic bag" in facts
    clip_range = page.request.get(f"{base}/events/{flagged['event_id']}/evidence/clip", headers={"Range": "bytes=0-99"})
    assert clip_range.status == 206 and len(clip_range.body()) == 100

    page.keyboard.press("r")  # shortcut: false positive
    page.wait_for_selector("p.flash.ok")
    assert page.inner_text("#review-status") == "rejected"
    assert "reject" in page.inner_text("#history")

    page.goto(f"{base}/stats")
    assert page.inner_text("#total-rate") == "100.0 %"
    assert page.inner_text("#total-backlog") == "0"
    assert page.locator("svg.chart rect").count() >= 3

    page.goto(f"{base}/events/{flagged['event_id']}")
    page.keyboard.press("u")  # undo
    page.wait_for_selector("p.flash.ok")
    assert page.inner_text("#review-status") == "unreviewed"
    page.goto(f"{base}/stats")
    assert page.inner_text("#total-rate") == "50.0 %"
