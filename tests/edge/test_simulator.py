"""The scene simulator: a short scene renders, decodes, and agrees with its truth and site.toml."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from binwatch.datasets import manifest, taxonomy
from binwatch.edge import config
from binwatch.edge.simulator import cli, items, layout, scenario, sprite, timeline, truth
from binwatch.edge.simulator.conditions import HARDER, PRESETS, named
from binwatch.edge.simulator.oblique import ObliqueStage
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


def test_each_disposal_changes_its_own_opening_and_only_that(tmp_path):
    """Before a person walks up and after they have gone, only the bin they threw into has changed."""
    for style in ("oblique", "top"):
        out = scenario.render_scenario(
            SAMPLES, tmp_path / style, disposals=5, bins=3, seed=4, split="all", size=(640, 360), fps=8.0,
            condition="steady", passers=0.0, style=style,
        )  # fmt: skip
        t = truth.load(out.truth)
        frames = _frames(out.video)
        masks = {}
        for b in t.bins:
            masks[b.id] = np.zeros(frames[0].shape[:2], np.uint8)
            cv2.fillPoly(masks[b.id], [np.array(b.polygon, np.int32)], 1)
        for d in t.disposals:
            assert d.t_start < d.t <= d.t_end
            # The person walks in over at most 2.3 s before the reach and is gone 2.5 s after it.
            before = frames[round((d.t_start - 2.5) * t.fps)].astype(np.int16)
            after = frames[min(len(frames) - 1, round((d.t_end + 2.5) * t.fps))].astype(np.int16)
            changed = np.abs(after - before).max(axis=2) > 30  # well above noise, light and coding
            share = {bin_id: changed[m > 0].mean() for bin_id, m in masks.items()}
            assert share[d.bin_id] > 0.01, (style, d, share)
            assert all(v < 0.01 for bin_id, v in share.items() if bin_id != d.bin_id), (style, d, share)


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
    categories = layout.bin_categories(4)
    bins = ObliqueStage(categories, (640, 360), 15.0, False, rng).bins
    picks = items.choose(items.ItemPool(data, "all", rng), categories, items.Mix(), 20, rng)
    plan = timeline.plan(categories, picks, 15.0, rng, named("daylight"), off_hours=0.2)
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
    for mix in ("0.5,0.5", "nan,1,1", "inf,1,1"):
        with pytest.raises(ValueError, match="three non-negative weights"):
            items.Mix.parse(mix)
    with pytest.raises(ValueError, match="the scene's site.toml: invalid configuration\n  url: String should match"):
        scenario.render_scenario(SAMPLES, tmp_path / "scene", disposals=1, split="all", collector_url="notaurl")
    assert not (tmp_path / "scene").exists()  # refused before a frame was rendered


def test_every_named_condition_renders(tmp_path):
    for name in PRESETS:
        out = scenario.render_scenario(
            SAMPLES, tmp_path / name, disposals=2, bins=2, seed=11, split="all", size=(160, 90), fps=5.0, condition=name
        )
        t = truth.load(out.truth)
        assert t.condition == name and t.generator["conditions"]["name"] == name and len(t.disposals) == 2
    assert set(HARDER) <= set(PRESETS)


def test_a_busy_scene_has_bystanders_emptyings_bags_quick_drops_and_exposure_jumps(tmp_path):
    busy = replace(
        named("hard"), name="busy", bystanders=1.0, emptying=1.0, bags=1.0, quick=1.0, multi=0.0, exposure_jumps=20.0
    )
    out = scenario.render_scenario(
        SAMPLES, tmp_path, disposals=4, bins=3, seed=2, split="all", size=SIZE, fps=6.0, condition=busy, off_hours=0
    )
    t = truth.load(out.truth)
    assert len(_frames(out.video)) == t.frames and t.condition == "busy"
    assert len(t.bystanders) >= 2 and len(t.emptyings) >= 2 and len(t.exposure_jumps) >= 2
    assert all(d.bagged == (t.bin(d.bin_id).category != "kitchen") for d in t.disposals)  # never into kitchen
    pairs = list(zip(t.disposals[::2], t.disposals[1::2], strict=True))  # two items per visit
    assert all(a.bin_id == b.bin_id and 1.0 < b.t - a.t < 4.0 for a, b in pairs)
    everyone = [(v.t_start, v.t_end) for v in t.bystanders + t.emptyings] + [(d.t_start, d.t_end) for d in t.disposals]
    assert all(v.t_end <= d.t_start or d.t_end <= v.t_start for v in t.bystanders + t.emptyings for d in t.disposals)
    assert len(everyone) == len(t.bystanders) + len(t.emptyings) + 4


def test_evening_is_darker_and_noisier_and_exposure_jumps_change_the_whole_picture(tmp_path):
    def stats(name: str, **options) -> tuple[float, float, list[np.ndarray], truth.Truth]:
        out = scenario.render_scenario(
            SAMPLES, tmp_path / name, disposals=2, bins=2, seed=5, split="all", size=SIZE, fps=8.0, **options
        )
        frames = _frames(out.video)
        grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in frames[:4]]
        return float(np.mean(grey[0])), float(np.std(grey[1] - grey[0])), frames, truth.load(out.truth)

    day, day_noise, _, _ = stats("day", condition="steady")
    evening, evening_noise, _, _ = stats("evening", condition="evening")
    assert evening < 0.5 * day and evening_noise > day_noise
    jumpy = replace(named("steady"), name="jumpy", exposure_jumps=30.0)
    _, _, frames, t = stats("jumpy", condition=jumpy)
    assert t.exposure_jumps and t.condition == "jumpy"
    jump = t.exposure_jumps[0]
    before, after = (frames[round(jump.t * t.fps) + k].astype(np.float32) for k in (-1, 6))
    assert abs(np.median(after) / np.median(before) - jump.gain) < 0.15 * jump.gain


def test_a_bagged_item_is_veiled_and_larger_with_a_see_through_margin():
    photo = np.zeros((60, 40, 3), np.uint8)
    photo[:] = (200, 30, 30)
    item = sprite.cut_out(photo, 60)
    bag = sprite.bagged(item, np.random.default_rng(0))
    assert bag.size[0] > item.size[0] and bag.size[1] > item.size[1]
    pad = (bag.size[0] - item.size[0]) // 2
    assert 0.2 < bag.alpha[bag.alpha.shape[0] // 2, pad - 3] < 0.7  # beside the item: only the bag, translucent
    centre = bag.bgr[bag.size[1] // 2, bag.size[0] // 2].astype(int)
    assert centre[2] > centre[0] > 30 + 20  # the red item, under a milky veil


def test_a_truth_without_the_newer_fields_still_reads_and_bad_ones_are_named():
    minimal = {
        "format": "binwatch-truth/1",
        "start_time": "2026-05-18T08:48:38+08:00",
        "bins": [{"id": "k1", "category": "kitchen", "polygon": [[0, 0], [9, 0], [9, 9]]}],
        "disposals": [{"id": 1, "t": 3.0, "bin_id": "k1", "category": "kitchen", "flags": []}],
    }
    t = truth.parse(minimal)
    assert t.condition is None and t.bystanders == [] and t.emptyings == [] and not t.disposals[0].bagged
    with pytest.raises(ValueError, match="emptyings.0.bin_id"):
        truth.parse({**minimal, "emptyings": [{"t_start": 1, "t_end": 2}]})
    with pytest.raises(ValueError, match="unknown bins: k9"):
        truth.parse({**minimal, "bystanders": [{"t_start": 1, "t_end": 2, "bin_id": "k9"}]})


def test_a_truth_file_not_in_utf8_is_named(tmp_path):
    (tmp_path / "truth.json").write_bytes('{"condition": "crépuscule"}'.encode("latin-1"))
    with pytest.raises(ValueError, match="truth.json: not JSON in UTF-8"):
        truth.load(tmp_path / "truth.json")


def test_unknown_conditions_and_styles_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown condition 'dusk'; known: steady"):
        scenario.render_scenario(SAMPLES, tmp_path, disposals=1, split="all", condition="dusk")
    with pytest.raises(ValueError, match="style must be one of oblique, top"):
        scenario.render_scenario(SAMPLES, tmp_path, disposals=1, split="all", style="fisheye")


def test_litter_is_left_beside_the_bins_in_a_ground_zone_and_taken_away(tmp_path):
    littering = replace(named("litter"), name="littered", litter=1.0, litter_cleared=1.0, passers=0.0)
    out = scenario.render_scenario(
        SAMPLES, tmp_path, disposals=4, bins=2, seed=3, split="all", size=SIZE, fps=6.0, condition=littering
    )
    t = truth.load(out.truth)
    site = config.load(out.config)
    assert [(z.id, z.polygon) for z in site.zones] == [(z.id, z.polygon) for z in t.zones]
    assert {z.id for z in t.zones} == {"ground-left", "ground-right"} and len(t.littering) >= 2
    assert all(item.t_cleared is not None and item.t_cleared - item.t >= 25 for item in t.littering)
    frames = _frames(out.video)
    assert len(frames) == t.frames and t.frames / t.fps >= max(item.t for item in t.littering) + 25
    for item in t.littering:
        zone = np.zeros(frames[0].shape[:2], np.uint8)
        cv2.fillPoly(zone, [np.asarray(t.zones[[z.id for z in t.zones].index(item.zone_id)].polygon)], 1)
        # Nobody is about a second before it is put down and after it is gone; it changes the zone in between.
        before = frames[round((item.t_start or item.t) * t.fps) - 1].astype(int)
        lying = frames[round((item.t_end or item.t) * t.fps) + 1].astype(int)
        assert (np.abs(lying - before).max(axis=2)[zone > 0] > 40).mean() > 0.02
    with pytest.raises(ValueError, match="oblique style only"):
        scenario.render_scenario(
            SAMPLES,
            tmp_path / "top",
            disposals=4,
            bins=2,
            seed=3,
            split="all",
            size=SIZE,
            condition=littering,
            style="top",
        )


@pytest.mark.parametrize("seen_right", [True, False])
def test_litter_is_planned_only_where_the_camera_sees_the_ground(seen_right):
    # A camera that sees the ground at one end of the row only (``litter`` 38: a bag drawn at the end it did not
    # see failed the whole scene after it was rendered): every bag and box goes to the end it sees.
    data, rng = manifest.load(SAMPLES), np.random.default_rng(5)
    categories = layout.bin_categories(3)
    picks = items.choose(items.ItemPool(data, "all", rng), categories, items.Mix(), 12, rng)
    littering = replace(named("litter"), litter=1.0, litter_cleared=0.5)
    plan = timeline.plan(categories, picks, 6.0, rng, littering, seen=lambda item: (item.side > 0) == seen_right)
    left = [item for item, _ in plan.litter]
    assert len(left) >= 2 and all((item.side > 0) == seen_right for item in left)
    assert all(item.bin == (2 if seen_right else 0) for item in left)
    nowhere = timeline.plan(categories, picks, 6.0, np.random.default_rng(5), littering, seen=lambda item: False)
    assert nowhere.litter == [] and len(nowhere.visits) > 0


def test_a_queue_of_residents_comes_one_right_after_another(tmp_path):
    queueing = replace(named("queue"), name="queueing", queue=1.0, passers=0.0)
    out = scenario.render_scenario(
        SAMPLES, tmp_path, disposals=6, bins=2, seed=4, split="all", size=SIZE, fps=6.0, condition=queueing, off_hours=0
    )
    t = truth.load(out.truth)
    assert len(t.disposals) == 6 and len(_frames(out.video)) == t.frames
    reaches = sorted({(d.t_start, d.t_end) for d in t.disposals})
    assert all(a[1] <= b[0] for a, b in zip(reaches, reaches[1:], strict=False))  # one arm at a time
    gaps = [b[0] - a[1] for a, b in zip(reaches, reaches[1:], strict=False)]
    assert min(gaps) < 2.5  # the next resident was already there: no idle gap between them


def test_two_items_of_one_reach_lie_apart_wherever_the_first_lands():
    """A first item near the middle of the opening leaves no place 0.4 away: the plan must still end."""
    for seed in range(300):
        first, other = timeline._rests(2, np.random.default_rng(seed))
        assert abs(other[0] - first[0]) >= 0.25 or abs(other[1] - first[1]) >= 0.25
        assert all(0.2 <= v <= 0.8 for v in other)
