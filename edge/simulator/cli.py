"""``binwatch scenario``: make a drop-off scene video with its ground truth and site.toml."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from binwatch.edge.simulator.conditions import PRESETS, STYLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenario",
        help="synthesise a drop-off point video with ground truth, to evaluate the edge agent",
        description="Write DIR/scene.mp4, DIR/truth.json (what was thrown where and when, and which flags "
        "should fire) and DIR/site.toml (the edge configuration that matches the scene).",
    )
    p.add_argument("--manifest", required=True, help="images to throw away: manifest.csv, a folder or a packed zip")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--disposals", type=int, default=100, help="number of disposals (default 100)")
    p.add_argument(
        "--bins",
        type=int,
        default=4,
        choices=range(1, 5),
        metavar="K",
        help="bins in the scene, 1-4: kitchen, other, recyclable, hazardous, in that order",
    )
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same scene")
    p.add_argument(
        "--split",
        choices=("val", "all"),
        default="val",
        help="val: only the release model's validation images (default); all: every image",
    )
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument(
        "--mix", default="0.5,0.35,0.15", help="weights of correct, wrong-bin and kitchen-contamination disposals"
    )
    p.add_argument("--off-hours", type=float, default=0.2, help="fraction of disposals after the window closes")
    p.add_argument(
        "--condition",
        default="daylight",
        metavar="NAME",
        help="what makes the scene hard: " + ", ".join(PRESETS) + " (default daylight; see edge/simulator/README.md)",
    )
    p.add_argument(
        "--style",
        choices=STYLES,
        default="oblique",
        help="oblique: a camera above and in front of the bins, in perspective (default); top: straight from above",
    )
    p.add_argument("--passers", type=float, help="chance of a passer-by in each idle gap (default: the condition's)")
    p.add_argument("--collector-url", help="written into site.toml (default: a local collector on port 8000)")
    p.add_argument("--token", help="device token written into site.toml (default: a placeholder)")
    p.add_argument("--device-id", help="written into site.toml (default: scenario-cam)")
    p.add_argument("--site-id", help="written into site.toml (default: scenario)")
    p.set_defaults(func=run_scenario)


def run_scenario(args: argparse.Namespace) -> int:
    from binwatch.edge.simulator import items, truth
    from binwatch.edge.simulator.scenario import render_scenario

    def progress(frame: int, frames: int) -> None:
        print(f"\r  rendering {frame / frames:6.1%}", end="", file=sys.stderr, flush=True)

    site = {key: getattr(args, key) for key in ("collector_url", "token", "device_id", "site_id")}
    result = render_scenario(
        args.manifest,
        args.out,
        args.disposals,
        args.bins,
        args.seed,
        split=args.split,
        size=(args.width, args.height),
        fps=args.fps,
        mix=items.Mix.parse(args.mix),
        off_hours=args.off_hours,
        passers=args.passers,
        condition=args.condition,
        style=args.style,
        progress=progress if sys.stderr.isatty() else None,
        **{key: value for key, value in site.items() if value is not None},
    )
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    seconds = result.frames / args.fps
    print(
        f"{result.video}: {result.frames} frames, {seconds // 60:.0f} min {seconds % 60:.0f} s, {result.codec};"
        f" rendered in {result.render_s:.1f} s ({result.frames / result.render_s:.0f} fps)"
    )
    scene = truth.load(result.truth)
    flags = Counter(flag.value for d in scene.disposals for flag in d.flags)
    flagged = ", ".join(f"{n} {flag}" for flag, n in sorted(flags.items())) or "none flagged"
    print(
        f"{result.truth}: {len(scene.disposals)} disposals ({flagged}), {len(scene.passers_by)} passers-by,"
        f" {len(scene.bystanders)} bystanders, {len(scene.emptyings)} emptyings, {len(scene.loads)} loads,"
        f" {len(scene.overflows)} overflows, condition {scene.condition}"
    )
    print(
        f"{result.config}: try  binwatch edge eval --video {result.video} --truth {result.truth}"
        f" --config {result.config}"
    )
    return 0
