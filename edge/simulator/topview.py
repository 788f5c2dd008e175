"""The drop-off point seen straight from above: a second camera style, drawn another way.

A row of 1–4 bins on a tiled floor, each with a rim in its category's colour, its lid flipped
open behind it and a dark liner in the opening. People are seen from overhead: an arm (sleeve,
forearm, hand) comes in from the bottom edge, where the person stands, carries the item and
lets go; a bystander's shoulders and head cover the near part of an opening; passers-by walk
through. Every length is derived from the frame size. The agent is tuned on neither style
alone: the two share the plan and the camera, not a line of drawing code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from binwatch.datasets import taxonomy
from binwatch.edge.simulator import sprite
from binwatch.edge.simulator.easing import ease, ease_out, unit
from binwatch.edge.simulator.layout import Bin
from binwatch.edge.simulator.sensor import Light
from binwatch.edge.simulator.timeline import FULL, Passer, Reach, Visit

LINER = (44, 46, 48)  # BGR of the bin liner
MASK = (255, 255, 255)  # "colour" that paints a shape into a shadow mask
HELD_SCALE = 1.12  # an item held up is nearer the camera than one lying in the bin


def arrange(categories: Sequence[str], width: int, height: int) -> tuple[list[Bin], list[tuple]]:
    """Bins side by side, centred, in the upper middle of the frame, and each one's top face and
    lid (x0, y0, x1, y1); the floor below them is where people stand and reach in from."""
    count = len(categories)
    gap = round(0.025 * width)
    bin_w = min(round(0.21 * width), (width - round(0.1 * width) - (count - 1) * gap) // count)
    bin_h = min(round(0.85 * bin_w), round(0.42 * height))
    lid_h = round(0.3 * bin_h)
    bottom = round(0.74 * height)
    top = bottom - bin_h
    left = (width - count * bin_w - (count - 1) * gap) // 2
    rim = max(3, round(0.08 * bin_w))
    chamfer = max(2, round(0.12 * (bin_w - 2 * rim)))
    bins, faces = [], []
    for i, category in enumerate(categories):
        x0 = left + i * (bin_w + gap)
        x1, y1 = x0 + bin_w, top + bin_h
        ox0, oy0, ox1, oy1 = x0 + rim, top + rim, x1 - rim, y1 - rim
        opening = np.array([
            (ox0 + chamfer, oy0), (ox1 - chamfer, oy0), (ox1, oy0 + chamfer), (ox1, oy1 - chamfer),
            (ox1 - chamfer, oy1), (ox0 + chamfer, oy1), (ox0, oy1 - chamfer), (ox0, oy0 + chamfer),
        ], dtype=np.int32)  # fmt: skip
        bins.append(Bin(f"{category}-{i + 1}", category, opening))  # type: ignore[arg-type]
        faces.append(((x0, top, x1, y1), (x0, top - lid_h, x1, top)))
    return bins, faces


class TopStage:
    def __init__(self, categories: Sequence[str], size: tuple[int, int], fps: float, shadows: bool):
        self.size, self.fps, self.shadows = size, fps, shadows
        self.bins, self.faces = arrange(categories, *size)
        self.unit = self.bins[0].opening_size[0]  # every body part is sized against a bin opening
        self.openings = np.zeros((size[1], size[0]), np.float32)
        for b in self.bins:
            cv2.fillPoly(self.openings, [b.opening], 1.0)
        self.everywhere = np.ones((size[1], size[0]), np.float32)  # nothing in front of a heap above the rim
        self.shadow = np.array([0.035, 0.05]) * self.unit

    # -- the static layer ---------------------------------------------------------------------

    def background(self, rng: np.random.Generator) -> np.ndarray:
        """Concrete floor tiles, the bins with their GB/T 19095 colours and open lids, a vignette."""
        width, height = self.size
        blotches = _smooth_noise(rng, self.size, (16, 9))
        grain = cv2.GaussianBlur(rng.normal(0, 4, (height, width)).astype(np.float32), (0, 0), 1.2)
        floor: np.ndarray = 150 + 9 * blotches + grain  # float32; OpenCV's stubs leave the dtype open
        tile = max(8, round(0.11 * width))
        grout = np.zeros((height, width), np.float32)
        grout[:, ::tile], grout[::tile, :] = 1, 1
        floor -= 22 * cv2.GaussianBlur(grout, (3, 3), 0)
        image = np.repeat(floor[:, :, None], 3, axis=2) * np.array([0.97, 1.0, 1.03], np.float32)
        for b, ((x0, y0, x1, y1), (lx0, ly0, lx1, ly1)) in zip(self.bins, self.faces, strict=True):
            colour = np.array(taxonomy.category(b.category).rgb[::-1], np.float32)
            drop = max(2, round(0.05 * (x1 - x0)))
            image[y0 + drop : y1 + drop, x0 + drop : x1 + drop] *= 0.65  # the bin's shadow on the floor
            image[ly0:ly1, lx0:lx1] = colour * 0.8
            image[y0:y1, x0:x1] = colour
            image[y0 : y0 + max(1, drop // 2), x0:x1] = np.minimum(colour * 1.25 + 20, 255)  # the rim catches light
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
        image *= (1 - 0.12 * r2)[:, :, None]
        image = np.clip(image, 0, 255).astype(np.uint8)
        for index, (b, (_, (lx0, ly0, lx1, ly1))) in enumerate(zip(self.bins, self.faces, strict=True)):
            self.empty(image, index, rng)
            label = taxonomy.category(b.category).en.upper().replace(" WASTE", "")
            scale = (lx1 - lx0) / 330
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, 1)
            at = ((lx0 + lx1 - tw) // 2, (ly0 + ly1 + th) // 2)
            cv2.putText(
                image,
                label,
                at,
                cv2.FONT_HERSHEY_DUPLEX,
                scale,
                (235, 235, 235),
                max(1, round(scale * 1.5)),
                cv2.LINE_AA,
            )
        return image

    def empty(self, image: np.ndarray, index: int, rng: np.random.Generator) -> None:
        """A fresh liner in bin ``index``: dark plastic with soft folds."""
        x0, y0, x1, y1 = self.faces[index][0]
        liner = np.array(LINER, np.float32) + 10 * _smooth_noise(rng, (x1 - x0, y1 - y0), (6, 6))[:, :, None]
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [self.bins[index].opening - [x0, y0]], 1)
        body = image[y0:y1, x0:x1]
        body[inside > 0] = np.clip(liner[inside > 0], 0, 255).astype(np.uint8)

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
        long_side = size * self.bins[index].opening_size[0]
        lying = sprite.transformed(item, angle, long_side / max(item.size))
        # A heap above the rim (fill past full) spills over the rim's outline: nothing clips it.
        heap = fill > FULL
        clip = self.everywhere if heap else self.openings
        at = self._rest(index, rest, 0.0 if heap else long_side)
        sprite.paste(image, lying, at, clip, shade=0.85 + 0.1 * min(fill, FULL))

    def _rest(self, index: int, rest: tuple[float, float], long_side: float) -> np.ndarray:
        """(``u``, ``v``) in the opening, kept ``0.45 * long_side`` from its edge (0: up to the edge)."""
        x0, y0, x1, y1 = self.bins[index].opening_box
        half = 0.45 * long_side
        u, v = rest
        return np.array([x0 + half + u * max(0.0, x1 - x0 - 2 * half), y0 + half + v * max(0.0, y1 - y0 - 2 * half)])

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
        b = self.bins[visit.bin]
        if visit.kind == "bystander":
            self._draw_bystander(frame, visit, f)
            return
        reach = next((r for r in visit.reaches if r.start <= f <= r.end), None)
        if reach is None:
            return
        shoulder = np.array([b.centre[0] + visit.offset * 2 * self.unit, self.size[1] + 1.6 * self.unit])
        if visit.kind in ("emptying", "load"):
            for dx in (-0.35, 0.35):
                self._draw_arm(
                    frame, reach, f, shoulder + [dx * self.unit, 0], np.add(b.centre, [dx * 0.6 * self.unit, 0]), visit
                )
            if (f >= reach.release) == (visit.kind == "emptying"):  # the full bag lifted out, or the sack tipped in
                hand = self._hand(reach, f, shoulder, np.array(b.centre))
                cv2.ellipse(
                    frame,
                    (round(hand[0]), round(hand[1])),
                    (round(0.45 * self.unit), round(0.35 * self.unit)),
                    0,
                    0,
                    360,
                    LINER,
                    -1,
                    cv2.LINE_AA,
                )
            return
        target = self._rest(visit.bin, reach.hand, 0.3 * self.unit)
        hand = self._hand(reach, f, shoulder, target)
        for i, (drop, item) in enumerate(zip(reach.drops, held, strict=True)):
            long_side = drop.size * b.opening_size[0]
            if f < drop.release:
                direction = unit(np.subtract(hand, shoulder))
                centre = hand + direction * 0.45 * long_side * HELD_SCALE + [i * 0.3 * long_side, 0]
                sprite.paste(
                    frame, sprite.transformed(item, drop.carry_angle, long_side * HELD_SCALE / max(item.size)), centre
                )
            elif f < drop.land:
                k = (f - drop.release + 1) / (drop.land - drop.release + 1)
                angle = (1 - k) * drop.carry_angle + k * drop.rest_angle
                scale = long_side * (HELD_SCALE - k * (HELD_SCALE - 1)) / max(item.size)
                rest = self._rest(visit.bin, drop.rest, long_side)
                sprite.paste(frame, sprite.transformed(item, angle, scale), hand + k * (rest - hand), self.openings)
        self._draw_arm(frame, reach, f, shoulder, target, visit)

    def _hand(self, reach: Reach, f: int, shoulder: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Eased in from below the frame, a small tremor while releasing, eased back out."""
        outside = np.array([target[0], self.size[1] + 0.8 * self.unit])
        if f <= reach.arrive:
            k = ease((f - reach.start) / max(1, reach.arrive - reach.start))
            start, end = outside, target
        elif f <= reach.release:
            return target + np.sin((f - reach.arrive) * 1.3) * 0.6
        else:
            k = ease((f - reach.release) / max(1, reach.end - reach.release))
            start, end = target, outside + [0.2 * self.unit, 0]
        bow = np.sin(np.pi * k) * 0.04 * (end[1] - start[1])  # a slight arc, not a ruler line
        return start + k * (end - start) + np.array([bow, 0.0])

    def _draw_arm(self, frame: np.ndarray, reach: Reach, f: int, shoulder: np.ndarray, target, visit: Visit) -> None:
        hand = self._hand(reach, f, shoulder, np.asarray(target, float))
        looks = visit.looks
        if self.shadows:
            self._shade(frame, lambda mask, origin: self._arm(mask, shoulder, hand, origin, MASK, MASK), hand)
        self._arm(frame, shoulder, hand, (0, 0), looks.coat, looks.skin)

    def _arm(self, canvas: np.ndarray, shoulder, hand, origin, sleeve, skin) -> None:
        """A sleeve from outside the frame, a forearm and a hand with a thumb, pointing at ``hand``;
        drawn into ``canvas`` whose top-left corner is ``origin`` in frame coordinates."""
        u = self.unit
        d = unit(np.subtract(hand, shoulder))
        n = np.array([-d[1], d[0]])
        hand = np.asarray(hand, float)

        def at(p):
            return round(p[0] - origin[0]), round(p[1] - origin[1])

        wrist, cuff = hand - d * 0.2 * u, hand - d * 0.42 * u
        w = max(2, round(0.2 * u))
        aa = cv2.LINE_AA
        cv2.line(canvas, at(shoulder), at(cuff), _darker(sleeve), w + 2 + w // 3, aa)
        cv2.line(canvas, at(shoulder), at(cuff), sleeve, w + w // 3, aa)
        cv2.line(canvas, at(cuff), at(wrist), _darker(skin), w + 2, aa)
        cv2.line(canvas, at(cuff), at(wrist), skin, w, aa)
        angle = float(np.degrees(np.arctan2(d[1], d[0])))
        palm = hand - d * 0.02 * u
        axes = (max(2, round(0.17 * u)), max(2, round(0.115 * u)))
        cv2.ellipse(canvas, at(palm), (axes[0] + 1, axes[1] + 1), angle, 0, 360, _darker(skin), -1, aa)
        cv2.ellipse(canvas, at(palm), axes, angle, 0, 360, skin, -1, aa)
        thumb = palm + n * 0.12 * u + d * 0.07 * u
        cv2.line(canvas, at(palm + n * 0.05 * u), at(thumb), skin, max(1, round(0.05 * u)), aa)

    def _draw_bystander(self, frame: np.ndarray, visit: Visit, f: int) -> None:
        """Walks in along the row, stands with head and shoulders over the near part of the opening, walks off."""
        b = self.bins[visit.bin]
        size = self.unit * 0.9
        y = b.opening_box[3] + (0.05 + 0.25 * visit.distance) * size
        spot = b.centre[0] + visit.offset * self.unit
        edge = self.size[0] + size
        if f < visit.stand:
            k = (f - visit.start) / max(1, visit.stand - visit.start)
            start = -size if visit.enters_from < 0 else edge
            x, heading = start + ease_out(k) * (spot - start), -visit.enters_from
        elif f > visit.leave:
            k = (f - visit.leave) / max(1, visit.end - visit.leave)
            end = -size if visit.leaves_to < 0 else edge
            x, heading = spot + k * k * (end - spot), visit.leaves_to
        else:
            t = f / self.fps
            x, heading = spot + visit.sway * 0.04 * size * np.sin(2.1 * t), 0
        self._walker(frame, x, y, size, heading, f, visit.looks)

    def draw_passer(self, frame: np.ndarray, passer: Passer, f: int, light: Light) -> None:
        size = self.unit * 0.9
        k = (f - passer.start) / max(1, passer.end - passer.start)
        x = -size + k * (self.size[0] + 2 * size)
        x = x if passer.rightwards else self.size[0] - x
        if passer.over_openings:
            y = self.bins[0].centre[1] + (passer.lane - 0.12) * size
        else:
            clear = self.faces[0][0][3] + 0.6 * size
            y = clear + passer.lane * max(0.0, self.size[1] - 0.15 * size - clear)
        self._walker(frame, x, y, size, 1 if passer.rightwards else -1, f, passer.looks)

    def _walker(self, frame: np.ndarray, x: float, y: float, size: float, heading: int, f: int, looks) -> None:
        if self.shadows:
            self._shade(
                frame, lambda mask, origin: self._body(mask, x, y, size, heading, f, origin, MASK, MASK), (x, y)
            )
        self._body(frame, x, y, size, heading, f, (0, 0), looks.coat, looks.hair)

    def _body(self, canvas, x: float, y: float, s: float, heading: int, f: int, origin, coat, hair) -> None:
        """A person seen from above: shoulders across the direction of travel, swinging arms, a head."""

        def at(cx, cy):
            return round(cx - origin[0]), round(cy - origin[1])

        swing = 0.18 * s * np.sin(2 * np.pi * f / self.fps * 1.8) * abs(heading)
        arm = (round(0.16 * s), round(0.07 * s))
        if heading == 0:  # standing, facing the bin: shoulders along the row
            for side in (-1, 1):
                cv2.ellipse(canvas, at(x + side * 0.45 * s, y), arm[::-1], 0, 0, 360, coat, -1, cv2.LINE_AA)
            cv2.ellipse(canvas, at(x, y), (round(0.5 * s), round(0.16 * s)), 0, 0, 360, coat, -1, cv2.LINE_AA)
            cv2.circle(canvas, at(x, y - 0.04 * s), round(0.2 * s), hair, -1, cv2.LINE_AA)
            return
        for side, phase in ((-1, 1), (1, -1)):
            cv2.ellipse(canvas, at(x + phase * swing, y + side * 0.45 * s), arm, 0, 0, 360, coat, -1, cv2.LINE_AA)
        cv2.ellipse(canvas, at(x, y), (round(0.16 * s), round(0.5 * s)), 0, 0, 360, coat, -1, cv2.LINE_AA)
        cv2.circle(canvas, at(x + 0.04 * s * heading, y), round(0.2 * s), hair, -1, cv2.LINE_AA)

    def _shade(self, frame: np.ndarray, draw: Callable, near: sprite.Point) -> None:
        """Darken what lies under a shape: ``draw(mask, origin)`` paints the shape into a mask
        whose top-left corner is ``origin``, displaced against the light so the shadow falls aside."""
        reach = round(2.0 * self.unit)
        width, height = self.size
        x0, y0 = max(0, round(near[0]) - reach), max(0, round(near[1]) - reach)
        x1, y1 = min(width, round(near[0]) + reach), height
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw(mask, (x0 - self.shadow[0], y0 - self.shadow[1]))
        roi = frame[y0:y1, x0:x1]
        np.copyto(roi, (roi * 0.72).astype(np.uint8), where=mask[:, :, None] > 0)


def _darker(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    b, g, r = colour
    return int(b * 0.7), int(g * 0.7), int(r * 0.7)


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Unit noise that varies over ``cells`` (columns, rows) across an image of ``size``: stains, folds."""
    return cv2.resize(rng.normal(0, 1, cells[::-1]).astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
