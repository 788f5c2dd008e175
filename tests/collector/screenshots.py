"""Screenshots of the review pages of a running demo, at 1366×768 and 390×844, in Debian's Chromium.

    binwatch demo --json demo.json &        # wait for the summary
    python -m tests.collector.screenshots demo.json shots/

Writes ``queue``, ``event`` (the newest event in the queue) and ``stats`` at both sizes, and prints
how far each page is wider than the window (0: nothing to scroll sideways). The README describes
what they show; the pictures themselves are not kept in the repository.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests.chromium import DESKTOP, PHONE, chromium, log_in, sideways_overflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summary", type=Path, help="the --json summary of binwatch demo")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    args = parser.parse_args()
    summary = json.loads(args.summary.read_text())
    base = summary["review_url"].rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        for options in (DESKTOP, {**PHONE, "device_scale_factor": 1}):
            size = "{width}x{height}".format(**options["viewport"])
            context = browser.new_context(**options)
            page = context.new_page()
            log_in(page, base, "reviewer", summary["users"]["reviewer"])
            event = page.locator(".card a.event-link").first.get_attribute("href")
            for name, path in (("queue", "/review"), ("event", event), ("stats", "/stats")):
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=args.out / f"{name}-{size}.png")
                print(f"{name} at {size}: {sideways_overflow(page)} px to scroll sideways")
            context.close()


if __name__ == "__main__":
    main()
