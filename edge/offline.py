"""The agent over a whole video file, as fast as it decodes: evaluation, demos, replays.

Frames are dated from a fixed start (``OFFLINE_START`` unless given) at the file's frame
rate, so a run is reproducible and off-hours flags do not depend on when it ran. Event ids
derive from the file and that start (``eventid``): delivering the same run twice stores
each event once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from binwatch.edge.agent import Agent, load_classifier
from binwatch.edge.announce import Announcer
from binwatch.edge.camera import CameraError, open_capture, shortfall, video_fps
from binwatch.edge.client import CollectorClient
from binwatch.edge.config import SiteConfig
from binwatch.edge.delivery import Delivery
from binwatch.edge.eventid import FileEventIds
from binwatch.edge.outbox import Outbox
from binwatch.edge.storage import Layout
from binwatch.edge.timing import Timing
from binwatch.events.schema import Event

log = logging.getLogger(__name__)

# Offline runs date their frames from here: a Monday, 09:00 China Standard Time.
OFFLINE_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
DRAIN_TIMEOUT_S = 60.0


def run_offline(
    config: SiteConfig,
    video: Path,
    *,
    deliver: bool = False,
    start_time: datetime | None = None,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
    timing: Timing | None = None,
    announcer: Announcer | None = None,
) -> list[Event]:
    """Run the agent over a whole video file as fast as it decodes and return every event.

    Frame ``i`` is dated ``start_time + i / fps`` (default ``OFFLINE_START``), fps from the
    file. Without ``deliver`` nothing is written (evaluation). With it, evidence is kept and
    events go through the outbox under ``config.storage.dir`` to the collector, and the call
    returns once the outbox is empty or ``drain_timeout_s`` has passed.
    """
    classifier = load_classifier(config)
    capture = open_capture(str(video))
    if not capture.isOpened():
        raise CameraError(f"{video}: cannot open this video file")
    outbox = delivery = None
    if deliver:
        outbox = Outbox(Layout(config.storage.dir), reserve_bytes=int(config.storage.reserve_mb * 2**20))
        outbox.recover()
        delivery = Delivery(outbox, CollectorClient(config.collector), config.collector)
    agent = Agent(config, classifier, outbox=outbox, timing=timing, announcer=announcer)
    events: list[Event] = []
    try:
        start, fps, index = start_time or OFFLINE_START, video_fps(capture, config.camera.fps), 0
        agent.event_ids = FileEventIds.of(Path(video), config.device_id, start, fps)
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            events += agent.process(frame, start + timedelta(seconds=index / fps))
            index += 1
        if missing := shortfall(capture, index):
            log.warning(
                "%s ended after %d frames, %d fewer than its header announces: truncated or damaged",
                video,
                index,
                missing,
            )
        events += agent.close()
        if delivery is not None:
            if not delivery.drain(threading.Event(), drain_timeout_s):
                log.warning("%d events still in the outbox after %.0f s", delivery.outbox.depth(), drain_timeout_s)
            delivery.client.close()
    finally:
        capture.release()
        if outbox is not None:
            outbox.close()
    return events
