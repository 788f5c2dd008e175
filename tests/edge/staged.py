"""Staged situations for the edge tests: a timeline written by hand, drawn by the simulator's
stages (oblique by default) and camera, and handed to the agent frame by frame, without a video
file in between.

``stage(...)`` draws the frames; ``disposal``, ``bystander``, ``emptying``, ``sack``, ``passer`` and
``collection`` write the visits. Photos come from the shipped sample set by item name; ``Flat`` stands in for a photo
that is a plain colour (an item the camera can hardly tell from the bag).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets.manifest import Sample, load
from binwatch.edge.agent import Agent
from binwatch.edge.config import SiteConfig, parse
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.simulator import timeline as plan
from binwatch.edge.simulator.conditions import Conditions, named
from binwatch.edge.simulator.oblique import ObliqueStage
from binwatch.edge.simulator.render import Renderer
from binwatch.edge.simulator.sensor import Sensor
from binwatch.edge.simulator.topview import TopStage
from binwatch.edge.simulator.video import SceneWriter
from binwatch.events.schema import Event

SAMPLES = Path(__file__).resolve().parents[2] / "edge" / "simulator" / "samples"
FPS = 10.0
SIZE = (640, 360)
LOOKS = plan.Looks(coat=(40, 40, 130), trousers=(60, 70, 90), skin=(120, 160, 205), hair=(30, 45, 70), height=1.72)


class Photos:
    """The sample set's photos by item, and plain-coloured stand-ins (``flat:B,G,R``)."""

    def __init__(self) -> None:
        self.data = load(SAMPLES)
        self.by_item = {s.item: s for s in self.data.samples}

    def sample(self, item: str) -> Sample:
        if item.startswith("flat:"):
            return Sample(path=item, category="other", item="plastic_bag")
        return self.by_item[item]

    def read_rgb(self, path: str) -> np.ndarray:
        if path.startswith("flat:"):
            b, g, r = (int(v) for v in path[5:].split(","))
            return np.full((80, 60, 3), (r, g, b), np.uint8)
        return self.data.store.read_rgb(path)

    @property
    def location(self) -> Path:
        return SAMPLES


PHOTOS = Photos()


def at(seconds: float) -> int:
    return round(seconds * FPS)


def disposal(
    bin_index: int,
    start_s: float,
    items: list[list[str]],
    *,
    hesitate_s: float = 0.4,
    between_s: float = 0.8,
    rests: list[list[tuple[float, float]]] | None = None,
    distance: float = 0.3,
    bagged: bool = False,
    sizes: list[list[float]] | None = None,
) -> plan.Visit:
    """A person walks up to a bin and makes one reach per list of ``items`` (several items in a
    list are let go at once), ``between_s`` apart; each reach hesitates ``hesitate_s``. Each item's
    long side is 0.3 of the opening's width, or as ``sizes`` says."""
    stand = at(start_s + 1.2)
    cursor = stand + at(0.3)
    reaches = []
    for i, names in enumerate(items):
        if i:
            cursor += at(between_s)
        arrive = cursor + at(1.0)
        release = arrive + at(hesitate_s)
        land = release + at(plan.FALL_S)
        end = release + at(0.8)
        spots = rests[i] if rests else [(0.3 + 0.4 * k, 0.5) for k in range(len(names))] or [(0.5, 0.5)]
        drops = tuple(
            plan.Drop(PHOTOS.sample(name), release, land, spot, size, 10.0, 5.0 * k, bagged)
            for k, (name, spot, size) in enumerate(
                zip(names, spots[: len(names)], sizes[i] if sizes else [0.3] * len(names), strict=True)
            )
        )
        hand = (float(np.mean([s[0] for s in spots])), float(np.mean([s[1] for s in spots])) - 0.1)
        reaches.append(plan.Reach(cursor, arrive, release, end, hand, drops))
        cursor = end
    leave = cursor + at(0.2)
    return plan.Visit(
        "disposal",
        bin_index,
        at(start_s),
        stand,
        leave,
        leave + at(1.4),
        -1,
        1,
        distance,
        0.0,
        0.4,
        tuple(reaches),
        LOOKS,
    )


def bystander(bin_index: int, start_s: float, stand_s: float, distance: float = 0.1) -> plan.Visit:
    stand = at(start_s + 1.2)
    leave = stand + at(stand_s)
    return plan.Visit(
        "bystander", bin_index, at(start_s), stand, leave, leave + at(1.4), 1, -1, distance, 0.0, 0.8, (), LOOKS
    )


def emptying(bin_index: int, start_s: float) -> plan.Visit:
    stand = at(start_s + 1.2)
    reach = plan.Reach(stand + at(0.3), stand + at(1.3), stand + at(2.5), stand + at(3.7), (0.5, 0.5), ())
    leave = reach.end + at(0.2)
    return plan.Visit(
        "emptying", bin_index, at(start_s), stand, leave, leave + at(1.4), -1, -1, 0.2, 0.0, 0.3, (reach,), LOOKS
    )


def sack(bin_index: int, start_s: float, amount: float) -> plan.Visit:
    """Somebody tips a sack of loose waste into a bin, filling it by ``amount``: both arms, as an emptying."""
    return replace(emptying(bin_index, start_s), kind="load", load=amount)


def litter(
    bin_index: int, put_s: float, *, kind: str = "bag", side: float = -0.9, depth: float = 0.5, size: float = 0.5
) -> plan.Litter:
    """A bag or a box beside a bin, put down at ``put_s``."""
    colour = (40, 40, 42) if kind == "bag" else (70, 120, 170)
    return plan.Litter(1, kind, bin_index, side, depth, size, colour, 20.0, at(put_s))  # type: ignore[arg-type]


def ground(kind: str, item: plan.Litter, start_s: float) -> plan.Visit:
    """Somebody who puts ``item`` down (``littering``: at its ``put`` time) or takes it away
    (``clearing``) and walks off; walking up takes 1.2 s, bending down 1.4 s."""
    stand = at(start_s + 1.2)
    release = item.put if kind == "littering" else stand + at(1.4)
    reach = plan.Reach(release - at(1.4), release - at(0.3), release, release + at(1.0), (0.5, 0.5), ())
    leave = reach.end + at(0.2)
    return plan.Visit(
        kind, item.bin, at(start_s), stand, leave, leave + at(1.4), -1, 1, 0.0, 0.0, 0.5, (reach,), LOOKS, item
    )  # type: ignore[arg-type]


def collection(containers: list[list[int]], start_s: float) -> list[plan.Visit]:
    """A worker wheels a container in beside the row (2.5 s), empties the bins of each list into it
    one after another (7.4 s a bin: to the bin, the bag lifted out, back to the container) and
    wheels it away (3.7 s); a further list is a further container, brought 2 s after."""
    visits = []

    def visit(kind: plan.VisitKind, b: int, start: int, stand: int, leave: int, end: int, reaches=()) -> None:
        visits.append(
            plan.Visit(kind, b, start, stand, leave, end, 0, 0, 0.2, 0.0, 0.3, reaches, LOOKS, container=brought)
        )

    cursor = at(start_s)
    for number, bins in enumerate(containers):
        brought = plan.Container(number + 1, (60, 110, 60) if number % 2 == 0 else (50, 60, 140))
        stand = cursor + at(2.5)
        visit("wheel_in", 0, cursor, stand, stand + at(0.4), stand + at(0.4))
        cursor = stand + at(0.5)
        for b in bins:
            stand = cursor + at(1.5)
            reach = plan.Reach(stand + at(0.3), stand + at(1.3), stand + at(2.5), stand + at(3.7), (0.5, 0.5), ())
            leave = reach.end + at(0.2)
            visit("emptying", b, cursor, stand, leave, leave + at(1.5), (reach,))
            cursor = leave + at(2.0)
        stand = cursor + at(0.8)
        visit("wheel_out", 0, cursor, stand, stand + at(0.4), stand + at(2.9))
        cursor = stand + at(4.9)
    return visits


def passer(start_s: float, seconds: float = 3.0, over: bool = True) -> plan.Passer:
    return plan.Passer(at(start_s), at(start_s + seconds), 0.05 if over else 0.8, over, True, LOOKS)


@dataclass(frozen=True)
class Staged:
    frames: list[np.ndarray]
    site: SiteConfig
    timeline: plan.Timeline

    def run(self, agent: Agent) -> list[Event]:
        """The frames through ``agent``, dated from ``OFFLINE_START``; every event, the last at close."""
        events = []
        for i, frame in enumerate(self.frames):
            events += agent.process(frame, OFFLINE_START + timedelta(seconds=i / FPS))
        return events + agent.close()

    def seconds(self, event: Event) -> tuple[float, float]:
        return (event.started_at - OFFLINE_START).total_seconds(), (event.ended_at - OFFLINE_START).total_seconds()


def stage(
    visits: list[plan.Visit],
    seconds: float,
    *,
    passers: list[plan.Passer] | None = None,
    conditions: Conditions | str = "steady",
    exposure: list[plan.ExposureJump] | None = None,
    fill: float = 0.1,
    categories: tuple[str, ...] = ("kitchen", "other", "recyclable"),
    style: str = "oblique",
    size: tuple[int, int] = SIZE,
    seed: int = 0,
    coded: bool = False,
) -> Staged:
    """Draw the visits (in time order, not overlapping) over ``seconds`` of a scene; a scene with a
    collection (``collection``) gets its container's collection zone; ``coded``: as the camera streams
    them, through H.264 at the conditions' CRF and back."""
    conditions = named(conditions) if isinstance(conditions, str) else conditions
    rng = np.random.default_rng(seed)
    stage_ = (
        ObliqueStage(list(categories), size, FPS, conditions.shadows, rng, any(v.container is not None for v in visits))
        if style == "oblique"
        else TopStage(list(categories), size, FPS, conditions.shadows)
    )
    timeline = plan.Timeline(
        FPS,
        at(seconds),
        visits,
        passers or [],
        exposure or [],
        [fill] * len(categories),
        OFFLINE_START,
        [],
        "Asia/Shanghai",
    )
    sensor = Sensor(size, FPS, conditions, timeline.exposure, rng)
    pile = [s for s in PHOTOS.data.samples if s.item]
    renderer = Renderer(timeline, stage_, PHOTOS, sensor, pile, rng)  # type: ignore[arg-type]
    frames = list(renderer.frames())
    if coded:
        frames = _through_h264(frames, conditions.crf)
    site = parse(
        {
            "device_id": "box-1",
            "site_id": "site-1",
            "collector": {"url": "http://127.0.0.1:9", "token": "secret"},
            "camera": {"source": "staged.mp4", "fps": FPS, "realtime": False},
            "bins": [{"id": b.id, "category": b.category, "polygon": b.polygon} for b in stage_.bins],
            "zones": [{"id": name, "kind": "ground", "polygon": zone} for name, zone in getattr(stage_, "ground", [])]
            + [{"id": name, "kind": "collection", "polygon": zone} for name, zone in getattr(stage_, "collection", [])],
        }
    )
    return Staged(frames, site, timeline)


def _through_h264(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "staged.mp4"
        with SceneWriter(path, FPS, (frames[0].shape[1], frames[0].shape[0]), crf) as writer:
            for frame in frames:
                writer.write(frame)
        capture = cv2.VideoCapture(str(path))
        decoded = []
        while (read := capture.read())[0]:
            decoded.append(read[1])
        capture.release()
    assert len(decoded) == len(frames), f"{len(decoded)} of {len(frames)} frames decoded"
    return decoded
