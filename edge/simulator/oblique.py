"""The drop-off point as a pole- or wall-mounted camera sees it: from above and in front, in
perspective, over a row of bins with their lids open.

Everything is placed in metres and projected through a pinhole camera, so sizes follow the
world: a bin 0.56 m wide, an item of 15 cm, a person of 1.7 m, all foreshortened by the
camera's tilt. With the defaults an opening is about 220×160 px in a 1280×720 frame and an
item about 64 px long. People are drawn from their joints: they walk in from the side, stand
in front of a bin (their head and shoulders then cover the near part of its opening), reach in
and walk off; in low sun they cast shadows on the floor and into the bins. Items lie on the
bin's contents at the height its fill level puts them, foreshortened like the opening, and the
near wall hides what lies deep behind the rim.

Coordinates: x to the right along the row of bins, y up, z away from the camera; the bins'
front faces stand at ``z = front``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from binwatch.datasets import taxonomy
from binwatch.edge.simulator import container, litter, sprite
from binwatch.edge.simulator.easing import ease, ease_in, ease_out, unit
from binwatch.edge.simulator.layout import Bin
from binwatch.edge.simulator.sensor import Light
from binwatch.edge.simulator.timeline import FULL, Container, Litter, Passer, Reach, Visit
from binwatch.events.schema import category_key

BIN_W, BIN_D, BIN_H = 0.56, 0.55, 0.95  # a 120-240 l wheelie bin
RIM = 0.035  # the rim around the opening
GAP = 0.09  # between two bins
LID_TILT = 0.25  # radians past upright: an open lid leans back
SAG = 0.35  # an empty bag hangs this far below the rim: deeper, a camera above the bins sees nothing
HEAP_RISE = 0.08  # contents heaped above the rim rise at most this high over it
LINER = np.array((38, 40, 42), np.float32)  # BGR of a black bin bag
SHADOW = 0.62  # what a shadow leaves of the light
ZONE_BESIDE = 0.9  # the ground zones: the floor this far beyond each end of the row …
ZONE_BEFORE = 0.3  # … from this far in front of the bins to this far behind them
ZONE_LEAST = 0.01  # a zone the camera sees less of than this share of the frame is left out
OPENING_PX = 0.16  # opening width as a share of the frame width (about 205-240 px at 1280)
ROW_SPAN = 0.88  # the row of bins fills at most this share of the frame's width
CONTAINER_GAP = 0.45  # a collector's container stands this far beyond the end bin, …
CONTAINER_BACK = 0.05  # … its front this far behind the bins' fronts
ZONE_GROWN = 1.1  # the collection zone: the container's outline as the camera sees it, grown by this
WHEEL_REACH = 0.3  # the worker wheeling a container walks this far beyond its outer side

Point3 = np.ndarray  # x, y, z in metres


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: ``project`` maps world points (…, 3) to pixels (…, 2)."""

    f: float
    centre: tuple[float, float]
    position: np.ndarray
    right: np.ndarray
    down: np.ndarray
    forward: np.ndarray

    def depth(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - self.position) @ self.forward

    def project(self, points: np.ndarray) -> np.ndarray:
        d = np.asarray(points, np.float64) - self.position
        z = np.maximum(d @ self.forward, 1e-3)
        return np.stack(
            [self.centre[0] + self.f * (d @ self.right) / z, self.centre[1] + self.f * (d @ self.down) / z], -1
        )

    def px_per_m(self, point: np.ndarray) -> float:
        return float(self.f / max(1e-3, float(self.depth(point))))


def aim(
    size: tuple[int, int], height: float, x: float, yaw: float, roll: float, target: Point3, v: float, f: float
) -> Camera:
    """A camera at (``x``, ``height``, 0), turned by ``yaw``, tilted so that ``target`` appears at
    the share ``v`` of the frame's height, and rolled by ``roll``."""
    width, h = size
    position = np.array([x, height, 0.0])
    d = target - position
    depression = np.arctan2(-d[1], np.hypot(d[0], d[2]))
    tilt = depression + np.arctan((v - 0.5) * h / f)
    forward = np.array([np.sin(yaw) * np.cos(tilt), -np.sin(tilt), np.cos(yaw) * np.cos(tilt)])
    right = np.array([forward[2], 0.0, -forward[0]]) / np.hypot(forward[2], forward[0])
    down = np.cross(right, forward)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return Camera(f, (width / 2, h / 2), position, right, down, forward)


@dataclass(frozen=True)
class BinBox:
    """One bin in the world: its footprint and what its camera needs."""

    x0: float  # left side
    front: float  # z of the front face

    @property
    def x1(self) -> float:
        return self.x0 + BIN_W

    @property
    def centre_x(self) -> float:
        return self.x0 + BIN_W / 2

    def opening(self, y: float = BIN_H) -> np.ndarray:
        """The inner rectangle at height ``y``: far-left, far-right, near-right, near-left."""
        a, b = self.x0 + RIM, self.x1 - RIM
        near, far = self.front + RIM, self.front + BIN_D - RIM
        return np.array([[a, y, far], [b, y, far], [b, y, near], [a, y, near]])


class ObliqueStage:
    """Geometry and drawing of the oblique style; ``render.Renderer`` runs the frames."""

    def __init__(
        self,
        categories: Sequence[str],
        size: tuple[int, int],
        fps: float,
        shadows: bool,
        rng: np.random.Generator,
        collection: bool = False,
    ):
        """``collection``: a collector's container comes to stand beside the end of the row the camera
        sees more of; the view is widened to show it whole and ``collection`` names its zone."""
        width, height = size
        self.size, self.fps, self.shadows = size, fps, shadows
        count = len(categories)
        row = count * BIN_W + (count - 1) * GAP
        self.front = rng.uniform(1.4, 1.8)
        self.boxes = [BinBox(-row / 2 + i * (BIN_W + GAP), self.front) for i in range(count)]
        cam_height = rng.uniform(3.0, 3.5)
        target = np.array([0.0, BIN_H, self.front + BIN_D / 2])
        distance = float(np.linalg.norm(target - [0.0, cam_height, 0.0]))
        f = OPENING_PX * width * rng.uniform(0.93, 1.07) * distance / (BIN_W - 2 * RIM)
        placement = (
            cam_height,
            rng.uniform(-0.15, 0.15),
            np.radians(rng.uniform(-3, 3)),
            np.radians(rng.uniform(-1.5, 1.5)),
        )
        v = rng.uniform(0.4, 0.47)
        self.camera = aim(size, *placement, target, v, f)
        # Narrow the view where the row of bins would not fit the frame with a margin.
        corners = np.array([[self.boxes[0].x0, BIN_H, self.front], [self.boxes[-1].x1, BIN_H, self.front]])
        span = np.ptp(self.camera.project(corners)[:, 0])
        if span > ROW_SPAN * width:
            self.camera = aim(size, *placement, target, v, f * ROW_SPAN * width / span)
        self.collection_side = 0  # the end of the row a container stands beside (+1 right, -1 left)
        self.collection: list[tuple[str, list[tuple[int, int]]]] = []  # (zone id, polygon), as the ground's
        if collection:
            self._frame_container(size, placement, target, v)
        self.bins = [
            Bin(f"{c}-{i + 1}", category_key(c), np.round(self.camera.project(box.opening())).astype(np.int32))
            for i, (c, box) in enumerate(zip(categories, self.boxes, strict=True))
        ]
        sun = np.array([rng.uniform(-0.8, 0.8), -1.0, rng.uniform(-0.6, 0.2)])
        self.sun = sun / np.linalg.norm(sun)
        self.openings = np.zeros((height, width), np.float32)
        for b in self.bins:
            cv2.fillPoly(self.openings, [b.opening], 1.0)
        self.everywhere = np.ones((height, width), np.float32)  # nothing in front of a heap above the rim
        self.ground = []  # the floor beside each end of the row, as far as the camera sees it
        for name, x0, x1 in (
            ("ground-left", self.boxes[0].x0 - ZONE_BESIDE, self.boxes[0].x0 - 0.05),
            ("ground-right", self.boxes[-1].x1 + 0.05, self.boxes[-1].x1 + ZONE_BESIDE),
        ):
            near, far = self.front - ZONE_BEFORE, self.front + BIN_D + ZONE_BEFORE
            floor = self.camera.project(np.array([[x0, 0, far], [x1, 0, far], [x1, 0, near], [x0, 0, near]]))
            frame = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
            area, seen = cv2.intersectConvexConvex(floor.astype(np.float32), frame)
            if seen is not None and area >= ZONE_LEAST * width * height:
                self.ground.append((name, [(round(float(x)), round(float(y))) for x, y in seen.reshape(-1, 2)]))
        if collection:  # the container stands on the ground zone of its side: that is the collection zone now
            side = "right" if self.collection_side > 0 else "left"
            self.ground = [(name, zone) for name, zone in self.ground if name != f"ground-{side}"]
            self.collection = [(f"collection-{side}", self._container_zone())]

    def _frame_container(
        self, size: tuple[int, int], placement: tuple[float, float, float, float], target: np.ndarray, v: float
    ) -> None:
        """Choose the end of the row with more room for a container and widen the view until it shows
        it whole (within ``ROW_SPAN`` of the frame's width, about the frame's centre)."""
        width = size[0]
        half = ROW_SPAN * width / 2

        def reach(side: int) -> float:
            self.collection_side = side
            points = np.vstack([container.corners(self.container_base()), container.corners(self.container_base(), 1)])
            return float(np.abs(self.camera.project(points)[:, 0] - width / 2).max())

        self.collection_side = min((1, -1), key=reach)
        needed = reach(self.collection_side)
        if needed > half:
            self.camera = aim(size, *placement, target, v, self.camera.f * half / needed)

    def container_base(self) -> np.ndarray:
        """Where a parked container stands (its bottom centre), beside the end of the row."""
        side = self.collection_side
        end = self.boxes[-1].x1 if side > 0 else self.boxes[0].x0
        x = end + side * (CONTAINER_GAP + container.WIDTH / 2)
        return np.array([x, 0.0, self.front + CONTAINER_BACK + container.DEPTH / 2])

    def _container_zone(self) -> list[tuple[int, int]]:
        """The parked container's outline in the frame, grown by ``ZONE_GROWN``, within the frame."""
        base = self.container_base()
        points = np.vstack([container.corners(base), container.corners(base, container.HEIGHT)])
        hull = cv2.convexHull(self.camera.project(points).astype(np.float32)).reshape(-1, 2)
        hull = hull.mean(axis=0) + ZONE_GROWN * (hull - hull.mean(axis=0))
        width, height = self.size
        frame = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
        _, seen = cv2.intersectConvexConvex(hull.astype(np.float32), frame)
        assert seen is not None  # the view was widened to show it
        return [(round(float(x)), round(float(y))) for x, y in seen.reshape(-1, 2)]

    def container_extent(self) -> tuple[int, int, int, int]:
        return container.extent(self.camera, self.container_base())

    def park(self, image: np.ndarray, item: Container) -> None:
        container.draw(image, self.camera, self.container_base(), item.colour, on_ground=True)

    # -- the static layer ---------------------------------------------------------------------

    def background(self, rng: np.random.Generator) -> np.ndarray:
        """Wall, floor, and the bins with open lids and empty bags."""
        width, height = self.size
        cam = self.camera
        image = np.empty((height, width, 3), np.float32)
        grain = cv2.GaussianBlur(rng.normal(0, 5, (height, width)).astype(np.float32), (0, 0), 1.0)
        blotches = cv2.resize(
            rng.normal(0, 1, (9, 16)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC
        )
        image[:] = (140 + 8 * blotches + grain)[:, :, None] * np.array([0.98, 1.0, 1.02], np.float32)
        # Paving slabs in perspective.
        for x in np.arange(-6, 6.01, 0.6):
            self._line3(image, (x, 0, 0.3), (x, 0, 8), (110, 112, 114), 2)
        for z in np.arange(0.3, 8, 0.6):
            self._line3(image, (-6, 0, z), (6, 0, z), (110, 112, 114), 2)
        # The wall behind the bins, with a stripe of paint.
        back = self.front + BIN_D + rng.uniform(0.4, 0.9)
        wall_colour = np.array(rng.uniform(150, 200, 3), np.float32)
        wall = self._quad((-8, 0, back), (8, 0, back), (8, 4, back), (-8, 4, back))
        cv2.fillPoly(image, [wall], wall_colour.tolist())
        stripe = self._quad((-8, 0, back), (8, 0, back), (8, 0.35, back), (-8, 0.35, back))
        cv2.fillPoly(image, [stripe], (wall_colour * 0.7).tolist())
        image += grain[:, :, None] * 0.5
        image = np.clip(image, 0, 255).astype(np.uint8)
        self.floor_mask = np.ones((height, width), np.uint8)
        cv2.fillPoly(self.floor_mask, [wall], 0)
        self.tops_mask = np.zeros((height, width), np.uint8)
        for box, b in sorted(
            zip(self.boxes, self.bins, strict=True), key=lambda p: -abs(p[0].centre_x - cam.position[0])
        ):
            self._draw_bin(image, box, b, rng)
        return image

    def _draw_bin(self, image: np.ndarray, box: BinBox, b: Bin, rng: np.random.Generator) -> None:
        colour = np.array(taxonomy.category(b.category).rgb[::-1], np.float32)
        cam = self.camera
        x0, x1, z0, z1 = box.x0, box.x1, box.front, box.front + BIN_D
        # Its shadow on the floor, then the lid leaning back, the sides, the front, the rim.
        lean = np.array([0, np.cos(LID_TILT), np.sin(LID_TILT)]) * BIN_D
        shadow = self._quad(
            (x0 + 0.05, 0, z0 + 0.05), (x1 + 0.12, 0, z0 + 0.05), (x1 + 0.12, 0, z1 + 0.15), (x0 + 0.05, 0, z1 + 0.15)
        )
        roi = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(roi, [shadow], 1)
        image[roi > 0] = (image[roi > 0] * 0.7).astype(np.uint8)
        lid = self._quad((x0, BIN_H, z1), (x1, BIN_H, z1), np.add((x1, BIN_H, z1), lean), np.add((x0, BIN_H, z1), lean))
        cv2.fillPoly(image, [lid], (colour * 0.72).tolist(), cv2.LINE_AA)
        label = taxonomy.category(b.category).en.upper().replace(" WASTE", "")
        self._text(image, label, np.add((box.centre_x, BIN_H, z1), lean * 0.55), (225, 225, 225))
        for side, x in ((-1, x0), (1, x1)):
            if (cam.position[0] - x) * side > 0:
                face = self._quad((x, 0, z0), (x, 0, z1), (x, BIN_H, z1), (x, BIN_H, z0))
                cv2.fillPoly(image, [face], (colour * 0.6).tolist(), cv2.LINE_AA)
        front = self._quad((x0, 0, z0), (x1, 0, z0), (x1, BIN_H, z0), (x0, BIN_H, z0))
        cv2.fillPoly(image, [front], (colour * 0.85).tolist(), cv2.LINE_AA)
        self._text(image, label, (box.centre_x, BIN_H * 0.62, z0), (245, 245, 245))
        top = self._quad((x0, BIN_H, z0), (x1, BIN_H, z0), (x1, BIN_H, z1), (x0, BIN_H, z1))
        cv2.fillPoly(image, [top], np.minimum(colour * 1.15 + 18, 255).tolist(), cv2.LINE_AA)
        cv2.fillPoly(self.tops_mask, [top], 1)
        cv2.fillPoly(self.floor_mask, [top, front, lid], 0)
        for x in (x0, x1):
            face = self._quad((x, 0, z0), (x, 0, z1), (x, BIN_H, z1), (x, BIN_H, z0))
            cv2.fillPoly(self.floor_mask, [face], 0)
        self.empty(image, self.bins.index(b), rng)

    def empty(self, image: np.ndarray, index: int, rng: np.random.Generator) -> None:
        """Draw bin ``index``'s inside with a fresh, empty bag in it."""
        box = self.boxes[index]
        polygon = self.bins[index].opening
        clip = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(clip, [polygon], 1)
        x, y, w, h = cv2.boundingRect(polygon)
        window = np.s_[y : y + h, x : x + w]
        inside = np.empty((h, w, 3), np.float32)
        folds = cv2.resize(rng.normal(0, 1, (4, 5)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        inside[:] = LINER + 7 * folds[:, :, None]
        # The inner back wall (lit a little more) above the bag's bottom.
        a, b = box.x0 + RIM, box.x1 - RIM
        far = box.front + BIN_D - RIM
        bottom = BIN_H - SAG
        wall = self._quad((a, bottom, far), (b, bottom, far), (b, BIN_H, far), (a, BIN_H, far)) - (x, y)
        shade = np.zeros((h, w), np.float32)
        cv2.fillPoly(shade, [wall], 1.0)
        inside *= (1 + 0.25 * cv2.GaussianBlur(shade, (0, 0), 2))[:, :, None]
        # The bag folds over the rim: a lighter band just inside it.
        band = np.zeros((h, w), np.uint8)
        cv2.polylines(band, [polygon - (x, y)], True, 1, max(2, round(0.012 * self.size[0])))
        inside[band > 0] = LINER * 1.6
        region = image[window]
        mask = clip[window] > 0
        region[mask] = np.clip(inside[mask], 0, 255).astype(np.uint8)

    def lay(
        self,
        image: np.ndarray,
        index: int,
        item: sprite.Sprite,
        rest: tuple[float, float],
        size: float,
        angle: float,
        fill: float,
    ) -> None:
        """An item lying on bin ``index``'s contents at (``u``, ``v``), foreshortened like them."""
        centre, jacobian = self._surface(index, rest, fill, size)
        w, h = item.size
        metres = size * (BIN_W - 2 * RIM) / max(w, h)
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        # Sprite pixels → metres on the surface (x across, z away from the camera) → frame pixels.
        linear = jacobian @ np.array([[c, s], [s, -c]]) * metres
        shade = 0.7 + 0.3 * min(fill, FULL)  # deeper in the bin, less light
        # Inside the bin the rim and the near wall hide what lies beyond the opening; a heap above
        # the rim hides the rim itself (and, from this camera, the far rim and the lid behind it).
        _warp_paste(image, item, linear, centre, self.openings if fill <= FULL else self.everywhere, shade)

    def _height(self, fill: float) -> float:
        """The height of the contents' surface: the bag's bottom when empty, just below the rim when full,
        above it when what went in did not fit (a heap, up to ``HEAP_RISE``)."""
        if fill > FULL:
            return BIN_H + min(HEAP_RISE, (fill - FULL) * (SAG - 0.08))
        return BIN_H - SAG + fill * (SAG - 0.08)

    def _surface(
        self, index: int, rest: tuple[float, float], fill: float, size: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where (``u``, ``v``) on the contents lies in the frame, and the local map metres → pixels.

        ``v`` spans what can be seen of the contents: the near wall hides their near part, the
        more so the emptier the bin. A heap above the rim spans the whole top of the bin, rim and all."""
        box = self.boxes[index]
        y = self._height(fill)
        cam = self.camera
        margin = 0.5 * size * (BIN_W - 2 * RIM)
        if fill > FULL:  # centred anywhere up to the bin's outer edge: the heap spills over the rim
            near, far, a, b = box.front, box.front + BIN_D, box.x0, box.x1
        else:
            hidden = (BIN_H - y) * (box.front + RIM - cam.position[2]) / max(0.3, cam.position[1] - BIN_H)
            near = min(box.front + RIM + hidden + 0.4 * margin, box.front + BIN_D / 2)
            far = box.front + BIN_D - RIM - 0.4 * margin
            a, b = box.x0 + RIM + 0.6 * margin, box.x1 - RIM - 0.6 * margin
        u, v = rest
        point = np.array([a + u * (b - a), y, far - v * (far - near)])
        d = 0.01
        ex = (cam.project(point + [d, 0, 0]) - cam.project(point - [d, 0, 0])) / (2 * d)
        ez = (cam.project(point + [0, 0, d]) - cam.project(point - [0, 0, d])) / (2 * d)
        return cam.project(point), np.stack([ex, ez], axis=1)

    # -- litter on the ground ------------------------------------------------------------------

    def litter_base(self, item: Litter) -> np.ndarray:
        """Where ``item`` stands on the ground: beside its bin, from level with its front to its back."""
        box = self.boxes[item.bin]
        return np.array([box.centre_x + item.side * BIN_W, 0.0, self.front + item.depth * BIN_D])

    def litter_point(self, item: Litter) -> tuple[float, float]:
        """Where ``item`` touches the ground, in pixels."""
        x, y = self.camera.project(self.litter_base(item))
        return float(x), float(y)

    def litter_extent(self, item: Litter) -> tuple[int, int, int, int]:
        return litter.extent(self.camera, self.litter_base(item), item.size * BIN_W)

    def put_down(self, image: np.ndarray, item: Litter) -> None:
        litter.draw(image, self.camera, item, self.litter_base(item), item.size * BIN_W, on_ground=True)

    # -- people --------------------------------------------------------------------------------

    def draw_visit(
        self,
        frame: np.ndarray,
        visit: Visit,
        f: int,
        held: Sequence[sprite.Sprite],
        fills: Sequence[float],
        light: Light,
    ) -> None:
        """A person at a bin: walking, standing, reaching, with what they carry; and what falls."""
        pose = self._visit_pose(visit, f)
        extras: list[tuple[float, Callable[[np.ndarray], None]]] = []
        reach = next((r for r in visit.reaches if r.start <= f <= r.end), None)
        if reach is not None:
            k = _reach_share(reach, f)
            forward = np.array([0.0, -0.06, 0.18 if visit.kind == "disposal" else 0.28]) * k
            if visit.litter is not None:  # bending down to the ground
                forward = np.array([0.0, -0.5, 0.25]) * k
            for joint in ("shoulder_l", "shoulder_r", "shoulder_back", "neck", "head"):
                pose[joint] = pose[joint] + forward
            for hand, target in self._hands(visit, reach, pose, f, k):
                pose[hand] = target
                pose["elbow" + hand[4:]] = _elbow(pose["shoulder" + hand[4:]], target, pose["side"])
            if visit.kind in ("emptying", "load"):
                if (f >= reach.release) == (visit.kind == "emptying"):  # the full bag lifted out, or the sack tipped in
                    centre = (pose["hand_l"] + pose["hand_r"]) / 2 + [
                        0,
                        0.05 + 0.3 * min(1, max(0, f - reach.release) / max(1, reach.end - reach.release)),
                        0,
                    ]
                    extras.append((float(self.camera.depth(centre)), partial(self._bag, centre=centre)))
            else:
                for drop, item in zip(reach.drops, held, strict=True):
                    length = drop.size * (BIN_W - 2 * RIM)
                    if f < drop.release:
                        hand = pose["hand_r"]
                        ahead = unit(hand - pose["shoulder_r"])
                        centre = hand + ahead * 0.4 * length
                        held_item = partial(self._held, item=item, centre=centre, length=length, angle=drop.carry_angle)
                        extras.append((float(self.camera.depth(centre)) + 0.05, held_item))
                    elif f < drop.land:
                        self._falling(frame, visit.bin, drop, item, f, pose["hand_r"], fills[visit.bin])
        elif visit.kind in ("emptying", "load") and (f > visit.reaches[0].end) == (visit.kind == "emptying"):
            centre = (pose["hand_l"] + pose["hand_r"]) / 2 + [0, 0.3, 0]
            pose["hand_l"] = pose["hand_r"] = centre - [0, 0.2, 0.1]
            extras.append((float(self.camera.depth(centre)), partial(self._bag, centre=centre)))
        if visit.kind in ("wheel_in", "wheel_out") and (f < visit.stand) == (visit.kind == "wheel_in"):
            self._wheeling(visit, pose, extras)
        left = visit.litter
        release = visit.reaches[0].release if visit.reaches else 0
        if left is not None and (f < release) == (visit.kind == "littering"):  # carried, in the right hand
            length = left.size * BIN_W
            base = pose["hand_r"] - [0, 0.8 * length, 0]
            extras.append(
                (
                    float(self.camera.depth(pose["hand_r"])) - 0.01,
                    partial(litter.draw, camera=self.camera, litter=left, base=base, length=length, on_ground=False),
                )
            )
        self._figure(frame, pose, visit.looks, light, extras)

    def _wheeling(self, visit: Visit, pose: dict, extras: list) -> None:
        """The container rolling beside the worker, their hands on its outer front corner."""
        assert visit.container is not None
        side = self.collection_side
        walker = (pose["hip_l"][0] + pose["hip_r"][0]) / 2
        base = self.container_base()
        base[0] = walker - side * (container.WIDTH / 2 + WHEEL_REACH)
        corner = container.corners(base, container.HEIGHT)[1 if side > 0 else 0]
        for hand, dz in (("hand_l", 0.05), ("hand_r", 0.0)):
            pose[hand] = corner + [0.0, -0.05, dz]
            pose["elbow" + hand[4:]] = _elbow(pose["shoulder" + hand[4:]], pose[hand], pose["side"])
        colour = visit.container.colour
        draw = partial(container.draw, camera=self.camera, base=base, colour=colour, on_ground=False)
        extras.append((float(self.camera.depth(base + [0, container.HEIGHT / 2, 0])), draw))

    def draw_passer(self, frame: np.ndarray, passer: Passer, f: int, light: Light) -> None:
        k = (f - passer.start) / max(1, passer.end - passer.start)
        z = self.front - 0.3 - passer.lane * (self.front - 0.9)
        edge = self._edge(z) + 0.6
        x = -edge + k * 2 * edge
        heading = 1 if passer.rightwards else -1
        pose = _walking((x * heading, z), heading, passer.looks.height, k * 2 * edge, 0.0)  # leftwards: mirrored
        self._figure(frame, pose, passer.looks, light, [])

    def _edge(self, z: float) -> float:
        """Half the width the camera sees at depth ``z`` on the floor, in metres."""
        cam = self.camera
        distance = float(np.hypot(cam.position[1], z - cam.position[2]))
        return distance * self.size[0] / 2 / cam.f + abs(cam.position[0])

    def _visit_pose(self, visit: Visit, f: int) -> dict:
        box = self.boxes[visit.bin]
        z = box.front - 0.2 - visit.distance * 0.3
        spot = box.centre_x + visit.offset * BIN_W
        if visit.litter is not None:  # behind the litter and to its left: the right hand reaches it
            base = self.litter_base(visit.litter)
            spot, z = float(base[0]) - 0.2, float(base[2]) - 0.35
        if visit.container is not None and visit.kind != "emptying":  # wheeling: in front of the row
            z = self.front - 0.35
        edge = self._edge(z) + 0.6
        start, end = visit.enters_from * edge, visit.leaves_to * edge
        if visit.container is not None:  # a collection: to and from the container beside the row
            parked = float(self.container_base()[0])
            beside = parked + self.collection_side * (container.WIDTH / 2 + WHEEL_REACH)
            away = self.collection_side * edge
            if visit.kind == "emptying":  # from the container to the bin, and back with the bag
                start = end = parked
            elif visit.kind == "wheel_in":  # in from the side, pushing it, to beside where it stands
                start, spot, end = away, beside, beside
            else:  # from its front to beside it, then out, pulling it
                start, spot, end = parked, beside, away
        height = visit.looks.height
        if f < visit.stand:
            k = (f - visit.start) / max(1, visit.stand - visit.start)
            x = start + ease_out(k) * (spot - start)
            heading = 1 if spot >= start else -1
            return _walking((x, z), heading, height, abs(x - start), min(1.0, 3 * (k - 0.66)))
        if f > visit.leave:
            k = (f - visit.leave) / max(1, visit.end - visit.leave)
            x = spot + ease_in(k) * (end - spot)
            return _walking((x, z), 1 if end >= spot else -1, height, abs(x - spot), max(0.0, 1 - 3 * k))
        t = f / self.fps
        sway = visit.sway * np.array([0.03 * np.sin(2.1 * t), 0.0, 0.02 * np.sin(1.3 * t + 1)])
        pose = _standing(np.array([spot, 0.0, z]) + sway, height)
        return pose

    def _hands(self, visit: Visit, reach: Reach, pose: dict, f: int, k: float) -> list[tuple[str, np.ndarray]]:
        box = self.boxes[visit.bin]
        opening = box.opening(BIN_H + 0.1)
        u, v = reach.hand
        far, near = opening[0], opening[3]
        target = far + u * (opening[1] - opening[0]) + v * (near - far)
        if reach.arrive < f <= reach.release:  # a small tremor while letting go
            target = target + 0.012 * np.array([np.sin(f * 1.7), 0.3 * np.sin(f * 2.3), np.cos(f * 1.3)])
        if visit.litter is not None:
            goal = self.litter_base(visit.litter) + [0, 0.8 * visit.litter.size * BIN_W, 0]
            return [("hand_r", pose["hand_r"] + k * (goal - pose["hand_r"]))]
        if visit.kind in ("emptying", "load"):
            centre = box.opening(BIN_H + 0.02).mean(axis=0)
            out = []
            for hand, dx in (("hand_l", -0.17), ("hand_r", 0.17)):
                goal = centre + [dx, 0, -0.05]
                out.append((hand, pose[hand] + k * (goal - pose[hand])))
            return out
        return [("hand_r", pose["hand_r"] + k * (target - pose["hand_r"]))]

    # -- drawing primitives ---------------------------------------------------------------------

    def _figure(self, frame: np.ndarray, pose: dict, looks, light: Light, extras) -> None:
        """Shadows first (floor, then the bins' tops), then the body parts far to near."""
        parts = _parts(pose, looks)
        at = self.camera.project(pose["head"])
        lit = light(float(at[0]), float(at[1]))
        if self.shadows:
            self._cast(frame, parts)
        items = [
            (
                float(self.camera.depth(p.mid)),
                lambda canvas, p=p: p.draw(canvas, self.camera.project, self.camera.px_per_m, p.lit(lit)),
            )
            for p in parts
        ]
        for _, draw in sorted(items + extras, key=lambda x: -x[0]):
            draw(frame)

    def _cast(self, frame: np.ndarray, parts) -> None:
        """The figure's shadow on the floor, and where it rises above the bins, on their tops."""
        height, width = frame.shape[:2]
        for plane, allowed in ((0.0, self.floor_mask), (BIN_H, self.tops_mask)):
            casting = [part for part in parts if plane == 0.0 or part.mid[1] > BIN_H]
            if not casting:
                continue

            def onto(points: np.ndarray, plane: float = plane) -> np.ndarray:
                p = np.asarray(points, np.float64)
                return p + np.maximum(0.0, (p[..., 1:2] - plane) / -self.sun[1]) * self.sun

            corners = self.camera.project(onto(np.concatenate([part.points for part in casting])))
            x0, y0 = np.maximum(0, np.floor(corners.min(axis=0)).astype(int) - 60)
            x1, y1 = np.minimum((width, height), np.ceil(corners.max(axis=0)).astype(int) + 60)
            if x1 <= x0 or y1 <= y0:
                continue
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            for part in casting:
                part.draw(
                    mask,
                    lambda points, onto=onto, origin=(x0, y0): self.camera.project(onto(points)) - origin,
                    lambda point, onto=onto: self.camera.px_per_m(onto(point)),
                    255,
                )
            mask &= allowed[y0:y1, x0:x1]
            roi = frame[y0:y1, x0:x1]
            np.copyto(roi, (roi * SHADOW).astype(np.uint8), where=mask[:, :, None] > 0)

    def _held(self, canvas: np.ndarray, item: sprite.Sprite, centre: np.ndarray, length: float, angle: float) -> None:
        pixels = length * self.camera.px_per_m(centre)
        scaled = sprite.transformed(item, angle, pixels / max(item.size))
        sprite.paste(canvas, scaled, self.camera.project(centre))

    def _falling(
        self, frame: np.ndarray, index: int, drop, item: sprite.Sprite, f: int, hand: np.ndarray, fill: float
    ) -> None:
        k = (f - drop.release + 1) / max(1, drop.land - drop.release + 1)
        centre, jacobian = self._surface(index, drop.rest, fill, drop.size)
        start = self.camera.project(hand)
        at = start + (k * k) * (centre - start)
        length = drop.size * (BIN_W - 2 * RIM)
        pixels = length * self.camera.px_per_m(hand) * (1 - 0.2 * k)
        angle = (1 - k) * drop.carry_angle + k * drop.rest_angle
        sprite.paste(frame, sprite.transformed(item, angle, pixels / max(item.size)), at, self.openings)

    def _bag(self, canvas: np.ndarray, centre: np.ndarray) -> None:
        at = self.camera.project(centre)
        r = 0.22 * self.camera.px_per_m(centre)
        cv2.ellipse(
            canvas,
            (round(at[0]), round(at[1])),
            (round(r), round(1.2 * r)),
            0,
            0,
            360,
            (LINER * 1.3).tolist(),
            -1,
            cv2.LINE_AA,
        )
        cv2.ellipse(
            canvas,
            (round(at[0]), round(at[1] - 1.1 * r)),
            (round(0.3 * r), round(0.3 * r)),
            0,
            0,
            360,
            (LINER * 1.8).tolist(),
            -1,
            cv2.LINE_AA,
        )

    def _quad(self, *corners) -> np.ndarray:
        return np.round(self.camera.project(np.array(corners, np.float64))).astype(np.int32)

    def _line3(self, image: np.ndarray, a, b, colour, thickness: int) -> None:
        # Split the line so that points behind the camera never reach the projection.
        points = np.linspace(a, b, 40)
        points = points[self.camera.depth(points) > 0.3]
        if len(points) >= 2:
            cv2.polylines(
                image, [np.round(self.camera.project(points)).astype(np.int32)], False, colour, thickness, cv2.LINE_AA
            )

    def _text(self, image: np.ndarray, text: str, at, colour) -> None:
        """``text`` centred at the world point ``at``, as wide as 70 % of a bin there."""
        at = np.asarray(at, np.float64)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.0, 1)
        scale = 0.7 * BIN_W * self.camera.px_per_m(at) / tw
        u, v = self.camera.project(at)
        thickness = max(1, round(scale * 1.5))
        origin = (round(u - tw * scale / 2), round(v + th * scale / 2))
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, colour, thickness, cv2.LINE_AA)


# -- the human figure ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A limb (two joints and a radius), the torso (a quadrilateral) or the head (a ball)."""

    kind: str
    points: np.ndarray
    radius: float
    colour: tuple[int, int, int]

    @property
    def mid(self) -> np.ndarray:
        return self.points.mean(axis=0)

    def lit(self, light: float) -> tuple[int, int, int]:
        b, g, r = (min(255, round(c * light)) for c in self.colour)
        return b, g, r

    def draw(self, canvas: np.ndarray, project, scale, colour) -> None:
        """Into ``canvas`` (a frame, or a mask with ``colour`` 255) through ``project`` (points →
        pixels) and ``scale`` (pixels per metre at a point)."""
        px = project(self.points)
        if self.kind == "torso":
            hull = cv2.convexHull(np.round(px).astype(np.int32))
            cv2.fillPoly(canvas, [hull], colour, cv2.LINE_AA)
            return
        width = max(1, round(2 * self.radius * scale(self.mid)))
        if self.kind == "ball":
            cv2.circle(canvas, (round(px[0][0]), round(px[0][1])), max(1, width // 2), colour, -1, cv2.LINE_AA)
            return
        a, b = (round(px[0][0]), round(px[0][1])), (round(px[1][0]), round(px[1][1]))
        cv2.line(canvas, a, b, colour, width, cv2.LINE_AA)


def _parts(pose: dict, looks) -> list[_Part]:
    b, g, r = (int(c * 0.8) for c in looks.coat)
    darker = (b, g, r)
    parts = [
        _Part("limb", np.array([pose["hip_l"], pose["foot_l"]]), 0.07, looks.trousers),
        _Part("limb", np.array([pose["hip_r"], pose["foot_r"]]), 0.07, looks.trousers),
        _Part(
            "torso",
            np.array(
                [
                    pose["hip_l"],
                    pose["hip_r"],
                    pose["shoulder_r"],
                    pose["shoulder_l"],
                    pose["neck"],
                    pose["hip_back"],
                    pose["shoulder_back"],
                ]
            ),
            0.0,
            looks.coat,
        ),
        _Part("ball", np.array([pose["head"]]), 0.105, looks.hair),
    ]
    for side in ("l", "r"):
        parts += [
            _Part("limb", np.array([pose[f"shoulder_{side}"], pose[f"elbow_{side}"]]), 0.055, darker),
            _Part("limb", np.array([pose[f"elbow_{side}"], pose[f"hand_{side}"]]), 0.045, looks.coat),
            _Part("ball", np.array([pose[f"hand_{side}"]]), 0.05, looks.skin),
        ]
    return parts


def _body(centre: np.ndarray, heading: np.ndarray, height: float) -> dict:
    """Joints of a person standing at ``centre`` on the floor, facing ``heading`` (a unit vector in x-z)."""
    side = np.array([heading[2], 0.0, -heading[0]])  # to their right
    hip, shoulder = 0.52 * height, 0.82 * height
    up = np.array([0.0, 1.0, 0.0])
    pose = {
        "side": side,
        "hip_l": centre - side * 0.1 + up * hip,
        "hip_r": centre + side * 0.1 + up * hip,
        "hip_back": centre - heading * 0.11 + up * hip,
        "shoulder_l": centre - side * 0.2 + up * shoulder,
        "shoulder_r": centre + side * 0.2 + up * shoulder,
        "shoulder_back": centre - heading * 0.12 + up * shoulder,
        "neck": centre + up * (shoulder + 0.05),
        "head": centre + up * (0.93 * height),
        "foot_l": centre - side * 0.1 + up * 0.04,
        "foot_r": centre + side * 0.1 + up * 0.04,
    }
    for s, sign in (("l", -1), ("r", 1)):
        pose[f"elbow_{s}"] = pose[f"shoulder_{s}"] + side * sign * 0.04 - up * 0.28
        pose[f"hand_{s}"] = pose[f"shoulder_{s}"] + side * sign * 0.05 - up * 0.55 + heading * 0.05
    return pose


def _standing(centre: np.ndarray, height: float) -> dict:
    return _body(centre, np.array([0.0, 0.0, 1.0]), height)


def _walking(at: tuple[float, float], direction: int, height: float, walked: float, turn: float) -> dict:
    """Walking along x (``direction`` ±1), legs and arms swinging; ``turn`` (0-1) faces the bins."""
    along = np.array([float(direction), 0.0, 0.0])
    facing = unit((1 - turn) * along + turn * np.array([0.0, 0.0, 1.0]))
    centre = np.array([at[0], 0.0, at[1]])
    pose = _body(centre, facing, height)
    swing = np.sin(walked / 0.75 * np.pi) * (1 - turn)
    for s, sign in (("l", 1), ("r", -1)):
        pose[f"foot_{s}"] = pose[f"foot_{s}"] + along * 0.25 * sign * swing
        pose[f"hand_{s}"] = pose[f"hand_{s}"] - along * 0.2 * sign * swing
        pose[f"elbow_{s}"] = pose[f"elbow_{s}"] - along * 0.08 * sign * swing
    return pose


def _reach_share(reach: Reach, f: int) -> float:
    """How far the hand is out towards the opening: 0 at the body, 1 over the opening."""
    if f <= reach.arrive:
        return ease((f - reach.start) / max(1, reach.arrive - reach.start))
    if f <= reach.release:
        return 1.0
    return 1 - ease((f - reach.release) / max(1, reach.end - reach.release))


def _elbow(shoulder: np.ndarray, hand: np.ndarray, side: np.ndarray) -> np.ndarray:
    return (shoulder + hand) / 2 + side * 0.05 - np.array([0.0, 0.06, 0.0])


def _warp_paste(
    image: np.ndarray, item: sprite.Sprite, linear: np.ndarray, centre: np.ndarray, clip: np.ndarray, shade: float
) -> None:
    """Paste ``item`` mapped by ``linear`` (2×2, about its centre) to ``centre``, inside ``clip``."""
    w, h = item.size
    corners = (np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) - (w / 2, h / 2)) @ linear.T + centre
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(image.shape[1], x1), min(image.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        return
    matrix = np.hstack([linear, (centre - (x0, y0) - linear @ (w / 2, h / 2))[:, None]])
    size = (x1 - x0, y1 - y0)
    bgr = cv2.warpAffine(item.bgr, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(item.alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    alpha *= clip[y0:y1, x0:x1]
    roi = image[y0:y1, x0:x1]
    a = alpha[:, :, None]
    roi[:] = (roi * (1 - a) + bgr.astype(np.float32) * shade * a + 0.5).astype(np.uint8)
