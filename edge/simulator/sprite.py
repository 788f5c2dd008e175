"""Items as sprites: a data-set photo cut out so that it lies in a bin as a thing, not a card.

Many product photos are shot on white; there the white background that touches the border
is cut away. Other photos keep their content inside a rounded, feathered outline, which
keeps what a classifier needs to see while still reading as an object on the bin's bag.
Sprites are BGR, the order OpenCV writes video in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WHITE_LEVEL = 205  # every channel at least this bright …
WHITE_SPREAD = 35  # … and nearly grey: a studio background
MIN_FOREGROUND = 0.08  # a cut-out smaller than this fraction of the photo ate the object

Point = tuple[float, float] | np.ndarray  # x, y in frame pixels; computed positions are arrays of two


@dataclass(frozen=True)
class Sprite:
    bgr: np.ndarray  # h×w×3 uint8
    alpha: np.ndarray  # h×w float32 in [0, 1]

    @property
    def size(self) -> tuple[int, int]:
        return self.bgr.shape[1], self.bgr.shape[0]


def cut_out(rgb: np.ndarray, long_side: int) -> Sprite:
    """The photo's object, scaled so that its long side is ``long_side`` pixels."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    mask = _white_background_cut(bgr)
    if mask is None:
        mask = _rounded_rect(bgr.shape[:2])
    ys, xs = np.nonzero(mask)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    bgr, mask = bgr[box], mask[box]
    scale = long_side / max(bgr.shape[:2])
    size = (max(2, round(bgr.shape[1] * scale)), max(2, round(bgr.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    bgr = cv2.resize(bgr, size, interpolation=interpolation)
    alpha = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    feather = max(3, (long_side // 40) | 1)
    alpha = cv2.GaussianBlur(alpha, (feather, feather), 0, borderType=cv2.BORDER_CONSTANT)
    return Sprite(bgr, np.clip(alpha, 0.0, 1.0))


def _white_background_cut(bgr: np.ndarray) -> np.ndarray | None:
    """Foreground mask when the photo stands on a white background touching its border."""
    white = (bgr.min(axis=2) >= WHITE_LEVEL) & (bgr.max(axis=2).astype(np.int16) - bgr.min(axis=2) <= WHITE_SPREAD)
    border = np.concatenate([white[0], white[-1], white[:, 0], white[:, -1]])
    if border.mean() < 0.6:
        return None
    count, labels = cv2.connectedComponents(white.astype(np.uint8), connectivity=4)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge_labels[edge_labels > 0])
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    foreground = cv2.morphologyEx((~background).astype(np.uint8), cv2.MORPH_OPEN, kernel)
    foreground = cv2.morphologyEx(foreground, cv2.MORPH_CLOSE, kernel)
    if foreground.mean() < MIN_FOREGROUND:
        return None
    return foreground.astype(bool)


def _rounded_rect(shape: tuple[int, int], radius_fraction: float = 0.18) -> np.ndarray:
    h, w = shape
    r = max(1, round(radius_fraction * min(h, w)))
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 1, -1)
    cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 1, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 1, -1, cv2.LINE_AA)
    return mask.astype(np.float32)


def transformed(sprite: Sprite, angle: float, scale: float = 1.0) -> Sprite:
    """Rotated by ``angle`` degrees and scaled, on a canvas that holds all of it."""
    w, h = sprite.size
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    out_w, out_h = int(np.ceil(h * sin + w * cos)) + 2, int(np.ceil(h * cos + w * sin)) + 2
    m[0, 2] += out_w / 2 - w / 2
    m[1, 2] += out_h / 2 - h / 2
    bgr = cv2.warpAffine(sprite.bgr, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(sprite.alpha, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return Sprite(bgr, alpha)


def paste(frame: np.ndarray, sprite: Sprite, centre: Point, clip: np.ndarray | None = None, shade: float = 1.0) -> None:
    """Alpha-blend ``sprite`` centred at ``centre`` into ``frame`` in place; ``clip`` (a
    frame-sized float mask) hides the parts that fall outside it, e.g. outside a bin opening."""
    w, h = sprite.size
    x0, y0 = round(centre[0] - w / 2), round(centre[1] - h / 2)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, frame.shape[1]), min(y0 + h, frame.shape[0])
    if fx1 <= fx0 or fy1 <= fy0:
        return
    sx, sy = fx0 - x0, fy0 - y0
    alpha = sprite.alpha[sy : sy + fy1 - fy0, sx : sx + fx1 - fx0]
    if clip is not None:
        alpha = alpha * clip[fy0:fy1, fx0:fx1]
    a = alpha[:, :, None]
    src = sprite.bgr[sy : sy + fy1 - fy0, sx : sx + fx1 - fx0].astype(np.float32) * shade
    roi = frame[fy0:fy1, fx0:fx1]
    roi[:] = (roi * (1.0 - a) + src * a + 0.5).astype(np.uint8)


BAG_TINTS = ((235, 235, 235), (240, 225, 210), (215, 235, 240), (225, 215, 240))  # BGR: clear, bluish, yellowish, pink


def bagged(item: Sprite, rng: np.random.Generator) -> Sprite:
    """``item`` inside a see-through plastic bag: a larger, wrinkled outline with a knot, a milky
    tint over the item, and streaks of reflected light. The bag alone lets what lies under it
    show through (its alpha is low); over the item it veils it."""
    w, h = item.size
    pad = max(4, round(0.18 * max(w, h)))
    canvas = (h + 2 * pad + pad, w + 2 * pad)  # room for the knot at the top
    top = pad * 2
    alpha = np.zeros(canvas, np.float32)
    alpha[top : top + h, pad : pad + w] = item.alpha
    body = cv2.dilate((alpha > 0.3).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (pad, pad)))
    hull = cv2.convexHull(cv2.findNonZero(body))
    outline = np.zeros(canvas, np.uint8)
    cv2.fillPoly(outline, [hull], 1)
    knot = (round(canvas[1] / 2 + rng.uniform(-0.2, 0.2) * w), top)
    cv2.ellipse(outline, knot, (max(2, pad // 2), pad), 0, 0, 360, 1, -1)
    bag = cv2.GaussianBlur(outline.astype(np.float32), (0, 0), max(1.0, pad / 5))
    tint = np.array(BAG_TINTS[rng.integers(len(BAG_TINTS))], np.float32)
    veil = rng.uniform(0.25, 0.45)
    bgr = np.zeros((*canvas, 3), np.float32)
    bgr[top : top + h, pad : pad + w] = item.bgr
    colour = bgr * (1 - veil) + tint * veil
    colour[alpha < 0.05] = tint * 0.8  # where only the bag is, its own milky colour
    # Wrinkles and reflected light: a few streaks across the bag.
    streaks = np.zeros(canvas, np.float32)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = rng.uniform(0, canvas[1]), rng.uniform(0, canvas[0])
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(0.3, 0.8) * max(canvas)
        x1, y1 = x0 + length * np.cos(angle), y0 + length * np.sin(angle)
        cv2.line(streaks, (round(x0), round(y0)), (round(x1), round(y1)), float(rng.uniform(-0.5, 1.0)), 1, cv2.LINE_AA)
    streaks = cv2.GaussianBlur(streaks, (0, 0), 0.8) * bag
    colour = colour + 90 * streaks[:, :, None]
    bag_alpha = np.maximum(alpha * (1 - 0.15 * veil), bag * rng.uniform(0.35, 0.55))
    return Sprite(np.clip(colour, 0, 255).astype(np.uint8), np.clip(bag_alpha, 0.0, 1.0))
