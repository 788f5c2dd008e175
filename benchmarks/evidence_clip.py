"""Evidence clip benchmark: the CPU time of one flagged event's clip, on one core.

A flagged event's evidence is dominated by its clip (``edge/README.md``, speed): every frame of
it is decoded from the ring buffer's JPEG, blurred outside the bins and encoded. This takes the
first ``--frames`` frames of a video into a ``ClipBuffer`` as the agent does (at the site's
``clips.fps``), then writes them
as the agent's clip ``--repeats`` times (``clip.write_mp4`` with the site's ``Redactor``) and
prints the median CPU time per clip with its spread, and what two of its steps cost per clip
frame, timed apart (the rest is the conversion to YUV and the encoder).

    .venv/bin/python benchmarks/evidence_clip.py --video D/scene.mp4 --config D/site.toml
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

from binwatch.edge import clip  # noqa: E402
from binwatch.edge.clip import ClipBuffer  # noqa: E402
from binwatch.edge.config import load  # noqa: E402
from binwatch.edge.evidence import Redactor  # noqa: E402
from binwatch.edge.offline import OFFLINE_START  # noqa: E402


def buffered(video: Path, count: int, width: int, clip_fps: float) -> tuple[ClipBuffer, tuple[int, int]]:
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 15.0
    buffer, size = None, (0, 0)
    for index in range(count):
        ok, frame = capture.read()
        if not ok:
            break
        if buffer is None:
            size = (frame.shape[1], frame.shape[0])
            buffer = ClipBuffer(size, width, clip_fps)
        buffer.add(OFFLINE_START + timedelta(seconds=index / fps), frame)
    capture.release()
    if buffer is None or len(buffer) < 2:
        raise SystemExit(f"{video}: fewer than two frames could be read")
    return buffer, size


def cpu_ms(action, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append((time.process_time() - start) * 1000.0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, required=True, help="a camera video (1280x720 in the README)")
    parser.add_argument("--config", type=Path, required=True, help="its site.toml (the bins, the clip settings)")
    parser.add_argument("--frames", type=int, default=150, help="camera frames the clip spans (about 150)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--core", type=int, default=0, help="the CPU core to pin to")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    cv2.setNumThreads(1)
    config = load(args.config)
    buffer, size = buffered(args.video, args.frames, config.clips.width, config.clips.fps)
    frames = buffer.between(OFFLINE_START, OFFLINE_START + timedelta(days=1))
    redact = Redactor(config.bins, size, config.clips.blur_outside_bins)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        clips = cpu_ms(lambda: clip.write_mp4(path, frames, config.clips.codec, redact), args.repeats)
        images = [clip._decode(data) for _, data in frames]
        steps = {
            "jpeg_decode": cpu_ms(lambda: [clip._decode(data) for _, data in frames], args.repeats),
            "redact": cpu_ms(lambda: [redact(image) for image in images], args.repeats),
        }
    per_frame = {step: round(statistics.median(times) / len(frames), 3) for step, times in steps.items()}
    figures = {
        "video": str(args.video),
        "frames": len(frames),
        "clip_size": list(buffer.size),
        "codec": clip.usable_codec(config.clips.codec),
        "clip_cpu_ms": round(statistics.median(clips), 1),
        "clip_cpu_ms_spread": [round(min(clips), 1), round(max(clips), 1)],
        "per_clip_frame_ms": per_frame,
        "load": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
