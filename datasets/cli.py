"""``binwatch data …``: look at and pack data sets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="inspect, split and pack labelled image sets")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    stats = data_sub.add_parser("stats", help="counts per category and item, and the train/val split")
    stats.add_argument("data", help="manifest.csv, a folder or a packed zip")
    stats.add_argument("--val-fraction", type=float, default=0.2)
    stats.add_argument("--seed", type=int, default=0)
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(func=run_stats)

    pack = data_sub.add_parser("pack", help="write one zip of resized JPEGs with its manifest")
    pack.add_argument("data")
    pack.add_argument("out", type=Path)
    pack.add_argument("--max-side", type=int, default=160)
    pack.add_argument("--quality", type=int, default=70)
    pack.set_defaults(func=run_pack)

    crops = data_sub.add_parser(
        "scene-crops", help="drop photos into simulated bin scenes and keep the agent's crops of them (a data set)"
    )
    crops.add_argument("data", help="the photos: manifest.csv, a folder or a packed zip")
    crops.add_argument("out", type=Path, help="folder for images/ and manifest.csv")
    crops.add_argument("--scenes", type=int, default=1)
    crops.add_argument("--disposals", type=int, default=100, help="per scene")
    crops.add_argument("--seed", type=int, default=0, help="of the first scene; the next ones count up")
    crops.add_argument("--width", type=int, default=1280)
    crops.add_argument("--height", type=int, default=720)
    crops.add_argument("--per-disposal", type=int, default=2, help="crops kept per disposal")
    crops.set_defaults(func=run_scene_crops)


def run_stats(args) -> int:
    from binwatch.datasets import manifest, split, stats

    data = manifest.load(args.data)
    train, val = split.split_by_group(data.samples, args.val_fraction, args.seed)
    result = {
        "all": stats.counts(data.samples),
        "train": stats.counts(train),
        "val": stats.counts(val),
        "skipped": dict(data.skipped),
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(stats.format_table(result["all"]))
    print(f"\nsplit (seed {args.seed}, groups kept whole): {len(train)} train, {len(val)} val")
    print(f"skipped rows: {data.describe_skips()}")
    return 0


def run_scene_crops(args) -> int:
    from binwatch.training.scene_crops import scene_crops

    result = scene_crops(
        args.data, args.out, args.scenes, args.disposals, args.seed, (args.width, args.height), args.per_disposal
    )
    print(json.dumps(result))
    return 0


def run_pack(args) -> int:
    from binwatch.datasets import manifest, pack

    data = manifest.load(args.data)
    tally = pack.pack(data, args.out, args.max_side, args.quality)
    print(
        f"{args.out}: {tally['written']} images written; skipped: {data.describe_skips()}"
        f"{', ' + str(tally['skipped: undecodable']) + ' undecodable' if tally['skipped: undecodable'] else ''}"
    )
    return 0
