"""Edge pipeline benchmark: frames per second on one CPU core for a 1280×720 video.

Pins itself to one core (``sched_setaffinity``), sets OpenCV to one thread and the ONNX
session to one intra-op thread, then times, over the same video:

1. decoding alone;
2. the whole agent: motion, each opening's background and rim test, the footage kept during a
   disposal, the clear views, the clip ring buffer, item isolation, classification of the
   consensus crops, flag rules, evidence files (snapshot, crop, MP4 clip) and the SQLite
   outbox commit; nothing is sent. Its own per-stage timing says what each stage costs: per
   frame (``motion``, ``openings``, ``footage``, ``views``, ``ground`` when the site has
   ``[[zones]]``, ``buffer``) and per disposal
   (``isolate``, ``classify`` per item, ``evidence``);
3. the same end to end, decoding included: what the box sustains from a camera file.

Frame rates are given twice: by the wall clock, and by the CPU time the process used
(``process_time``), which a machine shared with other work inflates less; the stages are
timed by CPU time, each also spread over all frames (``per_frame_ms``: a disposal's stages
cost per frame what they cost per run times how often they ran), so what dominates per frame
shows whether it runs every frame or per disposal. ``--repeats N`` runs the agent N times over
the same video and gives each figure's median and its spread (min, max): on a shared machine
one run says little.

Without ``--video`` it renders a synthetic 720p drop-off scene (three bins, an arm dropping
validation photos, a passer-by, sensor noise) at 15 fps with a disposal every few seconds;
``--video scene.mp4 --config site.toml`` takes a ``binwatch scenario`` scene instead.

    .venv/bin/python benchmarks/edge_pipeline.py --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.edge.agent import Agent, load_classifier  # noqa: E402
from binwatch.edge.config import load  # noqa: E402
from binwatch.edge.offline import OFFLINE_START  # noqa: E402
from binwatch.edge.outbox import Outbox  # noqa: E402
from binwatch.edge.storage import Layout  # noqa: E402
from binwatch.edge.timing import Timing  # noqa: E402
from tests.edge import scene  # noqa: E402

RATES = ("agent_fps", "agent_cpu_fps", "end_to_end_fps", "end_to_end_cpu_fps")  # and the per-frame stages:
RATES += ("per_frame_stages_ms", "per_frame_stages_fps")
PER_FRAME = ("motion", "openings", "footage", "views", "ground", "buffer")  # the stages every frame goes through
ITEMS = ("plastic_bottle", "fruit_peel", "battery", "plastic_bag", "cardboard", "disposable_tableware", "food_waste")


def synthetic(folder: Path, seconds: float, fps: float) -> tuple[Path, list[scene.Drop]]:
    bins = [b for b, _, _ in scene.BINS]
    drops = [
        scene.Drop(2.5 + 3.2 * i, bins[i % len(bins)], ITEMS[i % len(ITEMS)]) for i in range(int((seconds - 4) / 3.2))
    ]
    return scene.render(folder / "scene-720p.mp4", drops, seconds, scale=2, fps=fps), drops


def frames(video: Path):
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 15.0
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        yield frame, OFFLINE_START + timedelta(seconds=index / fps)
        index += 1
    capture.release()


def decode_fps(video: Path) -> tuple[float, int]:
    start, count = time.perf_counter(), 0
    for _ in frames(video):
        count += 1
    return count / (time.perf_counter() - start), count


def agent_fps(video: Path, config) -> dict:
    outbox = Outbox(Layout(config.storage.dir))
    timing = Timing(clock=time.process_time)
    agent = Agent(config, load_classifier(config), outbox=outbox, timing=timing)
    processing = cpu = 0.0
    wall, cpu_all = time.perf_counter(), time.process_time()
    for frame, t in frames(video):
        start, start_cpu = time.perf_counter(), time.process_time()
        agent.process(frame, t)
        processing += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    agent.close()
    wall, cpu_all = time.perf_counter() - wall, time.process_time() - cpu_all
    count = agent.counts["frames"]
    stages = timing.mean_ms()
    for figures in stages.values():
        figures["per_frame_ms"] = round(figures["mean_ms"] * figures["runs"] / count, 3)
    per_frame = sum(stages[s]["mean_ms"] for s in PER_FRAME if s in stages)
    result = {
        "agent_fps": round(count / processing, 1),
        "agent_cpu_fps": round(count / cpu, 1),
        "end_to_end_fps": round(count / wall, 1),
        "end_to_end_cpu_fps": round(count / cpu_all, 1),
        "per_frame_stages_ms": round(per_frame, 3),
        "per_frame_stages_fps": round(1000.0 / per_frame, 1),
        "counts": agent.counts,
        "stages": stages,
    }
    outbox.close()
    return result


def repeated(runs: list[dict]) -> dict:
    """One run's figures as they are; several runs' as the median, with the spread of each rate."""
    if len(runs) == 1:
        return runs[0]
    result = {"repeats": len(runs)}
    for key in RATES:
        values = [run[key] for run in runs]
        result[key] = statistics.median(values)
        result[f"{key}_spread"] = [min(values), max(values)]
    result["counts"] = runs[0]["counts"]
    result["stages"] = {
        stage: {
            key: round(statistics.median(run["stages"][stage][key] for run in runs), 3)
            for key in ("mean_ms", "per_frame_ms")
        }
        | {"runs": figures["runs"]}
        for stage, figures in runs[0]["stages"].items()
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="a 1280x720 video (default: render a synthetic scene)")
    parser.add_argument("--config", type=Path, help="the site.toml of --video (its bins)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic scene")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of the synthetic scene")
    parser.add_argument("--core", type=int, default=0, help="the CPU core to pin to")
    parser.add_argument("--repeats", type=int, default=1, help="runs of the agent: the median and the spread of each")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if bool(args.video) != bool(args.config):
        parser.error("--video and --config go together")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    os.sched_setaffinity(0, {args.core})
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video, drops = (args.video, None) if args.video else synthetic(folder, args.seconds, args.fps)
        config = load(args.config) if args.config else scene.site(folder, video, scale=2)
        config = config.model_copy(update={"storage": config.storage.model_copy(update={"dir": folder / "store"})})
        decoded, count = decode_fps(video)
        capture = cv2.VideoCapture(str(video))
        size = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
        capture.release()
        figures = {
            "video": str(args.video or "synthetic"),
            "size": size,
            "frames": count,
            "drops": len(drops) if drops else None,
            "cpu": _cpu(),
            "core": args.core,
            "decode_fps": round(decoded, 1),
            **repeated([agent_fps(video, config) for _ in range(args.repeats)]),
        }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
