"""What the camera adds to the drawn scene: light that drifts, auto-exposure that jumps, a
lamp at night, a colour cast, and sensor noise.

Each frame gets one pass of light (a 3×4 colour transform: gain per channel) and one of noise,
drawn from a bank of pre-drawn noise frames (drawing fresh noise would cost more than the rest
of a frame). The uneven light of a lamp is a fixed map, applied to the static layer once and to
people at their position (``lit_at``), never per pixel per frame.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from binwatch.edge.simulator.conditions import Conditions
from binwatch.edge.simulator.timeline import ExposureJump

Light = Callable[[float, float], float]  # the light at a pixel, for colours drawn over the static layer
NOISE_BANK = 16
NOISE_OFFSET = 12  # noise is stored as uint8 around this value and subtracted again


class Sensor:
    def __init__(
        self,
        size: tuple[int, int],
        fps: float,
        conditions: Conditions,
        exposure: list[ExposureJump],
        rng: np.random.Generator,
    ):
        width, height = size
        self.fps, self.conditions = fps, conditions
        sigma = conditions.noise
        self.noise = np.empty((NOISE_BANK, height, width, 3), np.uint8)
        for frame in self.noise:
            noise = np.rint(rng.normal(NOISE_OFFSET, sigma, frame.shape))
            np.clip(noise, 0, 2 * NOISE_OFFSET, out=frame, casting="unsafe")
        self.rng = rng
        drift = conditions.drift
        # (amplitude, period in seconds, phase) of the slow swings of daylight
        self.brightness = [
            (drift * rng.uniform(0.6, 1.0), rng.uniform(120, 240), rng.uniform(0, 2 * np.pi)),
            (drift * rng.uniform(0.25, 0.4), rng.uniform(25, 60), rng.uniform(0, 2 * np.pi)),
        ]
        self.warmth = (drift * rng.uniform(0.2, 0.4), rng.uniform(90, 200), rng.uniform(0, 2 * np.pi))
        self.exposure = exposure
        self.map = _lamp(size, rng) if conditions.lamp else None

    def light_static(self, image: np.ndarray) -> np.ndarray:
        """The static layer under the scene's uneven light (a lamp), if it has one."""
        if self.map is None:
            return image
        return np.clip(image.astype(np.float32) * self.map[:, :, None], 0, 255).astype(np.uint8)

    def lit_at(self, x: float, y: float) -> float:
        """How much light falls at pixel (x, y), for colours drawn over the static layer."""
        if self.map is None:
            return 1.0
        h, w = self.map.shape
        return float(self.map[min(h - 1, max(0, round(y))), min(w - 1, max(0, round(x)))])

    def gain(self, f: int) -> float:
        """The exposure's gain at frame ``f``: the auto-exposure level times the daylight swing."""
        t = f / self.fps
        level = 1.0
        for jump in self.exposure:
            if f < jump.frame:
                break
            k = min(1.0, (f - jump.frame + 1) / jump.frames)
            level = level + k * (jump.gain - level)
        swing = sum(a * np.sin(2 * np.pi * t / period + phase) for a, period, phase in self.brightness)
        return self.conditions.light * level * (1 + swing)

    def expose(self, frame: np.ndarray, f: int) -> np.ndarray:
        gain = self.gain(f)
        a, period, phase = self.warmth
        warm = self.conditions.warmth + a * np.sin(2 * np.pi * f / self.fps / period + phase)
        matrix = np.zeros((3, 4), np.float32)
        matrix[[0, 1, 2], [0, 1, 2]] = gain * (1 - warm), gain, gain * (1 + warm)  # B, G, R
        matrix[:, 3] = -NOISE_OFFSET
        # One pass for light, one for noise; the offset taken here is given back by the noise bank.
        lit = cv2.transform(frame, matrix)
        return cv2.add(lit, self.noise[self.rng.integers(NOISE_BANK)])


def _lamp(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A street lamp above one side of the scene: bright under it, falling off with distance."""
    width, height = size
    lamp_x = width * (rng.uniform(0.05, 0.3) if rng.random() < 0.5 else rng.uniform(0.7, 0.95))
    lamp_y = height * rng.uniform(-0.3, 0.1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - lamp_x) ** 2 + (yy - lamp_y) ** 2) / float(width * width)
    light = 1.0 / (1.0 + 6.0 * r2)
    return (light / light.mean()).astype(np.float32)
