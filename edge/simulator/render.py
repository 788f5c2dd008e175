"""Drawing a planned scene frame by frame, fast enough to make ten minutes of video in a minute
or two.

The floor, the bins and what lies in them form a static picture that changes only when an item
lands or a bin is emptied; each frame copies it, lets the camera style (a ``Stage``: ``oblique``
or ``top``) draw whoever is about (a person at a bin with what they carry, a passer-by) and
then lets the ``Sensor`` expose it: light, exposure and noise. Frames are BGR, as video
encoders take them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from binwatch.datasets.manifest import ImageStore, MergedStore, Sample
from binwatch.edge.simulator import sprite
from binwatch.edge.simulator.layout import Bin
from binwatch.edge.simulator.sensor import Light, Sensor
from binwatch.edge.simulator.timeline import Passer, Timeline, Visit

CUT_SIDE = 128  # photos are cut out at this long side; each stage scales them to the scene
PILE_PER_FILL = 24  # items already in a bin at the start, per unit of fill level
FILL_PER_ITEM = 0.012  # how much an item of the usual size fills a bin


class Stage(Protocol):
    """A camera style: where the bins are and how things look from there."""

    bins: list[Bin]

    def background(self, rng: np.random.Generator) -> np.ndarray: ...

    def empty(self, image: np.ndarray, index: int, rng: np.random.Generator) -> None: ...

    def lay(
        self,
        image: np.ndarray,
        index: int,
        item: sprite.Sprite,
        rest: tuple[float, float],
        size: float,
        angle: float,
        fill: float,
    ) -> None: ...

    def draw_visit(
        self,
        frame: np.ndarray,
        visit: Visit,
        f: int,
        held: Sequence[sprite.Sprite],
        fills: Sequence[float],
        light: Light,
    ) -> None: ...

    def draw_passer(self, frame: np.ndarray, passer: Passer, f: int, light: Light) -> None: ...


class Renderer:
    def __init__(
        self,
        timeline: Timeline,
        stage: Stage,
        store: ImageStore | MergedStore,
        sensor: Sensor,
        pile: Sequence[Sample],
        rng: np.random.Generator,
    ):
        self.timeline, self.stage, self.store, self.sensor, self.rng = timeline, stage, store, sensor, rng
        self.static = stage.background(rng)
        self.fills = list(timeline.fill)
        for index, fill in enumerate(self.fills):
            for k in range(round(fill * PILE_PER_FILL)):
                sample = pile[int(rng.integers(len(pile)))]
                item = sprite.cut_out(store.read_rgb(sample.path), CUT_SIDE)
                rest = (float(rng.uniform(0.05, 0.95)), float(rng.uniform(0.05, 0.95)))
                at_fill = (k + 1) / PILE_PER_FILL  # from the bottom up
                stage.lay(self.static, index, item, rest, rng.uniform(0.25, 0.5), rng.uniform(0, 360), at_fill)
        self.lit = sensor.light_static(self.static)

    def frames(self) -> Iterator[np.ndarray]:
        visits = iter(self.timeline.visits)
        passers = iter(self.timeline.passers)
        visit, passer = next(visits, None), next(passers, None)
        held = self._items(visit)
        for f in range(self.timeline.frames):
            if visit is not None:
                self._change_bins(visit, held, f)
            frame = self.lit
            if passer is not None and passer.start <= f <= passer.end:
                frame = frame.copy()
                self.stage.draw_passer(frame, passer, f, self.sensor.lit_at)
            if visit is not None and visit.start <= f <= visit.end:
                frame = frame.copy() if frame is self.lit else frame
                reach = next((i for i, r in enumerate(visit.reaches) if r.start <= f <= r.end), None)
                items = held[reach] if reach is not None else []
                self.stage.draw_visit(frame, visit, f, items, self.fills, self.sensor.lit_at)
            yield self.sensor.expose(frame, f)
            if passer is not None and f >= passer.end:
                passer = next(passers, None)
            if visit is not None and f >= visit.end:
                visit = next(visits, None)
                held = self._items(visit)

    def _items(self, visit: Visit | None) -> list[list[sprite.Sprite]]:
        """What each reach of ``visit`` carries, cut out (and bagged) as its turn comes."""
        if visit is None:
            return []
        out = []
        for reach in visit.reaches:
            items = []
            for drop in reach.drops:
                item = sprite.cut_out(self.store.read_rgb(drop.sample.path), CUT_SIDE)
                items.append(sprite.bagged(item, self.rng) if drop.bagged else item)
            out.append(items)
        return out

    def _change_bins(self, visit: Visit, held: list[list[sprite.Sprite]], f: int) -> None:
        """An item comes to lie in its bin, or the bin's bag is lifted out, at this frame."""
        changed = False
        for reach, items in zip(visit.reaches, held, strict=True):
            if visit.kind == "emptying" and f == reach.release:
                self.stage.empty(self.static, visit.bin, self.rng)
                self.fills[visit.bin] = 0.0
                changed = True
            for drop, item in zip(reach.drops, items, strict=True):
                if f == drop.land:
                    fill = self.fills[visit.bin]
                    self.stage.lay(self.static, visit.bin, item, drop.rest, drop.size, drop.rest_angle, fill)
                    self.fills[visit.bin] = min(0.95, fill + FILL_PER_ITEM * (drop.size / 0.3) ** 2)
                    changed = True
        if changed:
            self.lit = self.sensor.light_static(self.static)
