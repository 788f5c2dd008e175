"""What a bin camera does to a picture of an item, in numpy and OpenCV.

The edge classifies crops cut from 1280×720 video: 30–160 px on their long side, often blurred,
dim and noisy, re-compressed, partly hidden by a hand or seen through a bag. Training composes
these into its camera views (``training/camera_views.py``); ``binwatch eval`` applies them to
its evaluation images (``CONDITIONS``), each image degraded the same way for the same seed, so
that a model that loses small or dim crops shows it. Images are RGB uint8 throughout.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from binwatch.datasets.images import decode_image, encode_jpeg

SIZE_BUCKETS: tuple[tuple[str, int, int], ...] = (  # (name, smallest, largest + 1) long side in pixels
    ("<40", 24, 40),
    ("40-60", 40, 60),
    ("60-80", 60, 80),
    ("80-120", 80, 120),
    (">=120", 120, 161),
)
EDGE_MEDIAN_SIDE = 64  # the median long side of the edge's crops in scenes with realistic item sizes
SKIN_TONES = ((224, 172, 140), (198, 134, 98), (160, 104, 72), (112, 72, 50), (236, 196, 170))


def bucket_of(long_side: int) -> str:
    for name, low, high in SIZE_BUCKETS:
        if low <= long_side < high:
            return name
    return SIZE_BUCKETS[0][0] if long_side < SIZE_BUCKETS[0][1] else SIZE_BUCKETS[-1][0]


def resize_long_side(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Scaled so its long side is ``long_side`` (area-averaged when shrinking, as a camera's optics)."""
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def motion_blur(rgb: np.ndarray, length: float, angle: float) -> np.ndarray:
    """A straight smear of ``length`` pixels at ``angle`` degrees: an item still moving, a shaky mount."""
    k = max(3, int(np.ceil(length)) | 1)
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), angle, 1.0)
    smear = np.asarray(cv2.warpAffine(kernel, rot, (k, k)), np.float32)
    smear /= max(float(smear.sum()), 1e-6)
    return cv2.filter2D(rgb, -1, smear, borderType=cv2.BORDER_REFLECT)


def defocus(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=max(sigma, 0.1))


def low_light(
    rgb: np.ndarray, gain: float, noise: float, rng: np.random.Generator, recovered: float = 0.7, colour: float = 0.7
) -> np.ndarray:
    """Under-exposed by ``gain`` (0.15–0.6) and amplified back by the sensor, as a camera at dusk
    does: the picture gains shot and read noise, keeps ``recovered`` of its brightness (auto-exposure
    rarely gets all of it back) and ``colour`` of its saturation. Only the noise is random."""
    x = rgb.astype(np.float32) * gain
    shot = rng.standard_normal(x.shape, dtype=np.float32) * np.sqrt(np.maximum(x, 0.0)) * 0.6
    read = rng.standard_normal(x.shape[:2] + (1,), dtype=np.float32) * (noise * gain)
    x = (x + shot + read) / gain * recovered
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * colour
    return np.clip(x, 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    return decode_image(encode_jpeg(rgb, int(quality)), "<jpeg round trip>")


def hand_occlusion(rgb: np.ndarray, cover: float, rng: np.random.Generator) -> np.ndarray:
    """Fingers and a palm over ``cover`` (0–0.5) of the picture from one side, with a soft shadow."""
    h, w = rgb.shape[:2]
    out = rgb.astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    side = int(rng.integers(4))
    depth = cover * (w if side in (0, 1) else h)
    tone = np.array(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], np.float32) * rng.uniform(0.8, 1.1)
    fingers = int(rng.integers(2, 5))
    span = (h if side in (0, 1) else w) * rng.uniform(0.35, 0.7)
    start = rng.uniform(0, (h if side in (0, 1) else w) - span)
    width = span / fingers
    base = depth * 0.35  # the palm, along the side the hand comes from, joining the fingers
    if side in (0, 1):
        x = 0 if side == 0 else w
        cv2.ellipse(mask, ((x, start + span / 2), (base * 2, span * 1.1), 0.0), 1.0, -1, cv2.LINE_AA)
    else:
        y = 0 if side == 2 else h
        cv2.ellipse(mask, ((start + span / 2, y), (span * 1.1, base * 2), 0.0), 1.0, -1, cv2.LINE_AA)
    for f in range(fingers):
        centre = start + (f + 0.5) * width
        reach = depth * rng.uniform(0.75, 1.15)
        if side == 0:  # from the left
            box = ((reach / 2, centre), (reach * 2, width * 0.85), 0.0)
        elif side == 1:  # from the right
            box = ((w - reach / 2, centre), (reach * 2, width * 0.85), 0.0)
        elif side == 2:  # from the top
            box = ((centre, reach / 2), (width * 0.85, reach * 2), 0.0)
        else:
            box = ((centre, h - reach / 2), (width * 0.85, reach * 2), 0.0)
        cv2.ellipse(mask, box, 1.0, -1, cv2.LINE_AA)
    shadow = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.04 * max(h, w)))
    shadow = np.roll(shadow, (int(0.03 * h) + 1, int(0.03 * w) + 1), axis=(0, 1))
    out *= 1.0 - 0.35 * shadow[:, :, None]
    shade = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.02 * max(h, w)))[:, :, None]
    skin = tone * (0.85 + 0.15 * shade)
    out = out * (1.0 - mask[:, :, None]) + skin * mask[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def plastic_bag(rgb: np.ndarray, opacity: float, rng: np.random.Generator) -> np.ndarray:
    """The item seen through a thin bag: a milky, tinted film with creases and bright glints."""
    h, w = rgb.shape[:2]
    tint = np.array(rng.choice([(235, 235, 235), (220, 230, 240), (200, 225, 205), (240, 230, 200)]), np.float32)
    folds = _smooth_noise((h, w), rng, scale=0.15) * 0.6 + _smooth_noise((h, w), rng, scale=0.05) * 0.4
    film = opacity * (0.75 + 0.5 * folds)
    crease = _smooth_noise((h, w), rng, scale=0.2)
    glint = np.exp(-(((crease - rng.uniform(0.3, 0.7)) / 0.045) ** 2))  # thin bright lines along the creases
    out = rgb.astype(np.float32) * (1.0 - film[:, :, None]) + tint * film[:, :, None]
    out = out + 255.0 * glint[:, :, None] * rng.uniform(0.2, 0.45)
    return np.clip(out, 0, 255).astype(np.uint8)


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Values in [0, 1] that vary over about ``scale`` of the picture's size."""
    h, w = shape
    cells = max(2, round(1.0 / max(scale, 1e-3)))
    coarse = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


Condition = Callable[[np.ndarray, np.random.Generator], np.ndarray]

CONDITIONS: dict[str, Condition] = {
    "clean": lambda rgb, rng: rgb,
    "motion blur": lambda rgb, rng: motion_blur(rgb, rng.uniform(0.06, 0.12) * max(rgb.shape[:2]), rng.uniform(0, 180)),
    "defocus": lambda rgb, rng: defocus(rgb, rng.uniform(0.02, 0.035) * max(rgb.shape[:2])),
    "low light": lambda rgb, rng: low_light(
        rgb, rng.uniform(0.15, 0.35), rng.uniform(4, 10), rng, rng.uniform(0.55, 0.85), rng.uniform(0.5, 0.9)
    ),
    "JPEG q20": lambda rgb, rng: jpeg(rgb, 20),
    "hand": lambda rgb, rng: hand_occlusion(rgb, rng.uniform(0.2, 0.35), rng),
    "bag": lambda rgb, rng: plastic_bag(rgb, rng.uniform(0.3, 0.5), rng),
}
"""Each condition as ``binwatch eval`` applies it to an image already at the edge's crop size."""
