"""The edge agent: frames in, disposal events out, each one flagged or not, with its evidence.

Per frame: motion in each bin opening (``motion``), hysteresis into disposals
(``segment``), and, when evidence is kept, a JPEG copy into the clip ring buffer. Per
disposal, once the opening is still again: the item is what changed since before the
disposal (``isolate``), several crops of it are classified and combined (``consensus``),
the rules decide the flags (``flags``). A flagged event then waits ``clips.post_s`` for the
end of its clip, its evidence is written and it is committed to the outbox; unflagged
events are committed at once (with their crop when ``clips.unflagged_crop``).

Where the frames come from is not its business: ``offline.run_offline`` feeds it a video
file, ``live.LiveAgent`` a camera (``binwatch edge run``).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from binwatch.edge import flags as rules
from binwatch.edge.camera import CameraError
from binwatch.edge.clip import ClipBuffer, usable_codec
from binwatch.edge.config import BinConfig, SiteConfig, check_polygons
from binwatch.edge.consensus import Consensus, classify
from binwatch.edge.evidence import EvidenceFile, EvidenceWriter
from binwatch.edge.isolate import Box, Opening, changed_region, item_crops
from binwatch.edge.modelcheck import verified
from binwatch.edge.motion import MotionDetector
from binwatch.edge.outbox import Outbox
from binwatch.edge.segment import Role, Segment, Segmenter
from binwatch.edge.timing import Timing
from binwatch.events.schema import Event, Flag
from binwatch.inference.classifier import Classifier, default_model_path

log = logging.getLogger(__name__)

STILL_VIEWS = 48  # settled views of an opening kept per disposal; crops are spread over them


def load_classifier(config: SiteConfig) -> Classifier:
    """The site's model, or the shipped release model, checked as roll-out checks one; one thread."""
    return verified(config.model or default_model_path())


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
    returning it; without one it only decides (offline evaluation). ``event_ids``, set for a
    video file (``eventid.FileEventIds``), derives each event's id; otherwise ids are random.
    """

    event_ids: Callable[[str, datetime], uuid.UUID] | None = None

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
        last = self._last_frame
        if last is None:  # no frame came
            return []
        for b in self.bins:
            segment = b.segmenter.close()
            if segment is not None:
                self._conclude(b, segment, last)
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
        event_id = self.event_ids(v.bin.config.id, v.segment.started_at) if self.event_ids else uuid.uuid4()
        if self.outbox is not None and (known := self.outbox.stored(event_id)) is not None:
            log.info("disposal at bin %s is event %s, committed by an earlier run", v.bin.config.id, event_id)
            return known
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
