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
from typing import Protocol, runtime_checkable

import numpy as np

from binwatch.datasets.manifest import ImageStore, MergedStore, Sample
from binwatch.edge.simulator import sprite
from binwatch.edge.simulator.layout import Bin
from binwatch.edge.simulator.sensor import Light, Sensor
from binwatch.edge.simulator.timeline import FULL, Container, Litter, Passer, Timeline, Visit, item_fill

CUT_SIDE = 128  # photos are cut out at this long side; each stage scales them to the scene
PILE_PER_FILL = 24  # items already in a bin at the start, per unit of fill level
LOAD_PER_FILL = 48  # items of a sack tipped in, per unit of fill level it adds: loose, they spread out
HEAP_ITEMS = 24  # a load that does not fit heaps up: this many more lie on top, all over the bin's top
HEAP_LEVEL = 0.3  # the heap's pieces lie up to this far above the rim (in fill levels)


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


@runtime_checkable
class GroundStage(Stage, Protocol):
    """A camera style that also draws the ground zone and litter left on it (``oblique``)."""

    ground: list[tuple[str, list[tuple[int, int]]]]  # (zone id, polygon)

    def litter_point(self, item: Litter) -> tuple[float, float]: ...

    def litter_extent(self, item: Litter) -> tuple[int, int, int, int]: ...

    def put_down(self, image: np.ndarray, item: Litter) -> None: ...


@runtime_checkable
class CollectionStage(Stage, Protocol):
    """A camera style that also draws a collector's container beside the row (``oblique``)."""

    collection: list[tuple[str, list[tuple[int, int]]]]  # (zone id, polygon)

    def container_extent(self) -> tuple[int, int, int, int]: ...

    def park(self, image: np.ndarray, item: Container) -> None: ...


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
        if timeline.litter and not isinstance(stage, GroundStage):
            raise ValueError("litter on the ground is drawn by the oblique style only")
        if timeline.collections and not (isinstance(stage, CollectionStage) and stage.collection):
            raise ValueError("a collection is drawn by the oblique style only, made with collection=True")
        self._under: dict[int, tuple[tuple[slice, slice], np.ndarray]] = {}  # the ground beneath litter
        self._beneath: dict[int, tuple[tuple[slice, slice], np.ndarray]] = {}  # … and beneath a parked container
        self.static = stage.background(rng)
        self.pile = pile
        self.fills = list(timeline.fill)
        for index, fill in enumerate(self.fills):
            self._pile(index, [(k + 1) / PILE_PER_FILL for k in range(round(fill * PILE_PER_FILL))])  # bottom up
        self.lit = sensor.light_static(self.static)

    def _pile(self, index: int, levels: Sequence[float], spread: float = 0.05) -> None:
        """Photos from the pile lying in bin ``index``, one at each fill level of ``levels``."""
        for level in levels:
            sample = self.pile[int(self.rng.integers(len(self.pile)))]
            item = sprite.cut_out(self.store.read_rgb(sample.path), CUT_SIDE)
            rest = (float(self.rng.uniform(spread, 1 - spread)), float(self.rng.uniform(spread, 1 - spread)))
            size, angle = self.rng.uniform(0.25, 0.5), self.rng.uniform(0, 360)
            self.stage.lay(self.static, index, item, rest, size, angle, level)

    def frames(self) -> Iterator[np.ndarray]:
        """The frames in order. Visits may overlap (a queue: the next resident walks in while the
        previous one walks off); each visit's items are cut out when the visit before it has ended,
        or when it begins, whichever comes first."""
        order = list(self.timeline.visits)
        active: list[tuple[Visit, list[list[sprite.Sprite]]]] = []
        passers = iter(self.timeline.passers)
        passer = next(passers, None)
        prepared = 0

        def prepare() -> None:
            nonlocal prepared
            active.append((order[prepared], self._items(order[prepared])))
            prepared += 1

        if order:
            prepare()
        for f in range(self.timeline.frames):
            while prepared < len(order) and order[prepared].start <= f:
                prepare()
            for visit, held in active:
                self._change_bins(visit, held, f)
            frame = self.lit
            if passer is not None and passer.start <= f <= passer.end:
                frame = frame.copy()
                self.stage.draw_passer(frame, passer, f, self.sensor.lit_at)
            for visit, held in active:
                if visit.start <= f <= visit.end:
                    frame = frame.copy() if frame is self.lit else frame
                    reach = next((i for i, r in enumerate(visit.reaches) if r.start <= f <= r.end), None)
                    items = held[reach] if reach is not None else []
                    self.stage.draw_visit(frame, visit, f, items, self.fills, self.sensor.lit_at)
            yield self.sensor.expose(frame, f)
            if passer is not None and f >= passer.end:
                passer = next(passers, None)
            active = [(visit, held) for visit, held in active if f < visit.end]
            if prepared < len(order) and f >= order[prepared - 1].end:
                prepare()

    def _items(self, visit: Visit) -> list[list[sprite.Sprite]]:
        """What each reach of ``visit`` carries, cut out (and bagged) as its turn comes."""
        out = []
        for reach in visit.reaches:
            items = []
            for drop in reach.drops:
                item = sprite.cut_out(self.store.read_rgb(drop.sample.path), CUT_SIDE)
                items.append(sprite.bagged(item, self.rng) if drop.bagged else item)
            out.append(items)
        return out

    def _load(self, index: int, amount: float) -> None:
        """A sack of loose waste tipped into bin ``index``: its contents spread out over what lies
        there, raising it by ``amount``; what does not fit heaps up above the rim, over the whole top."""
        fill = self.fills[index]
        count = round(amount * LOAD_PER_FILL)
        self._pile(index, [fill + amount * (k + 1) / count for k in range(count)])
        if fill < FULL <= fill + amount:
            self._pile(index, [FULL + HEAP_LEVEL * (k + 1) / HEAP_ITEMS for k in range(HEAP_ITEMS)], spread=0.0)
        self.fills[index] = fill + amount

    def _change_bins(self, visit: Visit, held: list[list[sprite.Sprite]], f: int) -> None:
        """An item comes to lie in its bin, the bin's bag is lifted out, or litter is put down on
        the ground or taken away, at this frame."""
        changed = False
        if visit.container is not None and visit.kind != "emptying" and f == visit.stand:
            stage = self.stage
            assert isinstance(stage, CollectionStage)
            if visit.kind == "wheel_in":
                window = self._window(stage.container_extent())
                self._beneath[visit.container.id] = (window, self.static[window].copy())
                stage.park(self.static, visit.container)
            else:
                window, ground = self._beneath.pop(visit.container.id)
                self.static[window] = ground
            changed = True
        if visit.litter is not None and f == visit.reaches[0].release:
            stage = self.stage
            assert isinstance(stage, GroundStage)
            if visit.kind == "littering":
                window = self._window(stage.litter_extent(visit.litter))
                self._under[visit.litter.id] = (window, self.static[window].copy())
                stage.put_down(self.static, visit.litter)
            else:
                window, ground = self._under.pop(visit.litter.id)
                self.static[window] = ground
            changed = True
        for reach, items in zip(visit.reaches, held, strict=True):
            if visit.kind == "emptying" and f == reach.release:
                self.stage.empty(self.static, visit.bin, self.rng)
                self.fills[visit.bin] = 0.0
                changed = True
            if visit.kind == "load" and f == reach.release:
                self._load(visit.bin, visit.load)
                changed = True
            for drop, item in zip(reach.drops, items, strict=True):
                if f == drop.land:
                    fill = self.fills[visit.bin]
                    self.stage.lay(self.static, visit.bin, item, drop.rest, drop.size, drop.rest_angle, fill)
                    self.fills[visit.bin] = item_fill(fill, drop.size)
                    changed = True
        if changed:
            self.lit = self.sensor.light_static(self.static)

    def _window(self, extent: tuple[int, int, int, int]) -> tuple[slice, slice]:
        """The part of the static picture within ``extent`` (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = extent
        height, width = self.static.shape[:2]
        return slice(max(0, y0), min(height, y1)), slice(max(0, x0), min(width, x1))
