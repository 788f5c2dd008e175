"""Drawing the scene, frame by frame, fast enough to make ten minutes of video in a minute.

The floor, the bins and the items already lying in them form a static picture that changes
only when an item lands; each frame copies it, draws whatever moves (an arm, a falling item,
a passer-by) and then applies the camera: a slow drift of light and colour, and sensor noise
drawn from a pre-computed bank. Frames are BGR, as OpenCV writes video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets import taxonomy
from binwatch.datasets.manifest import ImageStore, MergedStore
from binwatch.edge.clip import stderr_silenced
from binwatch.edge.simulator import sprite
from binwatch.edge.simulator.layout import Bin
from binwatch.edge.simulator.timeline import REST_SCALE, Passer, Reach, Timeline

CODECS = ("avc1", "mp4v")  # H.264 plays in browsers; MPEG-4 part 2 is what every OpenCV build has
NOISE_BANK = 16
NOISE_SIGMA = 2.0
NOISE_OFFSET = 8  # noise is stored as uint8 around this value and subtracted again
BAG = (44, 46, 48)  # BGR of the bin liner
MASK = (255, 255, 255)  # "colour" that paints a shape into a shadow mask


@dataclass(frozen=True)
class _Visit:
    """One reach with its item, as held (upright in the hand) and as it will lie in the bin."""

    reach: Reach
    held: sprite.Sprite
    lying: sprite.Sprite


class Renderer:
    def __init__(
        self,
        timeline: Timeline,
        bins: list[Bin],
        store: ImageStore | MergedStore,
        size: tuple[int, int],
        rng: np.random.Generator,
    ):
        self.timeline, self.store = timeline, store
        self.width, self.height = size
        self.unit = bins[0].opening_size[0]  # every body part is sized against a bin opening
        self.static = _background(bins, size, rng)
        self.openings = np.zeros((self.height, self.width), np.float32)
        for b in bins:
            cv2.fillPoly(self.openings, [b.opening], 1.0)
        self.camera = Camera(size, timeline.fps, rng)
        self.shadow = np.array([0.035, 0.05]) * self.unit

    def frames(self) -> Iterator[np.ndarray]:
        visits = (self._visit(reach) for reach in self.timeline.reaches)  # each item cut out as its turn comes
        passers = iter(self.timeline.passers)
        visit, passer = next(visits, None), next(passers, None)
        for f in range(self.timeline.frames):
            if visit is not None and f == visit.reach.land:
                sprite.paste(self.static, visit.lying, visit.reach.rest, self.openings, shade=0.93)
            frame = self.static
            if passer is not None and passer.start <= f <= passer.end:
                frame = frame.copy()
                self._draw_passer(frame, passer, f)
            if visit is not None and visit.reach.start <= f <= visit.reach.end:
                frame = frame.copy() if frame is self.static else frame
                self._draw_reach(frame, visit.reach, visit.held, f)
            yield self.camera.expose(frame, f)
            if passer is not None and f >= passer.end:
                passer = next(passers, None)
            if visit is not None and f >= visit.reach.end:
                visit = next(visits, None)

    def _visit(self, reach: Reach) -> _Visit:
        cut = sprite.cut_out(self.store.read_rgb(reach.sample.path), reach.item_size)
        return _Visit(reach, cut, sprite.transformed(cut, reach.rest_angle, REST_SCALE))

    def _draw_reach(self, frame: np.ndarray, reach: Reach, held: sprite.Sprite, f: int) -> None:
        hand = _hand_position(reach, f)
        self._shade(frame, lambda mask, origin: self._arm(mask, reach.shoulder, hand, origin, MASK, MASK), hand)
        if f < reach.release:
            direction = _unit(np.subtract(hand, reach.shoulder))
            centre = hand + direction * 0.45 * reach.item_size  # held by its near end
            sprite.paste(frame, sprite.transformed(held, reach.carry_angle), centre)
        elif f < reach.land:
            # Falling into the bin: shrinking towards its resting size and angle, hidden by the rim.
            k = (f - reach.release + 1) / (reach.land - reach.release + 1)
            angle = (1 - k) * reach.carry_angle + k * reach.rest_angle
            sprite.paste(frame, sprite.transformed(held, angle, 1 - k * (1 - REST_SCALE)), reach.rest, self.openings)
        self._arm(frame, reach.shoulder, hand, (0, 0), reach.sleeve, reach.skin)

    def _arm(self, canvas: np.ndarray, shoulder, hand, origin, sleeve, skin) -> None:
        """A sleeve from outside the frame, a forearm and a hand with a thumb, pointing at ``hand``;
        drawn into ``canvas`` whose top-left corner is ``origin`` in frame coordinates."""
        u = self.unit
        d = _unit(np.subtract(hand, shoulder))
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

    def _draw_passer(self, frame: np.ndarray, p: Passer, f: int) -> None:
        k = (f - p.start) / max(1, p.end - p.start)
        x = -p.size + k * (self.width + 2 * p.size)
        x = x if p.rightwards else self.width - x
        self._shade(frame, lambda mask, origin: self._body(mask, p, x, f, origin, MASK, MASK), (x, p.y))
        self._body(frame, p, x, f, (0, 0), p.coat, p.hair)

    def _body(self, canvas: np.ndarray, p: Passer, x: float, f: int, origin, coat, hair) -> None:
        """A walker seen from above: shoulders across the direction of travel, swinging arms, a head."""
        s = p.size

        def at(cx, cy):
            return round(cx - origin[0]), round(cy - origin[1])

        swing = 0.18 * s * np.sin(2 * np.pi * f / self.timeline.fps * 1.8)
        arm = (round(0.16 * s), round(0.07 * s))
        for side, phase in ((-1, 1), (1, -1)):
            cv2.ellipse(canvas, at(x + phase * swing, p.y + side * 0.45 * s), arm, 0, 0, 360, coat, -1, cv2.LINE_AA)
        cv2.ellipse(canvas, at(x, p.y), (round(0.16 * s), round(0.5 * s)), 0, 0, 360, coat, -1, cv2.LINE_AA)
        ahead = 0.04 * s if p.rightwards else -0.04 * s
        cv2.circle(canvas, at(x + ahead, p.y), round(0.2 * s), hair, -1, cv2.LINE_AA)

    def _shade(self, frame: np.ndarray, draw, near: sprite.Point) -> None:
        """Darken what lies under a shape: ``draw(mask, origin)`` paints the shape into a mask
        whose top-left corner is ``origin``, displaced against the light so the shadow falls aside."""
        reach = round(2.0 * self.unit)
        x0, y0 = max(0, round(near[0]) - reach), max(0, round(near[1]) - reach)
        x1, y1 = min(self.width, round(near[0]) + reach), self.height
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw(mask, (x0 - self.shadow[0], y0 - self.shadow[1]))
        roi = frame[y0:y1, x0:x1]
        np.copyto(roi, (roi * 0.72).astype(np.uint8), where=mask[:, :, None] > 0)


class Camera:
    """What the sensor adds: two slow swings of brightness, one of colour temperature, and noise
    from a bank of pre-drawn frames (drawing fresh noise would cost more than the rest of a frame)."""

    def __init__(self, size: tuple[int, int], fps: float, rng: np.random.Generator):
        width, height = size
        self.fps = fps
        self.noise = np.empty((NOISE_BANK, height, width, 3), np.uint8)
        for frame in self.noise:
            noise = np.rint(rng.normal(NOISE_OFFSET, NOISE_SIGMA, frame.shape))
            np.clip(noise, 0, 2 * NOISE_OFFSET, out=frame, casting="unsafe")
        self.rng = rng
        # (amplitude, period in seconds, phase) of each swing
        self.brightness = [
            (rng.uniform(0.05, 0.08), rng.uniform(120, 240), rng.uniform(0, 2 * np.pi)),
            (rng.uniform(0.02, 0.03), rng.uniform(25, 60), rng.uniform(0, 2 * np.pi)),
        ]
        self.warmth = (rng.uniform(0.015, 0.03), rng.uniform(90, 200), rng.uniform(0, 2 * np.pi))

    def expose(self, frame: np.ndarray, f: int) -> np.ndarray:
        t = f / self.fps
        gain = 1 + sum(a * np.sin(2 * np.pi * t / period + phase) for a, period, phase in self.brightness)
        a, period, phase = self.warmth
        warm = a * np.sin(2 * np.pi * t / period + phase)
        matrix = np.zeros((3, 4), np.float32)
        matrix[[0, 1, 2], [0, 1, 2]] = gain * (1 - warm), gain, gain * (1 + warm)  # B, G, R
        matrix[:, 3] = -NOISE_OFFSET
        # One pass for light, one for noise; the offset taken here is given back by the noise bank.
        lit = cv2.transform(frame, matrix)
        return cv2.add(lit, self.noise[self.rng.integers(NOISE_BANK)])


def _hand_position(reach: Reach, f: int) -> np.ndarray:
    """Eased in towards the opening, a small tremor while releasing, eased back out."""
    if f <= reach.arrive:
        k = _ease((f - reach.start) / max(1, reach.arrive - reach.start))
        start, end = np.array(reach.entry), np.array(reach.target)
    elif f <= reach.release:
        wobble = np.sin((f - reach.arrive) * 1.3) * 0.6
        return np.array(reach.target) + wobble
    else:
        k = _ease((f - reach.release) / max(1, reach.end - reach.release))
        start, end = np.array(reach.target), np.array(reach.exit)
    bow = np.sin(np.pi * k) * 0.04 * (end[1] - start[1])  # a slight arc, not a ruler line
    return start + k * (end - start) + np.array([bow, 0.0])


def _darker(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    b, g, r = colour
    return int(b * 0.7), int(g * 0.7), int(r * 0.7)


def _ease(k: float) -> float:
    k = min(1.0, max(0.0, k))
    return k * k * (3 - 2 * k)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / max(1e-9, float(np.hypot(*v)))


def _background(bins: list[Bin], size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Concrete floor tiles, the bins with their GB/T 19095 colours and open lids, a vignette."""
    width, height = size
    blotches = _smooth_noise(rng, size, (16, 9))
    grain = cv2.GaussianBlur(rng.normal(0, 4, (height, width)).astype(np.float32), (0, 0), 1.2)
    floor: np.ndarray = 150 + 9 * blotches + grain  # float32; OpenCV's stubs leave the dtype open
    tile = max(8, round(0.11 * width))
    grout = np.zeros((height, width), np.float32)
    grout[:, ::tile], grout[::tile, :] = 1, 1
    floor -= 22 * cv2.GaussianBlur(grout, (3, 3), 0)
    image = np.repeat(floor[:, :, None], 3, axis=2) * np.array([0.97, 1.0, 1.03], np.float32)
    for b in bins:
        colour = np.array(taxonomy.category(b.category).rgb[::-1], np.float32)
        x0, y0, x1, y1 = b.body
        lx0, ly0, lx1, ly1 = b.lid
        drop = max(2, round(0.05 * (x1 - x0)))
        image[y0 + drop : y1 + drop, x0 + drop : x1 + drop] *= 0.65  # the bin's shadow on the floor
        image[ly0:ly1, lx0:lx1] = colour * 0.8
        image[y0:y1, x0:x1] = colour
        image[y0 : y0 + max(1, drop // 2), x0:x1] = np.minimum(colour * 1.25 + 20, 255)  # the rim catches light
        liner = np.array(BAG, np.float32) + 10 * _smooth_noise(rng, (x1 - x0, y1 - y0), (6, 6))[:, :, None]
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [b.opening - [x0, y0]], 1)
        body = image[y0:y1, x0:x1]
        body[inside > 0] = liner[inside > 0]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
    image *= (1 - 0.12 * r2)[:, :, None]
    image = np.clip(image, 0, 255).astype(np.uint8)
    for b in bins:
        lx0, ly0, lx1, ly1 = b.lid
        label = taxonomy.category(b.category).en.upper().replace(" WASTE", "")
        scale = (lx1 - lx0) / 330
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, 1)
        at = ((lx0 + lx1 - tw) // 2, (ly0 + ly1 + th) // 2)
        cv2.putText(
            image, label, at, cv2.FONT_HERSHEY_DUPLEX, scale, (235, 235, 235), max(1, round(scale * 1.5)), cv2.LINE_AA
        )
    return image


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Unit noise that varies over ``cells`` (columns, rows) across an image of ``size``: stains, folds."""
    return cv2.resize(rng.normal(0, 1, cells[::-1]).astype(np.float32), size, interpolation=cv2.INTER_CUBIC)


def open_writer(path: Path, fps: float, size: tuple[int, int]) -> tuple[cv2.VideoWriter, str]:
    """A video writer with the first codec this OpenCV build can encode."""
    for codec in CODECS:
        with stderr_silenced():
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), fps, size)
        if writer.isOpened():
            return writer, codec
        writer.release()
    raise OSError(f"{path}: this OpenCV can write none of the codecs {', '.join(CODECS)}")
