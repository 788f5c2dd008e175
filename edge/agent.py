"""The edge agent: frames in, disposal events out, each one flagged or not, with its evidence.

Per frame: the small normalised frame and what moves in it (``motion``); per bin, what stands
out of the opening's background and whether it reaches over the rim (``foreground``), the
disposal's start and end (``segment``), items landing while it goes on (``landing``), and, when
evidence is kept, a JPEG copy into the clip ring buffer; with an announcer, whether an item has
landed and what its early verdict says (``early``: the voice need not wait). Per disposal, once
the opening is quiet and clear again: what changed between the clear views before and after it
(``isolate``), each item's crops from several moments (``crops``) classified and combined
(``consensus``), the rules' flags (``flags``), and what the bin's contents now look like
(``contents``). An item becomes an
event; a disposal whose item cannot be isolated becomes an ``item_unseen`` event for review; an
emptied bin, a passer-by or a hand that left nothing become none. A flagged event then waits
``clips.post_s`` for the end of its clip, its evidence is written and it is committed to the
outbox; unflagged events are committed at once (with their crop when ``clips.unflagged_crop``).

Where the frames come from is not its business: ``offline.run_offline`` feeds it a video
file, ``live.LiveAgent`` a camera (``binwatch edge run``).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from binwatch.edge import flags as rules
from binwatch.edge.announce import Announcer
from binwatch.edge.camera import CameraError
from binwatch.edge.clip import ClipBuffer, usable_codec
from binwatch.edge.collection import Collections, ContainerWatch, Visit
from binwatch.edge.config import BinConfig, SiteConfig, check_polygons
from binwatch.edge.consensus import Consensus, classify
from binwatch.edge.contents import Contents, taken_out
from binwatch.edge.crops import item_crops
from binwatch.edge.early import EarlyVerdict
from binwatch.edge.evidence import EvidenceFile, EvidenceWriter
from binwatch.edge.fill import RIM_SHARE, OverflowAlarm
from binwatch.edge.foreground import OpeningWatch
from binwatch.edge.ground import GroundChange, GroundWatch
from binwatch.edge.isolate import Box, Found, before_only, compare
from binwatch.edge.landing import Footage
from binwatch.edge.light import in_colour
from binwatch.edge.modelcheck import verified
from binwatch.edge.motion import NOISE_SIGMAS, MotionDetector, SmallFrame
from binwatch.edge.outbox import Outbox
from binwatch.edge.region import Region, View, mean_view
from binwatch.edge.segment import REACH_S, Role, Segment, Segmenter
from binwatch.edge.timing import Timing
from binwatch.events.schema import Event, EventKind, Flag
from binwatch.inference.classifier import Classifier, default_model_path

log = logging.getLogger(__name__)

REFERENCE_VIEWS = 4  # clear views kept while no disposal goes on; their mean is the "before"
LANDED_S = 0.2  # an item is seen "as it landed" this long after it came to lie still
STILL_VIEWS = 6  # clear, quiet views kept at the end of a disposal; their mean is the "after"
GROUND_LEAD_S = 10.0  # a littering clip reaches this far before the litter kept still (it was put down)


def load_classifier(config: SiteConfig) -> Classifier:
    """The site's model, or the shipped release model, checked as roll-out checks one; one thread."""
    return verified(config.model or default_model_path())


@dataclass
class _Bin:
    index: int
    config: BinConfig
    watch: OpeningWatch
    region: Region
    segmenter: Segmenter
    footage: Footage
    contents: Contents
    overflow: OverflowAlarm
    early: EarlyVerdict | None  # with an announcer: the verdict as the item lands, for the voice
    reference: deque = field(default_factory=lambda: deque(maxlen=REFERENCE_VIEWS))  # views while idle
    still: deque = field(default_factory=lambda: deque(maxlen=STILL_VIEWS))  # clear views during a disposal
    before: list[View] = field(default_factory=list)  # the reference when the disposal started
    others: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))  # its region's side of other bins


@dataclass
class _Verdict:
    """A concluded disposal's item (or its unseen item), waiting (when flagged) for the end of its clip."""

    bin: _Bin
    segment: Segment
    frame: np.ndarray  # the settled frame, for the snapshot
    box: Box | None  # the item, in frame coordinates
    consensus: Consensus | None
    flags: list[Flag]
    release_at: datetime
    model_version: str  # the model that classified it, even if another is swapped in while it waits
    item: int = 0  # which item of the disposal: a disposal of several items is as many events
    window: tuple[datetime, datetime] | None = None  # the event's own times within the disposal (a reach)


@dataclass
class _Noted:
    """Litter found or cleared in a ground zone, waiting (when found) for the end of its clip."""

    change: GroundChange
    frame: np.ndarray
    at: datetime  # the frame that found it
    release_at: datetime


class Agent:
    """Frames with their timestamps in; events out, in the order they are concluded.

    With an ``outbox`` the agent keeps evidence and commits every event there before
    returning it; without one it only decides (offline evaluation). ``event_ids``, set for a
    video file (``eventid.FileEventIds``), derives each event's id; otherwise ids are random.
    """

    event_ids: Callable[[str, datetime], uuid.UUID] | None = None

    def __init__(
        self,
        config: SiteConfig,
        classifier: Classifier,
        *,
        outbox: Outbox | None = None,
        timing: Timing | None = None,
        announcer: Announcer | None = None,
    ):
        self.config, self.classifier, self.outbox = config, classifier, outbox
        self.announcer = announcer  # told of each verdict the moment it is concluded (``edge/announce.py``)
        self.timing = timing or Timing()
        self.frame_size: tuple[int, int] | None = None
        self.counts = {"frames": 0, "disposals": 0, "flagged": 0, "no_item": 0, "item_unseen": 0, "emptied": 0}
        self.counts |= {k.value: 0 for k in (EventKind.LITTERING, EventKind.LITTER_CLEARED, EventKind.OVERFLOW)}
        self.counts |= {EventKind.EMPTYING.value: 0, EventKind.MIXED_COLLECTION.value: 0}
        self._waiting: list[_Verdict] = []
        self._noted: list[_Noted] = []
        self._ready: list[Event] = []  # overflows and emptyings: sent as they happen
        self._last: tuple[np.ndarray, SmallFrame] | None = None
        self._origin: datetime | None = None
        self._last_t: datetime | None = None  # the latest frame's time: when a verdict is concluded
        if outbox is not None:
            usable_codec(config.clips.codec)  # fail at start, not at the first flagged event

    def _start(self, frame: np.ndarray, t: datetime) -> None:
        size = (frame.shape[1], frame.shape[0])
        check_polygons(self.config.bins, size, self.config.zones)
        th = self.config.thresholds
        self.frame_size, self._origin = size, t
        self.motion = MotionDetector(size, th.motion_pixel_delta)
        self.bins = []
        for i, b in enumerate(self.config.bins):
            watch = OpeningWatch(b.polygon, self.motion.scale, self.motion.size, th.motion_pixel_delta)
            region = Region(b.polygon, watch.window, self.motion.scale, size)
            self.bins.append(
                _Bin(
                    i,
                    b,
                    watch,
                    region,
                    Segmenter(th.motion_fraction, th.start_frames, th.settle_s, th.max_event_s),
                    Footage(),
                    Contents(region),
                    OverflowAlarm(self.config.fill.overflow_level),
                    self._early(b, region, watch),
                )
            )
        for kept in self.bins:  # what lies over another bin's opening is never this bin's heap
            kept.others = kept.region.nearer([o.polygon for o in self.config.bins if o is not kept.config])
        openings = [b.polygon for b in self.config.bins]  # a zone beside the bins leaves them out
        self.ground = [
            GroundWatch(z, self.motion.scale, self.motion.size, th.motion_pixel_delta, self.config.litter, openings)
            for z in self.config.zones
            if z.kind == "ground"
        ]
        self.collections = self._collections(openings)
        if self.outbox is not None:
            self.buffer = ClipBuffer(size, self.config.clips.width, self.config.clips.fps)
            self.writer = EvidenceWriter(self.outbox.layout, self.config.bins, size, self.config.clips)

    def _early(self, b: BinConfig, region: Region, watch: OpeningWatch) -> EarlyVerdict | None:
        if self.announcer is None or not self.config.announce.early:
            return None
        return EarlyVerdict(b, region, watch, self.config, self.announcer, LANDED_S, self.timing)

    def process(self, frame: np.ndarray, t: datetime) -> list[Event]:
        """One BGR frame taken at ``t`` (aware); returns the events concluded by it."""
        if self.frame_size is None:
            self._start(frame, t)
        elif (frame.shape[1], frame.shape[0]) != self.frame_size:
            raise CameraError(
                f"the camera's frame size changed from {self.frame_size} to "
                f"{frame.shape[1]}x{frame.shape[0]}; the bin polygons are for the first"
            )
        assert self._origin is not None
        self._last_t = t
        seconds = (t - self._origin).total_seconds()
        concluded = []
        with self.timing.measure("motion"):
            small = self.motion.update(frame)
        with self.timing.measure("openings"):
            updates = []
            for b in self.bins:
                seen = b.watch.update(small, seconds)
                was_idle = b.segmenter.started_at is None
                ring = 0.0 if small.exposure_step else seen.moving_band  # a step of the light moves all of it
                role, segment = b.segmenter.update(
                    t, seen.moving, seen.over_rim, seen.reaching_in, seen.reaching_far, ring
                )
                if was_idle and (segment is not None or b.segmenter.started_at is not None):
                    b.before, b.still = list(b.reference), deque(maxlen=STILL_VIEWS)
                    b.footage.reset()
                    b.watch.hold()
                updates.append((b, seen, role, segment))
        with self.timing.measure("footage"):
            for b, seen, _, segment in updates:
                if b.segmenter.started_at is not None or segment is not None:
                    b.footage.add(
                        seconds,
                        small.image[b.watch.window],
                        small.gain,
                        seen.reaching,
                        partial(b.region.view, frame, t, small.gain),
                    )
        if self.announcer is not None:
            with self.timing.measure("early"):
                for b, seen, _, _ in updates:
                    if b.early is not None:
                        started = b.segmenter.started_at
                        b.early.update(started, b.before, seen, small, frame, t, seconds, self.classifier)
        with self.timing.measure("views"):
            for b, _, role, segment in updates:
                if role is Role.REFERENCE:
                    b.reference.append(b.region.view(frame, t, small.gain))
                    b.contents.seen(b.reference[-1])
                elif role is Role.STILL:
                    b.still.append(b.region.view(frame, t, small.gain))
                else:
                    b.still.clear()
                if segment is not None:
                    concluded.append((b, segment))
        if self.ground:
            with self.timing.measure("ground"):
                for g in self.ground:
                    for change in g.update(small, t, seconds):
                        self._note(change, frame, t)
        if self.collections is not None:
            with self.timing.measure("collection"):
                for visit in self.collections.update(small, frame, t, seconds):
                    self._ready.append(self._emit_collection(visit, t))
        if self.outbox is not None:
            with self.timing.measure("buffer"):
                self.buffer.add(t, frame)
        for b, segment in concluded:
            self._conclude(b, segment, frame, small)
        self._last = (frame, small)
        self.counts["frames"] += 1
        self.timing.frame_done()
        return self._release(t)

    def after_gap(self) -> None:
        """The stream was interrupted: the previous frame is no baseline for motion, nor the time a hand
        was last seen in an opening for how long it stayed in."""
        if self.frame_size is not None:
            self.motion.reset()
            for b in self.bins:
                b.segmenter.after_gap()

    def close(self) -> list[Event]:
        """The stream ended: conclude what can be concluded, release everything waiting."""
        if self._last is None:  # no frame came
            return []
        frame, small = self._last
        for b in self.bins:
            segment = b.segmenter.close()
            if segment is not None:
                self._conclude(b, segment, frame, small)
        if self.collections is not None and self._last_t is not None:
            self._ready += [self._emit_collection(v, self._last_t) for v in self.collections.close()]
        return self._release(None)

    def fill_levels(self) -> dict[str, float]:
        """Each bin's fill level (``contents.Contents.fill_level``); bins not yet seen clear are left out."""
        if self.frame_size is None:
            return {}
        levels = {b.config.id: b.contents.fill_level() for b in self.bins}
        return {bin_id: level for bin_id, level in levels.items() if level is not None}

    def _conclude(self, b: _Bin, segment: Segment, frame: np.ndarray, small: SmallFrame) -> None:
        th = self.config.thresholds
        if not segment.settled or not b.before or not b.still:
            # Cut short while the opening was busy, or no clear view on one side: nothing to compare.
            b.watch.release(small)
            if segment.reached_in:
                self._unseen(b, segment, frame, "the opening was never clear")
            return
        with self.timing.measure("isolate"):
            before, after = mean_view(b.before), mean_view(b.still)
            threshold = max(th.motion_pixel_delta, NOISE_SIGMAS * small.noise)
            held = b.watch.held if b.watch.held is not None else b.watch.background
            assert held is not None  # the watch has seen frames
            settled = b.footage.settled_at(small.image[b.watch.window], small.gain, threshold, held)
            # Contents heaped above the rim are the bin's: an item thrown onto them lies inside it. Only a bin
            # whose own contents hide its rim is heaped: a neighbour's heap spilling over it is not its own.
            region = b.region
            if b.contents.rim_hidden >= RIM_SHARE:
                region = region.with_heap(region.scaled(b.watch.heaped.astype(np.uint8)) > 0, b.others)
            found = compare(
                b.before,
                list(b.still),
                region,
                th.change_pixel_delta,
                th.item_min_fraction,
                th.item_max_fraction,
                lambda mask: b.footage.landings(
                    mask, settled, b.region.scaled, threshold, held, th.item_min_fraction * region.area
                ),
                brief=(segment.ended_at - segment.started_at).total_seconds() < REACH_S,
            )
            places = [self._place(b, item) for item in found.items]
            taken = taken_out(before, after, region, places, b.contents.lowest)
            # What only the views before showed (somebody passing over the heap as the disposal began) is none.
            passed = before_only(before, after, held, [b.region.shrunk(place, held.shape[:2]) for place in places])
            kept = [not out and not gone for out, gone in zip(taken, passed, strict=True)]
            found = replace(found, items=[item for item, keep in zip(found.items, kept, strict=True) if keep])
            kind = b.contents.changed(
                after, len(found.items), found.changed, found.large, before, sum(taken), found.faint
            )
            b.watch.settle(small)
        b.reference.clear()
        b.reference.append(after)
        if kind == "emptied":
            b.watch.emptied()
        if kind == "emptied" and segment.reached_in:
            b.overflow.emptied()
            level = b.contents.changes[-1].coverage_before
            if level is not None:
                self._ready.append(
                    self._emit_bin(b, EventKind.EMPTYING, level, segment.started_at, segment.ended_at, frame)
                )
            if self.collections is not None:
                self.collections.emptied(b.config, segment.started_at, segment.ended_at)
        if segment.reached_in and kind != "emptied":  # something went in: it may be full, heaped over the rim
            self._fill(b, frame, segment.ended_at)
        if not segment.reached_in:
            log.debug("bin %s: its contents shifted with nothing reaching in; not a disposal", b.config.id)
            return
        if kind == "emptied":
            self.counts["emptied"] += 1
            log.info("bin %s was emptied", b.config.id, extra={"bin_id": b.config.id})
            return
        if not found.items:
            if (found.faint or found.large > 0) and segment.reach_s >= REACH_S:
                self._unseen(b, segment, frame, "a change too faint or too large for an item")
            else:
                # Something reached in and left nothing behind: a hand, a passer-by, not a disposal.
                self.counts["no_item"] += 1
                log.debug("motion at bin %s left nothing behind; not a disposal", b.config.id)
            return
        size, fill = self.classifier.preprocess.size, self.classifier.preprocess.pad_value
        for index, item in enumerate(found.items):
            landed = None
            if item.landed_at is not None:
                mask = self._place(b, item)
                landed = b.footage.view_after(item.landed_at + LANDED_S, b.region.shrunk(mask, b.watch.inside.shape))
            shown = after
            if item.covered:  # a later item hides it in the view after: only the view as it landed shows it
                if landed is None:
                    self._unseen(b, segment, frame, "an item hidden by a later one", index)
                    continue
                shown, landed = landed, None
            crops = item_crops(item, shown, landed, th.consensus_crops, size, fill)
            with self.timing.measure("classify"):
                consensus = classify(self.classifier, crops)
            box = item.box.shifted(b.region.x0, b.region.y0)
            self._decide(b, segment, frame, box, consensus, [], index)
        for index, reach in enumerate(self._reaches_without_item(segment, found.items), len(found.items)):
            self._unseen(b, segment, frame, "a reach without an item", index, reach)

    def _reaches_without_item(self, segment: Segment, items: list[Found]) -> list[tuple[datetime, datetime]]:
        """The reaches no item is accounted for by, each from its start until the next one began (what the
        hand let go of landed before it came back with the next) or the disposal ended. Each item came
        with the latest reach that began before it landed (the earliest left, if its landing is unknown or
        came before any): two items that came to light only together, as one region with one landing,
        leave the hand's first reach without one."""
        assert self._origin is not None
        if not segment.reaches:  # reaches too brief or covered by the body, or nothing went in beyond it
            return []
        starts = [began for began, _ in segment.reaches]
        windows = list(zip(starts, [*starts[1:], segment.ended_at], strict=True))
        known = sorted(i.landed_at for i in items if i.landed_at is not None)
        for landed in known:
            before = [w for w in windows if (w[0] - self._origin).total_seconds() <= landed]
            if windows:
                windows.remove(before[-1] if before else windows[0])
        return windows[len(items) - len(known) :]

    @staticmethod
    def _place(b: _Bin, item: Found) -> np.ndarray:
        """An item's outline as a mask of its bin's region."""
        mask = np.zeros(b.region.shape, bool)
        item.box.cut(mask)[:] = item.mask > 0
        return mask

    def _unseen(
        self,
        b: _Bin,
        segment: Segment,
        frame: np.ndarray,
        why: str,
        item: int = 0,
        window: tuple[datetime, datetime] | None = None,
    ) -> None:
        self.counts["item_unseen"] += 1
        log.info("bin %s: something went in but no item could be isolated (%s)", b.config.id, why)
        self._decide(b, segment, frame, None, None, [Flag.ITEM_UNSEEN], item, window)

    def _decide(
        self,
        b: _Bin,
        segment: Segment,
        frame: np.ndarray,
        box: Box | None,
        consensus: Consensus | None,
        review: list[Flag],
        item: int = 0,
        window: tuple[datetime, datetime] | None = None,
    ) -> None:
        """The verdict on one item of a disposal; ``window``, its own times within the disposal (its id,
        clip, announcement and schedule are the disposal's)."""
        decided = rules.decide(
            b.config.category,
            consensus,
            segment.started_at,
            self.config.thresholds,
            self.config.schedule,
            consensus is None or in_colour(frame),  # without a consensus there is nothing to judge by colour
        )
        said = b.early is not None and b.early.spoke(segment.started_at)  # as the item landed: said once
        if self.announcer is not None and self._last_t is not None and not said:
            self.announcer.verdict(b.config, decided, self._last_t)
        flags = decided + [f for f in review if f not in decided]
        hold = self.outbox is not None and bool(flags)
        release_at = segment.ended_at + timedelta(seconds=self.config.clips.post_s if hold else 0)
        self._waiting.append(
            _Verdict(b, segment, frame, box, consensus, flags, release_at, self.classifier.version, item, window)
        )

    def _release(self, now: datetime | None) -> list[Event]:
        """Events whose clip is complete (all of them when ``now`` is None)."""
        due = [now is None or v.release_at <= now for v in self._waiting]
        ready = [v for v, d in zip(self._waiting, due, strict=True) if d]
        self._waiting = [v for v, d in zip(self._waiting, due, strict=True) if not d]
        events = [self._emit(v) for v in ready] + self._ready
        self._ready = []
        due = [now is None or n.release_at <= now for n in self._noted]
        noted = [n for n, d in zip(self._noted, due, strict=True) if d]
        self._noted = [n for n, d in zip(self._noted, due, strict=True) if not d]
        events += [self._emit_ground(n) for n in noted]
        if self.outbox is not None and now is not None:
            pre = timedelta(seconds=self.config.clips.pre_s)
            starts = [now] + [v.segment.started_at for v in self._waiting]
            starts += [b.segmenter.started_at for b in self.bins if b.segmenter.started_at is not None]
            if self.ground:  # litter is found stay_s after it kept still: keep what its clip needs
                starts += [now - timedelta(seconds=self.config.litter.stay_s + GROUND_LEAD_S)]
                starts += [self._clip_start(n.change) for n in self._noted]
            if self.collections is not None and (first := self.collections.keep_from()) is not None:
                starts.append(first)
            self.buffer.trim(min(starts) - pre)
        return events

    def _fill(self, b: _Bin, frame: np.ndarray, at: datetime) -> None:
        """After a disposal: the level and the rim measured on the mean of the clear views after it. A
        single idle view is too noisy in the dark to raise an alarm on (its texture reads as contents)."""
        level = b.contents.fill_level()
        if b.overflow.reached(level, b.contents.rim_hidden):
            assert level is not None
            self._ready.append(self._emit_bin(b, EventKind.OVERFLOW, level, at, at, frame))

    def _emit_bin(
        self, b: _Bin, kind: EventKind, level: float, started: datetime, ended: datetime, frame: np.ndarray
    ) -> Event:
        """An overflow (its snapshot the evidence) or an emptying (a ledger row, no evidence)."""
        event_id = self._kind_id(b.config.id, started, kind)
        if (known := self._stored(event_id, f"{kind.value} at bin {b.config.id}")) is not None:
            return known
        files: list[EvidenceFile] = []
        if self.outbox is not None and kind is EventKind.OVERFLOW:
            with self.timing.measure("evidence"):
                files = self._write(event_id, b.index, frame, None, "", [])
        event = self._record(
            files,
            kind=kind,
            event_id=event_id,
            bin_id=b.config.id,
            bin_category=b.config.category,
            fill_level=round(min(1.0, max(0.0, level)), 3),
            started_at=started,
            ended_at=ended,
        )
        self.counts[kind.value] += 1
        log.info(
            "bin %s: %s at fill level %.2f",
            b.config.id,
            kind.value,
            level,
            extra={"event_id": str(event_id), "bin_id": b.config.id, "kind": kind.value, "fill_level": level},
        )
        return event

    def _collections(self, openings: Sequence[Sequence[tuple[int, int]]]) -> Collections | None:
        """The collection zones' containers and the emptyings into them (``collection.py``); None without any."""
        th, rules = self.config.thresholds, self.config.collection
        watches = [
            ContainerWatch(z, self.motion.scale, self.motion.size, th.motion_pixel_delta, rules, openings)
            for z in self.config.zones
            if z.kind == "collection"
        ]
        return Collections(watches, rules) if watches else None

    def _emit_collection(self, visit: Visit, t: datetime) -> Event:
        """A container into which bins of several categories were emptied: the container's snapshot
        and crop, and a clip from the first emptying until it was wheeled away."""
        started, ended = visit.emptied[0].started_at, visit.left_at or t
        zone = visit.zone
        event_id = self._kind_id(zone.id, started, EventKind.MIXED_COLLECTION)
        if (known := self._stored(event_id, f"mixed collection in zone {zone.id}")) is not None:
            return known
        files: list[EvidenceFile] = []
        if self.outbox is not None:
            clip_frames = self.buffer.between(started - timedelta(seconds=self.config.clips.pre_s), ended)
            with self.timing.measure("evidence"):
                label = "container: " + ", ".join(visit.categories)
                files = self._write(event_id, None, visit.frame, visit.box, label, clip_frames, zone=zone)
        event = self._record(
            files,
            kind=EventKind.MIXED_COLLECTION,
            event_id=event_id,
            zone_id=zone.id,
            categories=visit.categories,
            started_at=started,
            ended_at=max(ended, started),
        )
        self.counts[EventKind.MIXED_COLLECTION.value] += 1
        log.info(
            "mixed collection in zone %s: %s emptied into one container",
            zone.id,
            ", ".join(visit.categories),
            extra={"event_id": str(event_id), "zone_id": zone.id, "kind": EventKind.MIXED_COLLECTION.value},
        )
        return event

    def _note(self, change: GroundChange, frame: np.ndarray, t: datetime) -> None:
        """Litter found waits for the end of its clip; its clearing waits for it to be sent first."""
        release_at = t + timedelta(seconds=self.config.clips.post_s if self.outbox is not None else 0)
        if change.cleared:
            found = [n.release_at for n in self._noted if n.change.litter is change.litter]
            release_at = max([t, *found])
        self._noted.append(_Noted(change, frame, t, release_at))

    def _clip_start(self, change: GroundChange) -> datetime:
        litter = change.litter
        lead = timedelta(seconds=self.config.litter.stay_s + GROUND_LEAD_S)
        return max(litter.started_at, litter.confirmed_at - lead)

    def _emit_ground(self, n: _Noted) -> Event:
        litter, cleared = n.change.litter, n.change.cleared
        kind = EventKind.LITTER_CLEARED if cleared else EventKind.LITTERING
        if self.event_ids is None:
            event_id = uuid.uuid4() if cleared else litter.event_id
        else:  # from a file: the id a re-run gives again; the clearing names the littering's
            at = litter.cleared_at if cleared else litter.started_at
            assert at is not None
            event_id = self._kind_id(litter.zone.id, at, kind)
            if not cleared:
                litter.event_id = event_id
        if (known := self._stored(event_id, f"{kind.value} in zone {litter.zone.id}")) is not None:
            return known
        files: list[EvidenceFile] = []
        if self.outbox is not None:
            clips = self.config.clips
            clip_frames = []  # a clearing: the snapshot and the bare spot are its proof
            if not cleared:
                start = self._clip_start(n.change) - timedelta(seconds=clips.pre_s)
                clip_frames = self.buffer.between(start, n.at + timedelta(seconds=clips.post_s))
            with self.timing.measure("evidence"):
                label = "cleared" if cleared else "litter"
                files = self._write(event_id, None, n.frame, litter.box, label, clip_frames, zone=litter.zone)
        started = litter.cleared_at if cleared else litter.started_at
        assert started is not None  # a cleared litter has its clearing time
        event = self._record(
            files,
            kind=kind,
            event_id=event_id,
            zone_id=litter.zone.id,
            resolves=litter.event_id if cleared else None,
            started_at=started,
            ended_at=n.at,
        )
        self.counts[event.kind.value] += 1
        log.info(
            "%s in zone %s%s",
            "litter cleared" if cleared else "litter left",
            litter.zone.id,
            f" (since {litter.started_at.isoformat()})" if not cleared else "",
            extra={"event_id": str(event_id), "zone_id": litter.zone.id, "kind": event.kind.value},
        )
        return event

    def _emit(self, v: _Verdict) -> Event:
        event_id = self._event_id(v)
        if (known := self._stored(event_id, f"disposal at bin {v.bin.config.id}")) is not None:
            return known
        files: list[EvidenceFile] = []
        if self.outbox is not None:
            with self.timing.measure("evidence"):
                files = self._evidence(event_id, v)
        prediction = v.consensus.prediction() if v.consensus is not None else None
        started, ended = v.window or (v.segment.started_at, v.segment.ended_at)
        event = self._record(
            files,
            event_id=event_id,
            bin_id=v.bin.config.id,
            bin_category=v.bin.config.category,
            started_at=started,
            ended_at=ended,
            prediction=prediction,
            flags=v.flags,
            model_version=v.model_version,
        )
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
                "started_at": started.isoformat(),
            },
        )
        return event

    def _event_id(self, v: _Verdict) -> uuid.UUID:
        """Random; or, from a file, derived from the disposal, each further item's from the first's."""
        if self.event_ids is None:
            return uuid.uuid4()
        first = self.event_ids(v.bin.config.id, v.segment.started_at)
        return first if v.item == 0 else uuid.uuid5(first, f"item {v.item}")

    def _kind_id(self, key: str, started_at: datetime, kind: EventKind) -> uuid.UUID:
        """The id of a ground or fill event at ``key`` (zone or bin): random, or from a file derived
        like a disposal's, apart from any disposal's by its kind."""
        if self.event_ids is None:
            return uuid.uuid4()
        return uuid.uuid5(self.event_ids(key, started_at), kind.value)

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
        return self._write(event_id, v.bin.index, v.frame, v.box, label, clip_frames)

    def _write(self, event_id: uuid.UUID, *args, **kwargs) -> list[EvidenceFile]:
        """The evidence files (``EvidenceWriter.write``); none when they cannot be written: the event
        itself is never given up for its evidence."""
        try:
            return self.writer.write(event_id, *args, **kwargs)
        except OSError as exc:
            log.error("could not write the evidence of event %s (%s); it goes without", event_id, exc)
            return []

    def _stored(self, event_id: uuid.UUID, what: str) -> Event | None:
        """The event as an earlier run over the same file committed it, if one did."""
        if self.outbox is None or (known := self.outbox.stored(event_id)) is None:
            return None
        log.info("%s is event %s, committed by an earlier run", what, event_id)
        return known

    def _record(self, files: list[EvidenceFile], **fields: Any) -> Event:
        """An event of this box (its device and site; the model running now unless ``model_version`` is
        given) with ``files`` as its evidence, put in the outbox with them."""
        fields.setdefault("model_version", self.classifier.version)
        event = Event(
            device_id=self.config.device_id,
            site_id=self.config.site_id,
            evidence=[f.evidence for f in files],
            **fields,
        )
        if self.outbox is not None:
            self.outbox.add(event, files)
            self.outbox.enforce_budget(int(self.config.storage.budget_mb * 2**20))
        return event
