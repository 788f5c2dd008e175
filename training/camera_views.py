"""Training views that look like what the edge classifies, made from product and web photos.

The item is cut out of its photo (``cutout``), so that its background (a hand, a table, grass)
cannot stand in for its label, and laid into a bin-top scene (``binscene``) at the size the edge
crops it (30–160 px on its long side) among earlier waste, with its shadow. The camera then sees
the scene twice, before and after the item landed, each time with its own noise: dim light,
motion or focus blur, a hand, a see-through bag, H.264 or JPEG compression. The crop is what the
agent's own isolation cuts from those two pictures (``agent_crops``): the region that changed,
grey outside its outline, so errors of that isolation (a shadow taken along, a faint part left
out) are in the training data too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from binwatch.datasets import conditions
from binwatch.datasets.images import ImageDecodeError, fit_within
from binwatch.datasets.manifest import SampleSet
from binwatch.training import binscene
from binwatch.training.agent_crops import agent_crops
from binwatch.training.cutout import MaskCache

FURNITURE = 96  # other photos per worker that furnish the bins: two thirds cut out as earlier waste
FURNITURE_SIDE = 128


@dataclass(frozen=True)
class CameraRecipe:
    """Probabilities and ranges of what happens to a camera view."""

    min_side: int = 30
    max_side: int = 160
    blur: float = 0.3
    low_light: float = 0.25
    hand: float = 0.12
    bag: float = 0.12
    h264: float = 0.15
    jpeg: float = 0.5
    context: float = 0.25  # the box around the item with its surroundings, instead of the agent's grey


def h264_round_trip(rgb: np.ndarray, crf: int) -> np.ndarray:
    """One frame through libx264 and back: its blocking, ringing and 4:2:0 colour, as a camera stream has."""
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    buf = io.BytesIO()
    with av.open(buf, "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast", "tune": "zerolatency"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        for packet in (*stream.encode(frame), *stream.encode()):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r", format="h264") as source:
        decoded = next(source.decode(video=0)).to_ndarray(format="rgb24")
    out_rgb = rgb.copy()
    out_rgb[:h, :w] = decoded
    return out_rgb


class CameraViews:
    """``view(rgb, mask, rng)`` → an RGB crop as the edge would classify it.

    ``earlier`` and ``photos`` are other training images (cut-outs, and whole photos) that
    furnish the bins; they are drawn independently of the item, so they carry no label."""

    def __init__(
        self,
        fill: int,
        earlier: list[binscene.Cutout],
        photos: list[np.ndarray],
        recipe: CameraRecipe | None = None,
    ):
        self.fill, self.earlier, self.photos = fill, earlier, photos
        self.recipe = recipe or CameraRecipe()

    def view(self, rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        r = self.recipe
        long_side = float(np.exp(rng.uniform(np.log(r.min_side), np.log(r.max_side))))
        item = binscene.Cutout.from_mask(rgb, mask).transformed(long_side, rng.uniform(0, 360), bool(rng.integers(2)))
        ih, iw = item.alpha.shape
        side = int(max(ih, iw) * rng.uniform(1.5, 2.4)) + 8
        scene = binscene.background((side, side), rng, self.earlier, self.photos)
        centre = (side / 2 + rng.normal(0, side * 0.06), side / 2 + rng.normal(0, side * 0.06))
        before = scene.copy()
        placed_at = binscene.placement(scene.shape, item, centre)
        binscene.drop_shadow(scene, placed_at, rng)
        binscene.paste(scene, item, centre, shade=rng.uniform(0.75, 1.1))
        if rng.random() < r.bag:
            scene = _over(scene, placed_at, lambda x: conditions.plastic_bag(x, rng.uniform(0.25, 0.55), rng))
        if rng.random() < r.hand:
            scene = _over(scene, placed_at, lambda x: conditions.hand_occlusion(x, rng.uniform(0.15, 0.35), rng))
        look = int(rng.integers(2**31))  # light and blur belong to the scene, noise to each exposure
        before, after = self._camera(before, look, rng), self._camera(scene, look, rng)
        if rng.random() >= r.context:
            polygon = [(0, 0), (side - 1, 0), (side - 1, side - 1), (0, side - 1)]
            crops = agent_crops(before, [after], polygon, 1, self.fill)
            if crops:
                return crops[0]
        return _box_with_margin(after, placed_at, rng)

    def _camera(self, scene: np.ndarray, look: int, rng: np.random.Generator) -> np.ndarray:
        """One exposure of ``scene``: the light and blur drawn from ``look`` (the same for every
        exposure of one scene, as in two frames of a video), sensor noise and compression from ``rng``."""
        r = self.recipe
        light = np.random.default_rng(look)
        x = scene
        if light.random() < r.low_light:
            gain, noise, recovered, colour = (
                light.uniform(*span) for span in ((0.15, 0.5), (3, 10), (0.55, 0.9), (0.5, 0.9))
            )
            x = conditions.low_light(x, gain, noise, rng, recovered, colour)
        else:
            gain = light.uniform(0.7, 1.25)
            sensor = rng.standard_normal(x.shape, dtype=np.float32) * 2.0
            x = np.clip(x.astype(np.float32) * gain + sensor, 0, 255).astype(np.uint8)
        pick = light.random()
        if pick < r.blur / 2:
            x = conditions.motion_blur(x, light.uniform(2, 8), light.uniform(0, 180))
        elif pick < r.blur:
            x = conditions.defocus(x, light.uniform(0.5, 1.8))
        pick = light.random()
        if pick < r.h264:
            x = h264_round_trip(x, int(light.integers(26, 42)))
        elif pick < r.h264 + r.jpeg:
            x = conditions.jpeg(x, int(light.integers(20, 75)))
        return x


def _over(scene: np.ndarray, placed: np.ndarray, effect) -> np.ndarray:
    """``effect`` applied to the item's bounding box only."""
    ys, xs = np.nonzero(placed > 0.5)
    if len(ys) == 0:
        return scene
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out = scene.copy()
    out[box] = effect(scene[box])
    return out


def _box_with_margin(scene: np.ndarray, placed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The item's box with some of its surroundings, as an evidence crop or another isolation shows it."""
    ys, xs = np.nonzero(placed > 0.5)
    if len(ys) == 0:
        return scene
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    m = rng.uniform(0.0, 0.2)
    y0, y1 = max(0, int(ys.min() - m * h)), min(scene.shape[0], int(ys.max() + 1 + m * h))
    x0, x1 = max(0, int(xs.min() - m * w)), min(scene.shape[1], int(xs.max() + 1 + m * w))
    return scene[y0:y1, x0:x1].copy()


class SceneMaker:
    """Camera views of any training photo, with bins furnished from ``furniture`` (other photos of
    the training side only: a held-out source never shows up, not even as clutter).

    Picklable: each DataLoader worker loads its furniture and masks itself, on first use."""

    def __init__(
        self,
        furniture: SampleSet,
        mask_folder: str | Path,
        fill: int,
        recipe: CameraRecipe | None = None,
        count: int = FURNITURE,
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        picks = rng.permutation(len(furniture))[:count]
        self.store, self.paths = furniture.store, [furniture.samples[i].path for i in sorted(picks)]
        self.mask_folder, self.fill, self.recipe = str(mask_folder), fill, recipe or CameraRecipe()
        self._views: CameraViews | None = None

    @property
    def masks(self) -> MaskCache:
        return MaskCache(self.mask_folder)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_views": None}

    def _furnished(self) -> CameraViews:
        if self._views is None:
            masks, earlier, photos = self.masks, [], []
            for k, path in enumerate(self.paths):
                try:
                    rgb = fit_within(self.store.read_rgb(path), FURNITURE_SIDE)
                except (ImageDecodeError, OSError):
                    continue
                if k % 3 == 2:
                    photos.append(rgb)
                else:
                    earlier.append(binscene.Cutout.from_mask(rgb, masks.get(rgb)))
            self._views = CameraViews(self.fill, earlier, photos, self.recipe)
        return self._views

    def __call__(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """An RGB crop of ``rgb``'s item as the edge would classify it."""
        return self._furnished().view(rgb, self.masks.get(rgb), rng)
