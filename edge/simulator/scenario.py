"""``render_scenario``: one call from a data set to a scene video, its truth and its site.toml.

Two random streams are split off the seed: one plans the scene (the camera's placement, items,
bins, times), one draws it (floor, light, noise, what already lies in the bins). The truth
therefore depends only on the plan, and changing how things are drawn never changes what a
seed's scene contains.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from pydantic import ValidationError

from binwatch.datasets import taxonomy
from binwatch.datasets.manifest import SampleSet, load
from binwatch.edge import config
from binwatch.edge.simulator import items, layout, timeline, truth
from binwatch.edge.simulator.conditions import STYLES, Conditions, named
from binwatch.edge.simulator.oblique import ObliqueStage
from binwatch.edge.simulator.render import CollectionStage, GroundStage, Renderer, Stage
from binwatch.edge.simulator.sensor import Sensor
from binwatch.edge.simulator.topview import TopStage
from binwatch.edge.simulator.video import SceneWriter
from binwatch.events.schema import category_key

VIDEO, TRUTH, SITE = "scene.mp4", "truth.json", "site.toml"
DEFAULT_COLLECTOR = "http://127.0.0.1:8000"
DEFAULT_TOKEN = "change-me"  # a placeholder: the collector issues real device tokens


@dataclass(frozen=True)
class Scenario:
    video: Path
    truth: Path
    config: Path
    frames: int
    codec: str
    render_s: float  # wall time spent drawing and encoding


def render_scenario(
    manifest: str | Path | SampleSet,
    out_dir: str | Path,
    disposals: int = 100,
    bins: int = 4,
    seed: int = 0,
    *,
    split: str = "val",
    size: tuple[int, int] = (1280, 720),
    fps: float = 15.0,
    mix: items.Mix | None = None,
    off_hours: float = 0.2,
    passers: float | None = None,
    condition: str | Conditions = "daylight",
    style: str = "oblique",
    collector_url: str = DEFAULT_COLLECTOR,
    token: str = DEFAULT_TOKEN,
    device_id: str = "scenario-cam",
    site_id: str = "scenario",
    progress: Callable[[int, int], None] | None = None,
) -> Scenario:
    """Write ``scene.mp4``, ``truth.json`` and ``site.toml`` into ``out_dir``.

    ``manifest`` is anything ``datasets.manifest.load`` opens (or an opened set); ``condition``
    a name of ``conditions.PRESETS`` or a ``Conditions``; ``passers``, when given, overrides its
    chance of a passer-by; ``progress(frame, frames)`` is called every second of video."""
    if disposals < 1:
        raise ValueError(f"a scene needs at least one disposal, not {disposals}")
    width, height = size
    if width < 160 or height < 90 or width % 2 or height % 2:
        raise ValueError(f"frame size {width}x{height}: at least 160x90 and even, as video encoders need")
    if not 1 <= fps <= 60:
        raise ValueError(f"fps must be between 1 and 60, not {fps}")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    mix = mix or items.Mix()
    conditions = named(condition) if isinstance(condition, str) else condition
    if passers is not None:
        if not 0 <= passers <= 1:
            raise ValueError("passers is a chance between 0 and 1")
        conditions = replace(conditions, passers=passers)
    data = manifest if isinstance(manifest, SampleSet) else load(manifest)
    plan_rng, draw_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))

    categories = layout.bin_categories(bins)
    stage: Stage
    if style == "oblique":
        stage = ObliqueStage(categories, size, fps, conditions.shadows, plan_rng, conditions.collection > 0)
    else:
        stage = TopStage(categories, size, fps, conditions.shadows)
    arranged = stage.bins
    pool = items.ItemPool(data, split, plan_rng)
    picks = items.choose(pool, categories, mix, disposals, plan_rng)
    seen = (lambda item: _zone_of(stage, item) is not None) if isinstance(stage, GroundStage) else None
    scene = timeline.plan(categories, picks, fps, plan_rng, conditions, off_hours, seen=seen)
    ground = stage.ground if isinstance(stage, GroundStage) else []
    collection = stage.collection if isinstance(stage, CollectionStage) else []
    try:
        site = config.SiteConfig(
            device_id=device_id,
            site_id=site_id,
            collector=config.CollectorConfig(url=collector_url, token=token),
            camera=config.CameraConfig(source=VIDEO, fps=fps),
            bins=[config.BinConfig(id=b.id, category=b.category, polygon=b.polygon) for b in arranged],
            zones=[config.ZoneConfig(id=name, kind="ground", polygon=polygon) for name, polygon in ground]
            + [config.ZoneConfig(id=name, kind="collection", polygon=polygon) for name, polygon in collection],
            schedule=config.ScheduleConfig(allowed_hours=scene.allowed_hours, timezone=scene.timezone),
        )
    except ValidationError as exc:  # checked before the video is rendered
        raise ValueError(config.explain(exc, "the scene's site.toml")) from None

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    sensor = Sensor(size, fps, conditions, scene.exposure, draw_rng)
    renderer = Renderer(scene, stage, data.store, sensor, items.usable_samples(data, split), draw_rng)
    codec = _write_video(renderer, out / VIDEO, fps, size, scene.frames, conditions.crf, progress)
    render_s = time.perf_counter() - began
    generator = {
        "tool": "binwatch scenario",
        "manifest": str(data.store.location),
        "seed": seed,
        "split": split,
        "style": style,
        "codec": codec,
        "mix": {"correct": mix.correct, "wrong_bin": mix.wrong_bin, "contamination": mix.contamination},
        "off_hours": off_hours,
        "conditions": conditions.describe(),
        "taxonomy_version": taxonomy.TAXONOMY_VERSION,
    }
    litter_zones = {item.id: _planned_zone(stage, item) for item, _ in scene.litter}
    described = describe(
        scene, arranged, site.schedule, size, generator, conditions.name, ground, litter_zones, collection
    )
    truth.write(described, out / TRUTH)
    config.dump(site, out / SITE)
    return Scenario(out / VIDEO, out / TRUTH, out / SITE, scene.frames, codec, render_s)


def describe(
    scene: timeline.Timeline,
    arranged: list[layout.Bin],
    schedule: config.ScheduleConfig,
    size: tuple[int, int],
    generator: dict,
    condition: str | None = None,
    zones: list[tuple[str, list[tuple[int, int]]]] | None = None,
    litter_zones: dict[int, str] | None = None,
    collection: list[tuple[str, list[tuple[int, int]]]] | None = None,
) -> truth.Truth:
    """The truth of a planned scene: what lands where and when, and which flags it deserves;
    ``zones`` are the ground zones (id, polygon) and ``litter_zones`` the zone of each litter;
    ``collection`` the collection zone (id, polygon) where every container stands."""
    fps = scene.fps

    def seconds(frame: int) -> float:
        return round(frame / fps, 3)

    disposals = []
    for index, (visit, reach, drop) in enumerate(scene.drops):
        b = arranged[visit.bin]
        item = drop.sample.item
        if item is None:
            raise ValueError(f"{drop.sample.path}: a scene's truth needs item-labelled photos")
        disposals.append(
            truth.TruthDisposal(
                id=index + 1,
                t=seconds(drop.land),
                t_start=seconds(reach.start),
                t_end=seconds(reach.end),
                bin_id=b.id,
                item=item,
                category=category_key(taxonomy.category_of(item)),
                flags=truth.expected_flags(item, b.category, scene.wall_clock(drop.land), schedule),
                image=drop.sample.path,
                bagged=drop.bagged,
            )
        )
    visits = {
        kind: [
            truth.TruthVisit(t_start=seconds(v.stand), t_end=seconds(v.leave), bin_id=arranged[v.bin].id)
            for v in scene.visits
            if v.kind == kind
        ]
        for kind in ("bystander", "emptying", "load")
    }
    return truth.Truth(
        format=truth.FORMAT,
        video=VIDEO,
        fps=fps,
        frames=scene.frames,
        width=size[0],
        height=size[1],
        start_time=scene.start_time,
        schedule=schedule,
        bins=[truth.TruthBin(id=b.id, category=b.category, polygon=b.polygon) for b in arranged],
        disposals=disposals,
        passers_by=[
            truth.TruthPasser(t_start=seconds(p.start), t_end=seconds(p.end), over_bins=p.over_openings)
            for p in scene.passers
        ],
        condition=condition,
        bystanders=visits["bystander"],
        emptyings=visits["emptying"],
        loads=visits["load"],
        overflows=[
            truth.TruthOverflow(bin_id=arranged[index].id, t=seconds(frame)) for frame, index in scene.overflows()
        ],
        exposure_jumps=[truth.TruthExposure(t=seconds(j.frame), gain=j.gain) for j in scene.exposure],
        zones=[truth.TruthZone(id=name, polygon=polygon) for name, polygon in zones or []]
        + [truth.TruthZone(id=name, kind="collection", polygon=polygon) for name, polygon in collection or []],
        littering=[
            truth.TruthLitter(
                id=item.id,
                zone_id=(litter_zones or {})[item.id],
                t=seconds(item.put),
                t_start=seconds(left_by.start),
                t_end=seconds(left_by.end),
                t_cleared=None if cleared_by is None else seconds(cleared_by.reaches[0].release),
                t_cleared_end=None if cleared_by is None else seconds(cleared_by.end),
                kind=item.kind,
            )
            for item, left_by, cleared_by in scene.litter_visits
        ],
        collections=[
            _collection(number + 1, (collection or [])[0][0], visits, arranged, seconds)
            for number, (_, visits) in enumerate(scene.collections)
        ],
        generator=generator,
    )


def _collection(
    number: int,
    zone_id: str,
    visits: list[timeline.Visit],
    arranged: list[layout.Bin],
    seconds: Callable[[int], float],
) -> truth.TruthCollection:
    """One container's visit: wheeled in, the bins emptied into it, wheeled out."""
    emptied = [arranged[v.bin] for v in visits if v.kind == "emptying"]
    categories = sorted({b.category for b in emptied})
    return truth.TruthCollection(
        id=number,
        zone_id=zone_id,
        t_start=seconds(visits[0].start),
        t_end=seconds(visits[-1].end),
        bin_ids=[b.id for b in emptied],
        categories=categories,
        mixed=len(categories) >= 2,
    )


def _write_video(
    renderer: Renderer,
    path: Path,
    fps: float,
    size: tuple[int, int],
    frames: int,
    crf: int,
    progress: Callable[[int, int], None] | None,
) -> str:
    """Stream the frames into ``path``; a half-written video never takes the final name."""
    partial = path.with_name(path.stem + ".partial" + path.suffix)
    with SceneWriter(partial, fps, size, crf) as writer:
        for f, frame in enumerate(renderer.frames()):
            writer.write(frame)
            if progress is not None and f % round(fps) == 0:
                progress(f, frames)
    os.replace(partial, path)
    return writer.codec


def _planned_zone(stage: Stage, item: timeline.Litter) -> str:
    zone = _zone_of(stage, item)
    assert zone is not None, f"litter {item.id} was planned where the camera sees no ground"
    return zone


def _zone_of(stage: Stage, item: timeline.Litter) -> str | None:
    """The ground zone that ``item`` lies in, as the camera sees it (None: outside them all)."""
    assert isinstance(stage, GroundStage)  # the renderer refuses litter to any other stage
    x, y = stage.litter_point(item)
    for name, polygon in stage.ground:
        if cv2.pointPolygonTest(np.asarray(polygon, np.float32), (x, y), False) >= 0:
            return name
    return None
