"""How long after an item lands does the resident hear about it: the voice at the bin, on a simulated scene.

Runs the edge agent over a ``binwatch scenario`` video with an announcer whose player is a real command
(``true`` by default: spawning it is the cost a player's start-up adds) and the rate limits off, so that
every flagged verdict is announced. Each announcement is matched to the disposal of its bin that landed
last before it (the truth's ``t``), and the time from landing to the player's start is split in two:

* verdict: landing → the frame on which the agent concluded the disposal (scene time: the box keeps up
  with its camera ~10× over, ``benchmarks/edge_pipeline.py``);
* voice: the verdict handed over → the player started (wall time, measured in this process).

    .venv/bin/python benchmarks/announce_latency.py --manifest ../shared/datasets/waste-v1 --disposals 60 --seed 11
    .venv/bin/python benchmarks/announce_latency.py --video scene.mp4 --truth truth.json --config site.toml
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.edge.announce import Announcer, CommandVoice  # noqa: E402
from binwatch.edge.config import AnnounceConfig, load  # noqa: E402
from binwatch.edge.offline import run_offline  # noqa: E402


def scene(args: argparse.Namespace, folder: Path) -> tuple[Path, Path, Path]:
    if args.video:
        return args.video, args.truth, args.config
    from binwatch.edge.simulator.scenario import render_scenario

    made = render_scenario(args.manifest, folder, disposals=args.disposals, seed=args.seed, split=args.split)
    return made.video, made.truth, made.config


def figures(values: list[float]) -> str:
    if not values:
        return "—"
    q = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else values * 19
    return f"median {statistics.median(values):.2f} s, p95 {q[18]:.2f} s, max {max(values):.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=str(ROOT.parent / "shared/datasets/waste-v1"))
    parser.add_argument("--disposals", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--split", default="val")
    parser.add_argument("--video", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--player", nargs="+", default=["true"], help="the player command (default: true)")
    parser.add_argument("--settle", type=float, help="override thresholds.settle_s (a sensitivity check)")
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    if args.video and not (args.truth and args.config):
        parser.error("--video needs --truth and --config")

    with tempfile.TemporaryDirectory(prefix="announce-latency-") as tmp:
        video, truth_file, config_file = scene(args, Path(tmp))
        config = load(config_file)
        if args.settle is not None:
            config = config.model_copy(
                update={"thresholds": config.thresholds.model_copy(update={"settle_s": args.settle})}
            )
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        start = datetime.fromisoformat(truth["start_time"])
        settings = AnnounceConfig(enabled=True, command=args.player, repeat_after_s=0, min_gap_s=0, max_delay_s=60)
        announcer = Announcer(settings, CommandVoice(settings), config.schedule.timezone)
        run_offline(config, video, start_time=start, announcer=announcer)
        announcer.close()

    landings = sorted((start + timedelta(seconds=d["t"]), d["bin_id"], bool(d["flags"])) for d in truth["disposals"])
    verdict, voice, total, false_alarms, heard = [], [], [], 0, set()
    for spoken in announcer.spoken:
        a = spoken.announcement
        before = [x for x in landings if x[1] == a.bin_id and x[0] <= a.at]
        if not before:
            continue
        landed, _bin, flagged = before[-1]
        false_alarms += not flagged
        heard.add((landed, a.bin_id))
        verdict.append((a.at - landed).total_seconds())
        voice.append(spoken.started - a.handed_at)
        total.append(verdict[-1] + voice[-1])
    flagged_truth = sum(1 for x in landings if x[2])
    within = sum(t <= 1.0 for t in total)
    report = {
        "disposals": len(landings),
        "flagged_in_truth": flagged_truth,
        "announced": len(announcer.spoken),
        "announced_flagged": len(heard) - false_alarms,
        "announced_unflagged": false_alarms,
        "within_1s": within,
        "verdict_s": verdict,
        "voice_s": voice,
        "total_s": total,
        "settle_s": config.thresholds.settle_s,
        "player": args.player,
        "seed": None if args.video else args.seed,
    }
    print(
        f"scene: {len(landings)} disposals, {flagged_truth} flagged in the truth; settle_s {config.thresholds.settle_s}"
    )
    print(
        f"announced {len(announcer.spoken)}: {report['announced_flagged']} flagged, {false_alarms} not flagged in truth"
    )
    print(f"landing → verdict (scene time): {figures(verdict)}")
    print(f"verdict → player started (wall): {figures(voice)}")
    print(f"landing → announcement:         {figures(total)}; within 1 s: {within} of {len(total)}")
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
