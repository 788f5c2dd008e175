"""``binwatch demo`` as a new user runs it: after its summary the review pages are alive (the box online
with its heartbeat and model, the model in the registry, the events in the queue) until Ctrl-C;
``--exit`` ends it after the summary instead."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.chromium import DESKTOP, chromium, log_in, needs_chromium

pytestmark = pytest.mark.slow


def demo(tmp_path: Path, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "binwatch", "demo", "--dir", str(tmp_path / "demo"), *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_summary(process: subprocess.Popen, path: Path, timeout_s: float = 480) -> dict:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the demo ended ({process.returncode}) before its summary:\n{process.stdout.read()}")
        assert time.monotonic() < deadline, "no summary from the demo"
        time.sleep(0.5)
    return json.loads(path.read_text())


@needs_chromium
def test_the_demo_stays_up_with_a_living_system(tmp_path):
    summary_path = tmp_path / "summary.json"
    process = demo(tmp_path, "--disposals", "6", "--json", str(summary_path))
    try:
        summary = wait_for_summary(process, summary_path)
        base, version = summary["review_url"].rstrip("/"), summary["model_version"]
        with httpx.Client(base_url=base + "/api/v1") as api:
            token = api.post("/auth/login", json={"username": "admin", "password": summary["users"]["admin"]})
            api.headers["Authorization"] = f"Bearer {token.json()['token']}"
            events = api.get("/events", params={"limit": 200}).json()["events"]
            registered = {m["version"] for m in api.get("/models").json()}
            waiting = api.get("/events/counts").json()["total"]
        assert len(events) == summary["events_delivered"] > 0
        assert {e["model_version"] for e in events} <= registered == {version}

        with chromium() as browser:
            page = browser.new_context(**DESKTOP).new_page()
            log_in(page, base, "admin", summary["users"]["admin"])
            assert page.locator(".card").count() == waiting > 0
            assert page.inner_text("#unreviewed-total") == str(waiting)
            page.goto(base + "/devices")
            box = page.locator('tr[data-device="demo-box"]')
            assert box.locator("[data-state]").get_attribute("data-state") == "online"
            assert box.locator(".model").inner_text() == version
            assert "UTC+8" in box.locator(".heartbeat").inner_text()
            page.goto(base + "/admin/models")
            assert page.locator(f'#models tr.current[data-version="{version}"]').count() == 1
            page.goto(base + "/stats")
            assert page.inner_text("#total-disposals") == str(len(events))
        assert process.poll() is None, "the demo should stay up until Ctrl-C"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Ctrl-C stops both" in output and "stopped" in output.splitlines()


def test_the_demo_can_exit_after_its_summary(tmp_path):
    process = demo(tmp_path, "--disposals", "2", "--bins", "2", "--exit")
    output, _ = process.communicate(timeout=480)
    assert process.returncode == 0, output
    assert "review pages: http://127.0.0.1:" in output and "Ctrl-C" not in output
