"""``binwatch edge run``: the agent on a live source, the way the box runs it.

The frame loop runs in the main thread; the camera, delivery, heartbeats and model roll-out
each in a thread of their own, so that none of them holds up a frame. The helper threads are
supervised: one that fails is logged and restarted, one that keeps failing stops the run with
status 1. A model verified by roll-out is swapped in between two frames; SIGTERM or SIGINT
stop the run cleanly.

What a restart costs. A video file is read again from its start, and its events get the ids
they had (``eventid``): nothing is lost and nothing counted twice. A live camera does not
wait: what happens while the agent is down is not seen. A clean stop (SIGTERM) concludes the
disposals that have settled and commits them, flagged ones with a clip cut short; a crash or
SIGKILL loses the disposals not yet committed: those still in progress, and flagged ones
waiting up to ``clips.post_s`` for the end of their clip. Everything committed survives both.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from binwatch.edge.agent import Agent, load_classifier
from binwatch.edge.announce import make_announcer
from binwatch.edge.camera import Camera, CameraError, FrameFeed, file_start, is_file, open_capture, video_fps
from binwatch.edge.client import CollectorClient
from binwatch.edge.config import SiteConfig
from binwatch.edge.delivery import Delivery
from binwatch.edge.eventid import FileEventIds
from binwatch.edge.heartbeat import HeartbeatSender
from binwatch.edge.outbox import Outbox, OutboxError
from binwatch.edge.rollout import ModelUpdater, load_installed
from binwatch.edge.storage import Layout
from binwatch.edge.supervisor import Supervisor
from binwatch.edge.timing import Timing
from binwatch.events.schema import Heartbeat
from binwatch.inference.classifier import Classifier

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


class LiveAgent:
    """``binwatch edge run``: the agent on a live source, with outbox, delivery, heartbeats and
    model roll-out (when ``collector.model_check_s`` > 0)."""

    def __init__(self, config: SiteConfig):
        self.config = config
        self.stop = threading.Event()  # everything stops
        self.started = time.monotonic()
        self.timing = Timing()
        self.supervisor = Supervisor(self.stop)
        layout = Layout(config.storage.dir)
        check_s = config.collector.model_check_s
        # With roll-out on, the model it installed last wins over the configured one, which is
        # checked as roll-out checks a download: a bad model is refused now, not at the first disposal.
        classifier = (load_installed(layout.models) if check_s > 0 else None) or load_classifier(config)
        self.outbox = Outbox(layout, reserve_bytes=int(config.storage.reserve_mb * 2**20))
        self.outbox.recover()
        self.outbox.enforce_budget(int(config.storage.budget_mb * 2**20))
        self.client = CollectorClient(config.collector)
        self.delivery = Delivery(self.outbox, self.client, config.collector, self.timing)
        self.camera = Camera(config.camera, self.timing)
        self.announcer = make_announcer(config)
        self.agent = Agent(config, classifier, outbox=self.outbox, timing=self.timing, announcer=self.announcer)
        if is_file(config.camera.source):
            self.agent.event_ids = file_event_ids(config)
        self.heartbeats = HeartbeatSender(self.client, config.collector.heartbeat_s, self.heartbeat)
        self.rollout = None
        if check_s > 0:
            self.rollout = ModelUpdater(self.client, layout.models, classifier.version, self.offer_model, check_s)
        self._next_model: Classifier | None = None  # verified by roll-out, swapped in before the next frame
        self._next_lock = threading.Lock()

    @property
    def classifier(self) -> Classifier:
        return self.agent.classifier

    def offer_model(self, classifier: Classifier) -> None:
        """From the roll-out thread: use this classifier from the next frame on."""
        with self._next_lock:
            self._next_model = classifier

    def _swap_model(self) -> None:
        """On the frame loop, between two frames: events concluded from now on carry the new version."""
        with self._next_lock:
            new, self._next_model = self._next_model, None
        if new is not None:
            old, self.agent.classifier = self.agent.classifier, new
            log.info("model %s in use from now on (was %s)", new.version, old.version)
            self.heartbeats.wake()  # tell the collector now, not at the next beat

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(
            device_id=self.config.device_id,
            site_id=self.config.site_id,
            sent_at=datetime.now(UTC),
            model_version=self.classifier.version,
            camera_state=self.camera.state,
            fps=self.timing.fps(),
            stage_ms=self.timing.stage_ms(),
            outbox_depth=self.outbox.depth(),
            uptime_s=round(time.monotonic() - self.started, 1),
            fill_levels=self.agent.fill_levels(),
        )

    def stage_ms(self) -> dict[str, float]:
        """Recent per-stage latency: capture, motion, buffer, isolate, classify, evidence, deliver."""
        return self.timing.stage_ms()

    def run(self) -> int:
        self.supervisor.start("delivery", self.delivery.run)
        self.supervisor.start("heartbeat", self.heartbeats.run)
        if self.rollout is not None:
            self.supervisor.start("rollout", self.rollout.run)
        feed = FrameFeed(self.camera, self.stop).start()
        log.info(
            "edge agent %s at site %s watching %d bins; model %s",
            self.config.device_id,
            self.config.site_id,
            len(self.config.bins),
            self.classifier.version,
        )
        status = 0
        last_prune = 0.0
        try:
            while not self.stop.is_set():
                self._swap_model()
                try:
                    frame = feed.get()
                except queue.Empty:
                    continue  # nothing yet: look at the stop flag and for a new model again
                if frame is None:
                    break
                if frame.after_gap:
                    self.agent.after_gap()
                if self.agent.process(frame.image, frame.t):
                    self.delivery.wake()
                if time.monotonic() - last_prune > PRUNE_EVERY_S:
                    self.outbox.prune_delivered(self.config.storage.keep_delivered_days * 86400)
                    last_prune = time.monotonic()
            if self.agent.close():
                self.delivery.wake()
            if feed.error is not None:
                log.error("camera failed: %s", feed.error)
                status = 1
            elif not self.stop.is_set():
                # A video file ended: deliver what it produced before leaving.
                log.info("source ended; delivering the %d waiting events", self.outbox.depth())
                while self.outbox.depth() and not self.stop.wait(0.2):
                    pass
            if self.camera.incomplete:
                status = 1  # logged by the camera: the file is truncated or damaged
        except OutboxError as exc:
            log.critical("the outbox cannot be written (%s); stopping with status 1", exc)
            status = 1
        finally:
            self.stop.set()
            self.delivery.wake()
            self.heartbeats.wake()
            feed.join()
            self.supervisor.join(timeout_s=self.config.collector.timeout_s + 1)
            if self.supervisor.failed:
                status = 1
            counts = self.agent.counts
            log.info(
                "stopped: %d frames (%d dropped), %d disposals (%d flagged), %d motions that left nothing behind, "
                "%d events still in the outbox",
                counts["frames"],
                feed.dropped,
                counts["disposals"],
                counts["flagged"],
                counts["no_item"],
                self.outbox.depth(),
            )
            self.heartbeats.beat()  # the last word: the camera has stopped, and this is the backlog left
            if self.announcer is not None:
                self.announcer.close()
            self.client.close()
            self.outbox.close()
        return status

    def request_stop(self, signum: int, _frame) -> None:
        log.info("received %s; finishing", signal.Signals(signum).name)
        self.stop.set()


def file_event_ids(config: SiteConfig) -> FileEventIds:
    """The ids of the events of the video file the camera reads, dated as ``Camera`` dates its frames."""
    source = str(config.camera.source)
    capture = open_capture(source)
    try:
        if not capture.isOpened():
            raise CameraError(f"{source}: cannot open this video file")
        fps = video_fps(capture, config.camera.fps)
        return FileEventIds.of(Path(source), config.device_id, file_start(capture, source, fps), fps)
    finally:
        capture.release()


def run(config: SiteConfig) -> int:
    """``binwatch edge run``: until SIGTERM/SIGINT, or until a video file source has ended and
    everything it produced is delivered."""
    live = LiveAgent(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, live.request_stop)
    return live.run()
