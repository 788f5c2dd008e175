"""Training data that looks like the camera: cut-outs, bin scenes, camera conditions, the agent's crops."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from binwatch.datasets import conditions, manifest
from binwatch.training.agent_crops import agent_crops
from binwatch.training.camera_views import SceneMaker
from binwatch.training.cutout import MaskCache, foreground_mask

GREY = 128


def tartan(h: int, w: int) -> np.ndarray:
    """A checked blanket, the kind of background a phone photo of a can lies on."""
    y, x = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w, 3), np.uint8)
    out[..., 0] = 60 + 80 * ((x // 12) % 2)
    out[..., 1] = 40 + 60 * ((y // 12) % 2)
    out[..., 2] = 90
    return out


def can_on_blanket() -> tuple[np.ndarray, np.ndarray]:
    """A red can (a rounded rectangle) on a tartan blanket, and where the can is."""
    rgb = tartan(200, 260)
    truth = np.zeros((200, 260), np.uint8)
    cv2.rectangle(truth, (90, 45), (170, 160), 255, -1)
    rgb[truth > 0] = (210, 30, 35)
    cv2.line(rgb, (95, 90), (165, 90), (240, 240, 240), 6)
    return rgb, truth


def test_the_cut_out_leaves_the_background_behind():
    rgb, truth = can_on_blanket()
    mask = foreground_mask(rgb)
    assert mask.shape == truth.shape and mask.dtype == np.uint8
    inside, outside = mask[truth > 0] > 0, mask[truth == 0] > 0
    assert inside.mean() > 0.9, "the can is kept"
    assert outside.mean() < 0.05, "the blanket is not"


def test_a_photo_the_item_fills_is_kept_whole():
    rng = np.random.default_rng(0)
    heap = rng.integers(60, 200, (120, 160, 3), dtype=np.uint8)  # rice, noodles: item to every edge
    assert (foreground_mask(heap) == 255).all()
    flat = np.full((100, 100, 3), 200, np.uint8)  # nothing to separate
    assert (foreground_mask(flat) == 255).all()


def test_masks_are_computed_once_and_read_back(tmp_path):
    rgb, _ = can_on_blanket()
    cache = MaskCache(tmp_path)
    first = cache.get(rgb)
    path = cache.path(rgb)
    assert path.is_file()
    marked = first.copy()
    marked[0, 0] = 255 - marked[0, 0]  # proof that the second call reads the file
    cv2.imwrite(str(path), marked)
    assert (cache.get(rgb) == marked).all()
    assert cache.path(rgb[::-1]) != path  # another picture, another mask


def test_conditions_are_deterministic_and_keep_the_picture_shape(samples_dir):
    data = manifest.load(samples_dir)
    rgb = conditions.resize_long_side(data.store.read_rgb(data.samples[0].path), 64)
    assert max(rgb.shape[:2]) == 64
    for name, condition in conditions.CONDITIONS.items():
        a = condition(rgb, np.random.default_rng(3))
        b = condition(rgb, np.random.default_rng(3))
        assert a.shape == rgb.shape and a.dtype == np.uint8, name
        assert (a == b).all(), f"{name} is not deterministic for a seed"
        if name != "clean":
            assert not (a == rgb).all(), f"{name} changed nothing"
    dim = conditions.low_light(rgb, 0.2, 6, np.random.default_rng(0), recovered=0.6, colour=0.6)
    assert dim.mean() < rgb.mean()
    assert [conditions.bucket_of(s) for s in (30, 40, 59, 60, 100, 120, 400)] == [
        "<40",
        "40-60",
        "40-60",
        "60-80",
        "80-120",
        ">=120",
        ">=120",
    ]


def test_the_agents_crop_is_what_changed_painted_grey_around():
    before = np.full((120, 120, 3), 40, np.uint8)  # a dark liner
    after = before.copy()
    cv2.circle(after, (60, 60), 18, (220, 200, 30), -1)  # a yellow item landed
    square = [(0, 0), (119, 0), (119, 119), (0, 119)]
    (crop,) = agent_crops(before, [after], square, 1, GREY)
    assert 30 <= max(crop.shape[:2]) <= 45  # the item's box, not the opening
    corner, centre = crop[0, 0], crop[crop.shape[0] // 2, crop.shape[1] // 2]
    assert (corner == GREY).all() and centre[0] > 180  # outside the outline is grey; the item is there
    assert agent_crops(before, [before.copy()], square, 1, GREY) == []  # nothing changed: no item


def test_camera_views_are_small_cut_out_and_reproducible(samples_dir, tmp_path):
    data = manifest.load(samples_dir)
    scenes = SceneMaker(data, tmp_path / "masks", GREY, count=12)
    rgb = data.store.read_rgb(data.samples[3].path)
    sides = []
    for seed in range(12):
        view = scenes(rgb, np.random.default_rng(seed))
        again = scenes(rgb, np.random.default_rng(seed))
        assert view.dtype == np.uint8 and view.ndim == 3 and (view == again).all()
        sides.append(max(view.shape[:2]))
    # Items are laid in at 30-160 px on their long side; the agent's box may take a shadow along.
    assert min(sides) >= 20 and max(sides) <= 260 and np.median(sides) < 140
    # Most views are the agent's crops: grey wherever the item's outline is not.
    grey_corners = sum(
        (v[0, 0] == GREY).all() for v in (scenes(rgb, np.random.default_rng(100 + s)) for s in range(12))
    )
    assert grey_corners >= 4


@pytest.mark.slow
def test_scene_crops_are_cut_as_the_agent_cuts_and_keep_their_photos_source(samples_dir, tmp_path):
    out = tmp_path / "crops"
    result = subprocess.run(
        [sys.executable, "-m", "binwatch", "data", "scene-crops", str(samples_dir), str(out)]
        + ["--disposals", "6", "--width", "640", "--height", "360", "--seed", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout)
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert summary["crops"] == len(rows) > 0 and summary["disposals_without_item"] < 6
    photos = {s.path: s for s in manifest.load(samples_dir).samples}
    for row in rows:
        photo = photos[row["orig_path"]]
        assert row["item"] == photo.item and row["source"] == photo.source and row["group"] == photo.group
        assert row["source_class"] == "scene-crops"
        crop = cv2.imread(str(out / row["path"]))
        assert crop.shape[:2] == (int(row["height"]), int(row["width"])) and max(crop.shape[:2]) < 200
    crops = manifest.load(out)
    assert len(crops) == len(rows) and not crops.skipped


def test_scene_crops_never_write_over_a_data_set(samples_dir, tmp_path):
    from binwatch.training.scene_crops import scene_crops

    with pytest.raises(ValueError, match="already holds a manifest.csv"):
        scene_crops(samples_dir, samples_dir)
