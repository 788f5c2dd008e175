"""The edge agent: frames in, disposal events out, each one flagged or not, with its evidence.

Per frame: motion in each bin opening (``motion``), hysteresis into disposals
(``segment``), and, when evidence is kept, a JPEG copy into the clip ring buffer. Per
disposal, once the opening is still again: the item is what changed since before the
disposal (``isolate``), several crops of it are classified and combined (``consensus``),
the rules decide the flags (``flags``). A flagged event then waits ``clips.post_s`` for the
end of its clip, its evidence is written and it is committed to the outbox; unflagged
events are committed at once (with their crop when ``clips.unflagged_crop``).

``run_offline`` drives an ``Agent`` over a video file as fast as it decodes; ``run`` is
``binwatch edge run``: a live source, the outbox, delivery, heartbeats and model roll-out in
threads, a new model swapped in between two frames, and a clean stop on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from binwatch.edge import flags as rules
from binwatch.edge.camera import Camera, CameraError, FrameFeed, open_capture, video_fps
from binwatch.edge.client import CollectorClient
from binwatch.edge.clip import ClipBuffer, usable_codec
from binwatch.edge.config import BinConfig, ConfigError, SiteConfig
from binwatch.edge.consensus import Consensus, classify
from binwatch.edge.delivery import Delivery
from binwatch.edge.evidence import EvidenceFile, EvidenceWriter
from binwatch.edge.heartbeat import HeartbeatSender
from binwatch.edge.isolate import Box, Opening, changed_region, item_crops
from binwatch.edge.motion import MotionDetector
from binwatch.edge.outbox import Outbox
from binwatch.edge.rollout import ModelUpdater, load_installed
from binwatch.edge.segment import Role, Segment, Segmenter
from binwatch.edge.storage import Layout
from binwatch.edge.timing import Timing
from binwatch.events.schema import Event, Flag, Heartbeat
from binwatch.inference.classifier import Classifier, default_model_path

log = logging.getLogger(__name__)

# Offline runs date their frames from here: a Monday, 09:00 China Standard Time.
OFFLINE_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
STILL_VIEWS = 48  # settled views of an opening kept per disposal; crops are spread over them
DRAIN_TIMEOUT_S = 60.0
PRUNE_EVERY_S = 3600.0


def load_classifier(config: SiteConfig) -> Classifier:
    """The site's model, or the shipped release model; one thread, as the box runs it."""
    return Classifier(config.model or default_model_path(), threads=1)


def check_polygons(bins: list[BinConfig], frame_size: tuple[int, int]) -> None:
    width, height = frame_size
    for i, b in enumerate(bins):
        outside = [(x, y) for x, y in b.polygon if x >= width or y >= height]
        if outside:
            raise ConfigError(
                f"bins.{i}.polygon: point {outside[0]} lies outside the camera frame "
                f"({width}x{height}); draw it with `binwatch edge check-config`"
            )


@dataclass
class _Bin:
    index: int
    config: BinConfig
    opening: Opening
    segmenter: Segmenter
    reference: np.ndarray | None = None  # the last calm frame before a disposal (shared, never written)
    still: deque = field(default_factory=lambda: deque(maxlen=STILL_VIEWS))  # the opening while it is still


@dataclass
class _Verdict:
    """A concluded disposal, waiting (when flagged) for the end of its clip."""

    bin: _Bin
    segment: Segment
    frame: np.ndarray  # the settled frame, for the snapshot
    box: Box | None  # the item, in frame coordinates
    consensus: Consensus | None
    flags: list[Flag]
    release_at: datetime
    model_version: str  # the model that classified it, even if another is swapped in while it waits


class Agent:
    """Frames with their timestamps in; events out, in the order they are concluded.

    With an ``outbox`` the agent keeps evidence and commits every event there before
    returning it; without one it only decides (offline evaluation).
    """

    def __init__(
        self, config: SiteConfig, classifier: Classifier, *, outbox: Outbox | None = None, timing: Timing | None = None
    ):
        self.config, self.classifier, self.outbox = config, classifier, outbox
        self.timing = timing or Timing()
        self.frame_size: tuple[int, int] | None = None
        self.counts = {"frames": 0, "disposals": 0, "flagged": 0, "no_item": 0}
        self._waiting: list[_Verdict] = []
        self._last_frame: np.ndarray | None = None
        if outbox is not None:
            usable_codec(config.clips.codec)  # fail at start, not at the first flagged event

    def _start(self, frame: np.ndarray) -> None:
        size = (frame.shape[1], frame.shape[0])
        check_polygons(self.config.bins, size)
        th = self.config.thresholds
        self.frame_size = size
        self.motion = MotionDetector(size, [b.polygon for b in self.config.bins], th.motion_pixel_delta)
        self.bins = [
            _Bin(i, b, Opening(b.polygon), Segmenter(th.motion_fraction, th.start_frames, th.settle_s, th.max_event_s))
            for i, b in enumerate(self.config.bins)
        ]
        if self.outbox is not None:
            self.buffer = ClipBuffer(size, self.config.clips.width)
            self.writer = EvidenceWriter(self.outbox.layout, self.config.bins, size, self.config.clips)

    def process(self, frame: np.ndarray, t: datetime) -> list[Event]:
        """One BGR frame taken at ``t`` (aware); returns the events concluded by it."""
        if self.frame_size is None:
            self._start(frame)
        elif (frame.shape[1], frame.shape[0]) != self.frame_size:
            raise CameraError(
                f"the camera's frame size changed from {self.frame_size} to "
                f"{frame.shape[1]}x{frame.shape[0]}; the bin polygons are for the first"
            )
        with self.timing.measure("motion"):
            motions = self.motion.update(frame)
            roles = [(b, *b.segmenter.update(t, m.inside, m.around)) for b, m in zip(self.bins, motions, strict=True)]
        if self.outbox is not None:
            with self.timing.measure("buffer"):
                self.buffer.add(t, frame)
        for b, role, segment in roles:
            if role is Role.REFERENCE:
                b.reference = frame
            elif role is Role.STILL:
                b.still.append(b.opening.cut(frame))
            else:
                b.still.clear()
            if segment is not None:
                self._conclude(b, segment, frame)
        self._last_frame = frame
        self.counts["frames"] += 1
        self.timing.frame_done()
        return self._release(t)

    def after_gap(self) -> None:
        """The stream was interrupted: the previous frame is no baseline for motion."""
        if self.frame_size is not None:
            self.motion.reset()

    def close(self) -> list[Event]:
        """The stream ended: conclude what can be concluded, release everything waiting."""
        if self.frame_size is None:
            return []
        for b in self.bins:
            segment = b.segmenter.close()
            if segment is not None:
                self._conclude(b, segment, self._last_frame)
        return self._release(None)

    def _conclude(self, b: _Bin, segment: Segment, frame: np.ndarray) -> None:
        box = consensus = None
        if segment.settled and b.still and b.reference is not None:
            with self.timing.measure("isolate"):
                th = self.config.thresholds
                found = changed_region(
                    b.opening.cut(b.reference), b.still[-1], b.opening, th.change_pixel_delta, th.item_min_fraction
                )
            if found is None:
                # Something moved over the opening and left nothing behind: a hand, not a disposal.
                self.counts["no_item"] += 1
                log.debug("motion at bin %s left nothing behind; not a disposal", b.config.id)
                b.still.clear()
                return
            box = found.box.shifted(b.opening.box.x, b.opening.box.y)
            crops = item_crops(found, list(b.still), th.consensus_crops, self.classifier.preprocess.pad_value)
            with self.timing.measure("classify"):
                consensus = classify(self.classifier, crops)
        b.still.clear()
        decided = rules.decide(
            b.config.category, consensus, segment.started_at, self.config.thresholds, self.config.schedule
        )
        hold = self.outbox is not None and decided
        release_at = segment.ended_at + timedelta(seconds=self.config.clips.post_s if hold else 0)
        self._waiting.append(_Verdict(b, segment, frame, box, consensus, decided, release_at, self.classifier.version))

    def _release(self, now: datetime | None) -> list[Event]:
        """Events whose clip is complete (all of them when ``now`` is None)."""
        due = [now is None or v.release_at <= now for v in self._waiting]
        ready = [v for v, d in zip(self._waiting, due, strict=True) if d]
        self._waiting = [v for v, d in zip(self._waiting, due, strict=True) if not d]
        events = [self._emit(v) for v in ready]
        if self.outbox is not None and now is not None:
            pre = timedelta(seconds=self.config.clips.pre_s)
            starts = [now] + [v.segment.started_at for v in self._waiting]
            starts += [b.segmenter.started_at for b in self.bins if b.segmenter.started_at is not None]
            self.buffer.trim(min(starts) - pre)
        return events

    def _emit(self, v: _Verdict) -> Event:
        event_id = uuid.uuid4()
        files: list[EvidenceFile] = []
        if self.outbox is not None:
            with self.timing.measure("evidence"):
                files = self._evidence(event_id, v)
        prediction = v.consensus.prediction() if v.consensus is not None else None
        event = Event(
            event_id=event_id,
            device_id=self.config.device_id,
            site_id=self.config.site_id,
            bin_id=v.bin.config.id,
            bin_category=v.bin.config.category,
            started_at=v.segment.started_at,
            ended_at=v.segment.ended_at,
            prediction=prediction,
            flags=v.flags,
            model_version=v.model_version,
            evidence=[f.evidence for f in files],
        )
        if self.outbox is not None:
            self.outbox.add(event, files)
            self.outbox.enforce_budget(int(self.config.storage.budget_mb * 2**20))
        self.counts["disposals"] += 1
        self.counts["flagged"] += bool(v.flags)
        seen = f"{prediction.item} ({prediction.category} {prediction.category_score:.2f})" if prediction else None
        log.info(
            "disposal at bin %s: %s%s",
            v.bin.config.id,
            seen or "no item seen",
            f", flagged {', '.join(f.value for f in v.flags)}" if v.flags else "",
            extra={
                "event_id": str(event_id),
                "bin_id": v.bin.config.id,
                "flags": [f.value for f in v.flags],
                "item": prediction.item if prediction else None,
                "started_at": v.segment.started_at.isoformat(),
            },
        )
        return event

    def _evidence(self, event_id: uuid.UUID, v: _Verdict) -> list[EvidenceFile]:
        clips = self.config.clips
        clip_frames = None
        if v.flags:
            clip_frames = self.buffer.between(
                v.segment.started_at - timedelta(seconds=clips.pre_s),
                v.segment.ended_at + timedelta(seconds=clips.post_s),
            )
        elif not clips.unflagged_crop or v.box is None:
            return []
        top = v.consensus.top if v.consensus else None
        label = f"{top.item} ({top.category} {top.category_score:.2f})" if top else ""
        try:
            return self.writer.write(event_id, v.bin.index, v.frame, v.box, label, clip_frames)
        except OSError as exc:
            log.error("could not write the evidence of event %s (%s); it goes without", event_id, exc)
            return []


def run_offline(
    config: SiteConfig,
    video: Path,
    *,
    deliver: bool = False,
    start_time: datetime | None = None,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
    timing: Timing | None = None,
) -> list[Event]:
    """Run the agent over a whole video file as fast as it decodes and return every event.

    Frame ``i`` is dated ``start_time + i / fps`` (default ``OFFLINE_START``), fps from the
    file. Without ``deliver`` nothing is written (evaluation). With it, evidence is kept and
    events go through the outbox under ``config.storage.dir`` to the collector, and the call
    returns once the outbox is empty or ``drain_timeout_s`` has passed.
    """
    capture = open_capture(str(video))
    if not capture.isOpened():
        raise CameraError(f"{video}: cannot open this video file")
    outbox = delivery = None
    if deliver:
        outbox = Outbox(Layout(config.storage.dir))
        outbox.recover()
        client = CollectorClient(config.collector)
        delivery = Delivery(outbox, client, config.collector)
    agent = Agent(config, load_classifier(config), outbox=outbox, timing=timing)
    events: list[Event] = []
    try:
        start, fps, index = start_time or OFFLINE_START, video_fps(capture, config.camera.fps), 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            events += agent.process(frame, start + timedelta(seconds=index / fps))
            index += 1
        events += agent.close()
        if delivery is not None:
            if not delivery.drain(threading.Event(), drain_timeout_s):
                log.warning("%d events still in the outbox after %.0f s", outbox.depth(), drain_timeout_s)
            client.close()
    finally:
        capture.release()
        if outbox is not None:
            outbox.close()
    return events


class LiveAgent:
    """``binwatch edge run``: the agent on a live source, with outbox, delivery, heartbeats and
    model roll-out (when ``collector.model_check_s`` > 0)."""

    def __init__(self, config: SiteConfig):
        self.config = config
        self.stop = threading.Event()  # everything stops
        self.started = time.monotonic()
        self.timing = Timing()
        layout = Layout(config.storage.dir)
        self.outbox = Outbox(layout)
        self.outbox.recover()
        self.outbox.enforce_budget(int(config.storage.budget_mb * 2**20))
        check_s = config.collector.model_check_s
        # With roll-out on, the model it installed last wins over the configured one.
        classifier = (load_installed(layout.models) if check_s > 0 else None) or load_classifier(config)
        self.client = CollectorClient(config.collector)
        self.delivery = Delivery(self.outbox, self.client, config.collector, self.timing)
        self.camera = Camera(config.camera, self.timing)
        self.agent = Agent(config, classifier, outbox=self.outbox, timing=self.timing)
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
        )

    def stage_ms(self) -> dict[str, float]:
        """Recent per-stage latency: capture, motion, buffer, isolate, classify, evidence, deliver."""
        return self.timing.stage_ms()

    def run(self) -> int:
        threads = [
            threading.Thread(target=self.delivery.run, args=(self.stop,), name="delivery", daemon=True),
            threading.Thread(target=self.heartbeats.run, args=(self.stop,), name="heartbeat", daemon=True),
        ]
        if self.rollout is not None:
            threads.append(threading.Thread(target=self.rollout.run, args=(self.stop,), name="rollout", daemon=True))
        for thread in threads:
            thread.start()
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
                frame = feed.get()
                if frame is None:
                    break
                if frame is False:
                    continue
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
        finally:
            self.stop.set()
            self.delivery.wake()
            self.heartbeats.wake()
            feed.join()
            for thread in threads:
                thread.join(timeout=self.config.collector.timeout_s + 1)
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
            self.client.close()
            self.outbox.close()
        return status

    def request_stop(self, signum: int, _frame) -> None:
        log.info("received %s; finishing", signal.Signals(signum).name)
        self.stop.set()


def run(config: SiteConfig) -> int:
    """``binwatch edge run``: until SIGTERM/SIGINT, or until a video file source has ended and
    everything it produced is delivered."""
    live = LiveAgent(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, live.request_stop)
    return live.run()


def first_frame(config: SiteConfig) -> np.ndarray:
    """One frame from the configured camera (``check-config``)."""
    capture = open_capture(config.camera.source)
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
    finally:
        capture.release()
    if not ok:
        raise CameraError(f"{config.camera.source}: cannot read a frame from the camera")
    return frame
