"""Bin-top scenes drawn procedurally: what lies around and under an item a camera sees in a bin.

A liner (black, grey, green, blue or milky plastic with folds and glints), the bin's plastic wall
in a category colour, the rim of the opening and the shadow of its lid, and earlier waste: other
items cut out of their photos, lying below. Backgrounds of other photos (tables, grass, blankets)
appear too, on purpose at random, so that no background goes with one label. Everything is RGB
uint8 and drawn at the size the camera sees, so that a later blur or compression acts at that scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from binwatch.datasets import taxonomy

LINERS = ((28, 28, 30), (52, 54, 58), (40, 78, 52), (38, 58, 100), (200, 202, 196), (150, 120, 90))


@dataclass(frozen=True)
class Cutout:
    """An item as it can be pasted: its pixels and a 0–1 alpha of its outline, cropped to it."""

    rgb: np.ndarray
    alpha: np.ndarray

    @classmethod
    def from_mask(cls, rgb: np.ndarray, mask: np.ndarray) -> Cutout:
        """The item inside ``mask``; a photo the item fills (mask all set, or empty) keeps all of
        it inside a rounded outline, so that it lies in the bin as a thing rather than a card."""
        ys, xs = np.nonzero(mask > 127)
        if len(ys) == 0 or len(ys) == mask.size:
            return cls(rgb, rounded_outline(rgb.shape[:2]))
        box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        return cls(rgb[box], (mask[box] > 127).astype(np.float32))

    def transformed(self, long_side: float, angle: float, flip: bool) -> Cutout:
        """Scaled to ``long_side`` pixels, flipped, rotated by ``angle`` degrees on a canvas that holds it."""
        rgb, alpha = (self.rgb[:, ::-1], self.alpha[:, ::-1]) if flip else (self.rgb, self.alpha)
        h, w = rgb.shape[:2]
        scale = long_side / max(h, w)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        out_w, out_h = int(np.ceil(h * sin + w * cos)) + 2, int(np.ceil(h * cos + w * sin)) + 2
        m[0, 2] += out_w / 2 - w / 2
        m[1, 2] += out_h / 2 - h / 2
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        rgb = cv2.warpAffine(
            np.ascontiguousarray(rgb), m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE
        )
        alpha = cv2.warpAffine(np.ascontiguousarray(alpha), m, (out_w, out_h), flags=cv2.INTER_LINEAR)
        return Cutout(rgb, alpha)


def rounded_outline(shape: tuple[int, int], power: float = 4.0) -> np.ndarray:
    """A 0–1 superellipse (|x|^p + |y|^p ≤ 1) filling ``shape``: a box with rounded corners."""
    h, w = shape
    y = np.abs(np.linspace(-1.0, 1.0, h, dtype=np.float32))[:, None]
    x = np.abs(np.linspace(-1.0, 1.0, w, dtype=np.float32))[None, :]
    return (x**power + y**power <= 1.0).astype(np.float32)


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:
    """Values in [0, 1] varying over ``cells`` (rows, columns) across the picture."""
    coarse = rng.random((max(2, cells[0]), max(2, cells[1]))).astype(np.float32)
    field = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def liner(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A bin bag: one plastic colour, shaded by broad folds, with creases that catch the light."""
    h, w = shape
    colour = np.array(LINERS[int(rng.integers(len(LINERS)))], np.float32) * rng.uniform(0.8, 1.2)
    folds = smooth_noise(shape, rng, (int(rng.integers(2, 6)), int(rng.integers(2, 6))))
    creases = smooth_noise(shape, rng, (int(rng.integers(3, 9)), int(rng.integers(3, 9))))
    glint = np.exp(-(((creases - rng.uniform(0.3, 0.7)) / 0.04) ** 2)) * rng.uniform(0.1, 0.5)
    light = 0.6 + 0.6 * folds
    out = colour * light[:, :, None] + 255.0 * glint[:, :, None] * (0.3 + 0.7 * folds[:, :, None])
    return np.clip(out, 0, 255).astype(np.uint8)


def bin_wall(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The inside of a bin's plastic body in a category colour, lit from one side."""
    h, w = shape
    category = taxonomy.CATEGORIES[int(rng.integers(len(taxonomy.CATEGORIES)))]
    colour = np.array(category.rgb, np.float32) * rng.uniform(0.5, 1.0)
    along = np.linspace(rng.uniform(0.4, 0.8), rng.uniform(0.9, 1.2), w, dtype=np.float32)[None, :]
    angle = rng.uniform(0, 360)
    ramp = cv2.warpAffine(
        np.repeat(along, h, axis=0),
        cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.5),
        (w, h),
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.clip(colour * ramp[:, :, None], 0, 255).astype(np.uint8)


def rim_and_lid(scene: np.ndarray, rng: np.random.Generator) -> None:
    """A band of the bin's rim along one edge, and the lid's soft shadow falling over the opening."""
    h, w = scene.shape[:2]
    category = taxonomy.CATEGORIES[int(rng.integers(len(taxonomy.CATEGORIES)))]
    side = int(rng.integers(4))
    band = max(2, int(rng.uniform(0.05, 0.15) * min(h, w)))
    region = (np.s_[:band, :], np.s_[-band:, :], np.s_[:, :band], np.s_[:, -band:])[side]
    scene[region] = np.clip(np.array(category.rgb, np.float32) * rng.uniform(0.7, 1.2), 0, 255).astype(np.uint8)
    ramp = np.linspace(rng.uniform(0.45, 0.8), 1.0, h if side < 2 else w, dtype=np.float32)
    ramp = ramp if side in (0, 2) else ramp[::-1]
    shade = ramp[:, None] if side < 2 else ramp[None, :]
    scene[:] = np.clip(scene * np.broadcast_to(shade, (h, w))[:, :, None], 0, 255).astype(np.uint8)


def _overlap(shape: tuple[int, ...], cut: Cutout, centre: tuple[float, float]):
    """The slices of the scene and of ``cut`` where ``cut`` centred at ``centre`` lands, or ``None``."""
    h, w = cut.alpha.shape
    x0, y0 = round(centre[0] - w / 2), round(centre[1] - h / 2)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, shape[1]), min(y0 + h, shape[0])
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    return np.s_[fy0:fy1, fx0:fx1], np.s_[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]


def placement(shape: tuple[int, ...], cut: Cutout, centre: tuple[float, float]) -> np.ndarray:
    """The alpha ``cut`` would have in a scene of ``shape`` when pasted at ``centre``."""
    alpha = np.zeros(shape[:2], np.float32)
    where = _overlap(shape, cut, centre)
    if where is not None:
        alpha[where[0]] = cut.alpha[where[1]]
    return alpha


def paste(scene: np.ndarray, cut: Cutout, centre: tuple[float, float], shade: float = 1.0) -> None:
    """Alpha-blend ``cut`` centred at ``centre`` into ``scene`` in place."""
    where = _overlap(scene.shape, cut, centre)
    if where is None:
        return
    dst, src = where
    a = cut.alpha[src][:, :, None]
    roi = scene[dst].astype(np.float32)
    scene[dst] = np.clip(roi * (1 - a) + cut.rgb[src].astype(np.float32) * shade * a, 0, 255)


def drop_shadow(scene: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    """The shadow an item casts on what it lies on, offset towards one side and softened."""
    size = max(1.0, float(np.sqrt(alpha.sum())))
    dx, dy = rng.normal(0, 0.08 * size, 2)
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    shadow = cv2.warpAffine(alpha, shift, (alpha.shape[1], alpha.shape[0]))
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.8, 0.06 * size)) * rng.uniform(0.25, 0.55)
    scene[:] = np.clip(scene * (1.0 - shadow[:, :, None]), 0, 255).astype(np.uint8)


def background(
    shape: tuple[int, int], rng: np.random.Generator, earlier: list[Cutout], photos: list[np.ndarray]
) -> np.ndarray:
    """The scene an item lands in. ``earlier``: cut-outs of other items to lie beneath it;
    ``photos``: other training photos whose backgrounds may stand in for a bin's contents."""
    h, w = shape
    pick = rng.random()
    if pick < 0.15 and photos:
        photo = photos[int(rng.integers(len(photos)))]
        scene = cv2.resize(photo, (w, h), interpolation=cv2.INTER_LINEAR)
        scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.5, 2.0))
    elif pick < 0.3:
        scene = bin_wall(shape, rng)
    else:
        scene = liner(shape, rng)
    if earlier:
        for _ in range(int(rng.integers(0, 5))):
            cut = earlier[int(rng.integers(len(earlier)))]
            lying = cut.transformed(rng.uniform(0.3, 0.9) * max(h, w), rng.uniform(0, 360), bool(rng.integers(2)))
            paste(scene, lying, (rng.uniform(0, w), rng.uniform(0, h)), shade=rng.uniform(0.45, 0.85))
    if rng.random() < 0.3:
        rim_and_lid(scene, rng)
    return scene
