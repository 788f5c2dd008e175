"""An early verdict for the voice at the bin: the item judged as it lands, not when the disposal ends.

The final verdict waits for the arm to leave the rim and the opening to stay clear (``segment``),
about 2.3 s after the item landed: by then the resident is walking off. While a disposal goes on,
``EarlyVerdict`` watches one opening on the small frames the agent already has. What stands out of
the background inside the opening apart from anything reaching over the rim (``foreground``: a hand
held still over the item covers it, and an item that touches the arm is part of the arm), and has
kept still and uncovered for ``landed_s``, has landed. It is judged as soon as its own place, with a
margin (``CLEAR_PX``), is clear of the outline of anything reaching over the rim (its convex hull),
even while the resident's head and shoulders are still over another part of the opening (in an oblique
view they hide the middle of it for a second after the item lands): what touches the body or the arm
may go on under it and cannot be seen whole, and what seems apart but lies within or next to their
outline may be the person's own (a dark head or a sleeve that does not stand out of a dark bag splits
the person's blob in two). That moment's full-resolution view, with what reaches over the rim painted
back as it looked before (it says nothing about the contents), is compared with the view before the
disposal (``isolate.compare``: the final verdict's rules). The item found there must hold most of the
landed thing (``MATCHED``), and the landed thing must be no sliver of that item (``WHOLE``): a thing
that stands out of the running background as only a sliver of a larger change from the view before is
the edge of something that kept still so long that the background took the rest of it in (the head of
a bystander who stood over the opening for ten seconds), or a fragment next to an item judged already.
Then the item's crops are classified (``crops``, ``consensus``) and the flag rules applied
(``flags.decide``) with the confidence thresholds raised by ``announce.early_margin``: one moment, the
person still at the bin, is less sure than the final verdict's several, and a wrong announcement
lectures an innocent resident. A disposal flagged early is announced at once and not again at its
final verdict; one left unflagged is announced, if at all, when it concludes. Each landed thing is
classified once, at most ``MAX_TRIES`` per disposal: the cost follows the items, not the frames. The
event itself is concluded as before; this verdict is only the voice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import cv2
import numpy as np

from binwatch.edge.announce import Announcer
from binwatch.edge.config import BinConfig, SiteConfig
from binwatch.edge.consensus import Consensus, classify
from binwatch.edge.crops import item_crops
from binwatch.edge.flags import decide
from binwatch.edge.foreground import Observation, OpeningWatch
from binwatch.edge.isolate import compare
from binwatch.edge.light import in_colour
from binwatch.edge.motion import SmallFrame
from binwatch.edge.region import Region, View, mean_view
from binwatch.edge.timing import Timing
from binwatch.inference.classifier import Classifier

log = logging.getLogger(__name__)

LYING_SHARE = 0.8  # a thing has landed when this share of its pixels kept still for ``landed_s``
COVER_PX = 2  # small pixels around what reaches over the rim that its soft edge may still cover
CLEAR_PX = 4  # small pixels around a landed thing that nothing reaching over the rim may cover (it is whole)
MAX_TRIES = 3  # things classified per disposal at most
MATCHED = 0.5  # the item isolated at full resolution covers at least this share of the landed thing …
WHOLE = 0.25  # … and the landed thing is at least this share of its size (it is no sliver of a larger change)
TICK_S = 1e-3  # frame times are rounded: three frames of 1/15 s are ``landed_s`` of 0.2 s
GAP_S = 0.5  # frames further apart (a camera that dropped) say nothing about what kept still between them


class EarlyVerdict:
    """One opening's early verdicts; ``update`` on every frame."""

    def __init__(
        self,
        bin_config: BinConfig,
        region: Region,
        watch: OpeningWatch,
        config: SiteConfig,
        announcer: Announcer,
        landed_s: float,
        timing: Timing,
    ):
        th, margin = config.thresholds, config.announce.early_margin
        self.thresholds = th.model_copy(
            update={
                "mixed_confidence": min(1.0, th.mixed_confidence + margin),
                "contamination_confidence": min(1.0, th.contamination_confidence + margin),
            }
        )
        self.bin, self.region, self.watch, self.schedule = bin_config, region, watch, config.schedule
        self.announcer, self.landed_s, self.timing = announcer, landed_s, timing
        self.min_px, self.max_px = th.item_min_fraction * watch.area, th.item_max_fraction * watch.area
        self.cover = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * COVER_PX + 1,) * 2)
        self.clear = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CLEAR_PX + 1,) * 2)
        self.counts = {"classified": 0, "flagged": 0}
        self._started: datetime | None = None  # the disposal watched
        self._since = np.full(watch.inside.shape, np.inf)  # per small pixel: lying still and uncovered since (s)
        self._judged = np.zeros(watch.inside.shape, bool)  # what this disposal already had classified
        self._tries = 0
        self._seconds = -np.inf  # the previous frame's
        self._flagged: datetime | None = None  # the start of the latest disposal flagged early

    def spoke(self, started_at: datetime) -> bool:
        """Whether the disposal that started at ``started_at`` was flagged early (its final verdict is not
        announced again)."""
        return self._flagged == started_at

    def update(
        self,
        started_at: datetime | None,
        before: Sequence[View],
        seen: Observation,
        small: SmallFrame,
        frame: np.ndarray,
        t: datetime,
        seconds: float,
        classifier: Classifier,
    ) -> None:
        """This frame of the opening (``started_at``: the disposal going on, if any; ``before``: its
        clear views before); an item that landed is classified, and a flag is announced at once."""
        if started_at is None:
            self._started = None
            return
        if started_at != self._started:
            self._started, self._tries = started_at, 0
            self._since[:] = np.inf
            self._judged[:] = False
        if self._flagged == started_at or self._tries >= MAX_TRIES or not before:
            return
        landed = self._landed(seen, small.moving[self.watch.window] > 0, seconds)
        if landed is None:
            return
        in_view_s = seconds - float(self._since[landed].min())  # since the first of it lay uncovered
        self._tries += 1
        self._judged |= cv2.dilate(landed.astype(np.uint8), self.cover).astype(bool)
        with self.timing.measure("early_classify"):
            consensus = self._classify(landed, before, seen, small.gain, frame, t, classifier)
        if consensus is None:
            return
        self.counts["classified"] += 1
        flags = decide(self.bin.category, consensus, started_at, self.thresholds, self.schedule, in_colour(frame))
        if not any(f in self.announcer.config.flags for f in flags):
            return
        self._flagged = started_at
        self.counts["flagged"] += 1
        top = consensus.top
        log.info(
            "bin %s: early verdict %s (%s %.2f), in view for %.2f s, flagged %s",
            self.bin.id,
            top.item,
            top.category,
            top.category_score,
            in_view_s,
            ", ".join(f.value for f in flags),
            extra={
                "bin_id": self.bin.id,
                "flags": [f.value for f in flags],
                "item": top.item,
                "at": t.isoformat(),
                "in_view_s": round(in_view_s, 3),
            },
        )
        self.announcer.verdict(self.bin, flags, t, early=True)

    def _landed(self, seen: Observation, moving: np.ndarray, seconds: float) -> np.ndarray | None:
        """The largest thing inside the opening apart from what reaches over the rim and ``CLEAR_PX`` clear
        of its outline, not yet classified, of an item's size, and (mostly) still and uncovered for
        ``landed_s``: a bool mask of the window."""
        apart = seen.standing_out & ~seen.reaching & self.watch.inside
        quiet = apart & ~moving
        if seconds - self._seconds > GAP_S:
            self._since[:] = np.inf
        self._seconds = seconds
        self._since[~quiet] = np.inf
        self._since[quiet & np.isinf(self._since)] = seconds
        lying = seconds - self._since >= self.landed_s - TICK_S
        count, labels = cv2.connectedComponents(apart.astype(np.uint8), connectivity=8)
        if count < 2:
            return None
        area = np.bincount(labels.ravel(), minlength=count)
        still = np.bincount(labels[lying], minlength=count) >= LYING_SHARE * area
        sized = area >= self.min_px
        sized[0] = False
        if not still[sized].all():  # something is still falling or coming into view: a part may be judged alone
            return None
        near = cv2.dilate(outline(seen.reaching), self.clear) > 0  # a hand, an arm, a body, or next to them
        ok = sized & (area <= self.max_px) & (np.bincount(labels[self._judged], minlength=count) < MATCHED * area)
        ok &= np.bincount(labels[near], minlength=count) == 0
        if not ok.any():
            return None
        return labels == int(np.argmax(np.where(ok, area, 0)))

    def _classify(
        self,
        landed: np.ndarray,
        before: Sequence[View],
        seen: Observation,
        gain: float,
        frame: np.ndarray,
        t: datetime,
        classifier: Classifier,
    ) -> Consensus | None:
        """The landed thing isolated at full resolution as the final verdict isolates an item, and its
        crops classified; None when no item of its place stands out there."""
        th, region = self.thresholds, self.region
        view = region.view(frame, t, gain)
        old = mean_view(before)
        covered = region.scaled(cv2.dilate(seen.reaching.astype(np.uint8), self.cover)) > 0
        image = view.image.astype(np.float32)
        image[covered] = old.normalised()[covered] * gain
        found = compare(
            before,
            [View(t, image, gain)],
            region,
            th.change_pixel_delta,
            th.item_min_fraction,
            th.item_max_fraction,
        )
        place = region.scaled(landed.astype(np.uint8)) > 0
        place_px = max(1, int(np.count_nonzero(place)))
        best, share = None, 0.0
        for item in found.items:
            share_of = float(np.count_nonzero(item.box.cut(place)[item.mask > 0])) / place_px
            if share_of > share:
                best, share = item, share_of
        if best is None or share < MATCHED:
            log.debug("bin %s: what landed is no item at full resolution; no early verdict", self.bin.id)
            return None
        if place_px < WHOLE * np.count_nonzero(best.mask):
            log.debug("bin %s: what landed is a sliver of a larger change; no early verdict", self.bin.id)
            return None
        preprocess = classifier.preprocess
        crops = item_crops(best, view, None, th.consensus_crops, preprocess.size, preprocess.pad_value)
        return classify(classifier, crops)


def outline(reaching: np.ndarray) -> np.ndarray:
    """uint8 0/1: each thing that reaches over the rim filled out to its convex hull. Within it, what seems
    apart may be the person's own: the part of a dark head or sleeve that does not stand out of a dark bin
    breaks the person's blob in two."""
    count, labels = cv2.connectedComponents(reaching.astype(np.uint8), connectivity=8)
    out = np.zeros(reaching.shape, np.uint8)
    for label in range(1, count):
        points = cv2.findNonZero((labels == label).astype(np.uint8))
        cv2.fillConvexPoly(out, cv2.convexHull(points), 1)
    return out
