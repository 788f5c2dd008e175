"""Edge accuracy per scene condition: render ``binwatch scenario`` scenes, run the agent, score.

For every condition and seed it renders a scene into ``--out`` (kept: a second run with the
same options only evaluates), runs the agent offline with the shipped model (or ``--model``)
and scores its events against the truth; then prints one row per condition, the seeds' counts
added up. ``--set`` changes a threshold for the run (``--set consensus_agreement=0`` measures
what the agreement rule does), ``--style top`` draws the scenes the other way.

    .venv/bin/python benchmarks/edge_scenes.py --manifest ../shared/datasets/waste-v1 --seeds 11,12 --out runs/scenes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.edge import config as site_config  # noqa: E402
from binwatch.edge.offline import run_offline  # noqa: E402
from binwatch.edge.simulator import score  # noqa: E402
from binwatch.edge.simulator.conditions import HARDER, PRESETS  # noqa: E402
from binwatch.edge.simulator.scenario import render_scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="the data set the items come from (its validation split)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the rendered scenes (reused)")
    parser.add_argument("--conditions", default=",".join(("steady", "daylight", *HARDER)))
    parser.add_argument("--seeds", default="11,12")
    parser.add_argument("--disposals", type=int, default=100)
    parser.add_argument("--bins", type=int, default=4)
    parser.add_argument("--style", choices=("oblique", "top"), default="oblique")
    parser.add_argument("--model", type=Path, help="an exported ONNX model (default: the shipped one)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a [thresholds] value")
    parser.add_argument("--json", type=Path, help="also write the reports here")
    args = parser.parse_args()
    conditions = args.conditions.split(",")
    unknown = [c for c in conditions if c not in PRESETS]
    if unknown:
        parser.error(f"unknown conditions {unknown}; known: {', '.join(PRESETS)}")
    overrides = dict(item.split("=", 1) for item in args.set)

    reports = []
    for condition in conditions:
        for seed in (int(s) for s in args.seeds.split(",")):
            folder = args.out / f"{args.style}-{condition}-{seed}-{args.disposals}"
            if not (folder / "truth.json").exists():
                began = time.perf_counter()
                render_scenario(
                    args.manifest, folder, args.disposals, args.bins, seed, condition=condition, style=args.style
                )
                print(f"rendered {folder} in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            site = site_config.load(folder / "site.toml")
            thresholds = site.thresholds.model_copy(
                update={k: type(getattr(site.thresholds, k))(v) for k, v in overrides.items()}
            )
            site = site.model_copy(update={"thresholds": thresholds, "model": args.model or site.model})
            truth = json.loads((folder / "truth.json").read_text())
            began = time.perf_counter()
            events = run_offline(site, folder / "scene.mp4", start_time=datetime.fromisoformat(truth["start_time"]))
            report = score.score(events, truth)
            d = report["disposals"]
            print(
                f"{condition} seed {seed}: recall {d['recall']}, precision {d['precision']}"
                f" ({time.perf_counter() - began:.0f} s)",
                file=sys.stderr,
            )
            reports.append((str(folder), report))
    merged = score.by_condition(reports)
    print(
        f"{args.style} scenes, seeds {args.seeds}, {args.disposals} disposals each"
        + (f", {overrides}" if overrides else "")
    )
    print(score.format_conditions(merged))
    if args.json:
        args.json.write_text(json.dumps({"scenes": dict(reports), "conditions": merged}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
