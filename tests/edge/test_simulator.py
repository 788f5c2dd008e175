"""The scene simulator: a short scene renders, decodes, and agrees with its truth and site.toml."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from binwatch.datasets import manifest, taxonomy
from binwatch.edge import config
from binwatch.edge.simulator import cli, items, layout, scenario, sprite, timeline, truth
from binwatch.events.schema import Flag

SAMPLES = Path(__file__).resolve().parents[2] / "edge" / "simulator" / "samples"
SIZE = (320, 180)


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """Five disposals into three bins, through the command line."""
    out = tmp_path_factory.mktemp("scenario")
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "scenario",
            "--manifest",
            str(SAMPLES),
            "--out",
            str(out),
            "--split",
            "all",
            "--disposals",
            "5",
            "--bins",
            "3",
            "--seed",
            "7",
            "--width",
            str(SIZE[0]),
            "--height",
            str(SIZE[1]),
            "--fps",
            "10",
            "--passers",
            "0.5",
            "--off-hours",
            "0.4",
            "--token",
            "secret-token",
        ]
    )
    assert args.func(args) == 0
    return out


def _frames(video: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_video_decodes_with_the_truths_frame_count(scene):
    t = truth.load(scene / "truth.json")
    frames = _frames(scene / t.video)
    assert len(frames) == t.frames
    assert frames[0].shape == (SIZE[1], SIZE[0], 3)
    assert (t.width, t.height, t.fps) == (*SIZE, 10.0)
    assert not list(scene.glob("*.partial*"))


def test_site_toml_matches_the_truth(scene):
    t = truth.load(scene / "truth.json")
    site = config.load(scene / "site.toml")
    assert Path(site.camera.source) == scene / "scene.mp4"
    assert site.camera.fps == t.fps
    assert site.collector.token == "secret-token"
    assert [(b.id, b.category, [tuple(p) for p in b.polygon]) for b in site.bins] == [
        (b.id, b.category, [tuple(p) for p in b.polygon]) for b in t.bins
    ]
    assert site.schedule == t.schedule
    assert [b.category for b in t.bins] == ["recyclable", "kitchen", "other"]  # the first three installed
    for b in t.bins:
        xs, ys = zip(*b.polygon, strict=True)
        assert 0 <= min(xs) <= max(xs) < SIZE[0]
        assert 0 <= min(ys) <= max(ys) < SIZE[1]


def test_flags_follow_the_taxonomy_and_the_schedule(scene):
    t = truth.load(scene / "truth.json")
    windows = t.schedule.windows()
    assert windows, "the scene has a schedule, or off_hours could never fire"
    seen = set()
    for d in t.disposals:
        bin_category = t.bin(d.bin_id).category
        assert d.category == taxonomy.category_of(d.item)
        local = (t.start_time + timedelta(seconds=d.t)).astimezone(t.schedule.zone).time()
        expected = {
            Flag.MIXED_DISPOSAL: d.category != bin_category,
            Flag.KITCHEN_CONTAMINATION: bin_category == "kitchen" and taxonomy.is_kitchen_contaminant(d.item),
            Flag.OFF_HOURS: not any(start <= local < end for start, end in windows),
        }
        assert set(d.flags) == {flag for flag, fires in expected.items() if fires}, d
        seen |= set(d.flags)
        assert (SAMPLES / d.image).is_file()
    assert Flag.OFF_HOURS in seen and any(Flag.OFF_HOURS not in d.flags for d in t.disposals)


def test_each_disposal_changes_its_own_opening_and_only_that(scene):
    t = truth.load(scene / "truth.json")
    frames = _frames(scene / "scene.mp4")
    masks = {}
    for b in t.bins:
        masks[b.id] = np.zeros(frames[0].shape[:2], np.uint8)
        cv2.fillPoly(masks[b.id], [np.array(b.polygon, np.int32)], 1)
    for d, following in zip(t.disposals, t.disposals[1:] + [None], strict=True):
        assert d.t_start < d.t <= d.t_end
        assert following is None or d.t_end < following.t_start
        before = frames[round(d.t_start * t.fps) - 1].astype(np.int16)
        after = frames[min(len(frames) - 1, round(d.t_end * t.fps) + 1)].astype(np.int16)
        changed = np.abs(after - before).max(axis=2) > 30  # well above noise, light drift and coding
        share = {bin_id: changed[m > 0].mean() for bin_id, m in masks.items()}
        assert share[d.bin_id] > 0.05, (d, share)
        assert all(v < 0.01 for bin_id, v in share.items() if bin_id != d.bin_id), (d, share)


def test_same_seed_same_scene(scene, tmp_path):
    kwargs = {
        "disposals": 5,
        "bins": 3,
        "seed": 7,
        "split": "all",
        "size": SIZE,
        "fps": 10.0,
        "passers": 0.5,
        "off_hours": 0.4,
        "token": "secret-token",
    }
    again = scenario.render_scenario(SAMPLES, tmp_path / "again", **kwargs)
    assert again.truth.read_text() == (scene / "truth.json").read_text()
    other = scenario.render_scenario(SAMPLES, tmp_path / "other", **{**kwargs, "seed": 8})
    assert json.loads(other.truth.read_text())["disposals"] != json.loads(again.truth.read_text())["disposals"]


def test_the_mix_is_dealt_in_proportion():
    data = manifest.load(SAMPLES)
    bins = layout.bin_categories(4)
    picks = items.choose(
        items.ItemPool(data, "all", np.random.default_rng(0)), bins, items.Mix(), 100, np.random.default_rng(0)
    )
    kinds = {"correct": 0, "wrong": 0, "contaminant": 0}
    for b, sample in picks:
        if sample.category == bins[b]:
            kinds["correct"] += 1
        elif bins[b] == "kitchen" and taxonomy.is_kitchen_contaminant(sample.item):
            kinds["contaminant"] += 1
        else:
            kinds["wrong"] += 1
    assert kinds == {"correct": 50, "wrong": 35, "contaminant": 15}


def test_without_a_kitchen_bin_there_is_no_contamination():
    data = manifest.load(SAMPLES)
    picks = items.choose(
        items.ItemPool(data, "all", np.random.default_rng(0)), ["recyclable"], items.Mix(), 20, np.random.default_rng(0)
    )
    assert sum(s.category == "recyclable" for _, s in picks) == round(20 * 0.5 / 0.85)


def test_off_hours_fraction_falls_after_the_window_closes():
    data = manifest.load(SAMPLES)
    rng = np.random.default_rng(3)
    bins = layout.arrange(layout.bin_categories(4), 640, 360)
    picks = items.choose(items.ItemPool(data, "all", rng), [b.category for b in bins], items.Mix(), 20, rng)
    plan = timeline.plan(bins, picks, (640, 360), 15.0, rng, off_hours=0.2)
    schedule = config.ScheduleConfig(allowed_hours=plan.allowed_hours, timezone=plan.timezone)
    t = scenario.describe(plan, bins, schedule, (640, 360), {})
    off = [Flag.OFF_HOURS in d.flags for d in t.disposals]
    assert off == [False] * 16 + [True] * 4


def test_the_shipped_samples_cover_every_category_and_contaminant():
    data = manifest.load(SAMPLES)
    assert not data.skipped
    assert {s.category for s in data.samples} == set(taxonomy.CATEGORY_KEYS)
    assert {s.item for s in data.samples} >= {i.key for i in taxonomy.ITEMS if i.kitchen_contaminant}
    for s in data.samples:
        assert max(data.store.read_rgb(s.path).shape[:2]) <= 160


def test_white_backgrounds_are_cut_away_and_photos_get_rounded_corners():
    studio = np.full((100, 140, 3), 250, np.uint8)
    cv2.circle(studio, (70, 50), 30, (200, 30, 30), -1)
    cut = sprite.cut_out(studio, 60)
    assert max(cut.size) == 60 and min(cut.size) >= 57  # cropped to the disc, not the photo
    assert cut.alpha[30, 30] > 0.95 and cut.alpha[1, 1] < 0.05
    photo = np.random.default_rng(0).integers(0, 200, (80, 120, 3), dtype=np.uint8)
    rounded = sprite.cut_out(photo, 90)
    assert rounded.size == (90, 60)
    assert rounded.alpha[30, 45] > 0.95 and rounded.alpha[0, 0] < 0.05


def test_bad_requests_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="1 to 4 bins"):
        scenario.render_scenario(SAMPLES, tmp_path, disposals=1, bins=5, split="all")
    with pytest.raises(ValueError, match="at least one disposal"):
        scenario.render_scenario(SAMPLES, tmp_path, disposals=0, split="all")
    with pytest.raises(ValueError, match="three non-negative weights"):
        items.Mix.parse("0.5,0.5")
