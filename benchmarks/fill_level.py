"""CPU time of measuring one bin's contents: the fill level (``coverage``) and the rim (``rim_hidden``).

.venv/bin/python benchmarks/fill_level.py --scene runs/heap/oblique-overflow-16-20 --frame 300
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.edge import config as site_config  # noqa: E402
from binwatch.edge.contents import coverage, rim_hidden, rim_look  # noqa: E402
from binwatch.edge.foreground import OpeningWatch  # noqa: E402
from binwatch.edge.motion import MOTION_WIDTH  # noqa: E402
from binwatch.edge.region import Region, View  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, required=True, help="a folder with scene.mp4 and site.toml")
    parser.add_argument("--frame", type=int, default=300)
    parser.add_argument("--bin", type=int, default=0, help="index of the bin in site.toml")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    site = site_config.load(args.scene / "site.toml")
    capture = cv2.VideoCapture(str(args.scene / "scene.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, args.frame)
    ok, frame = capture.read()
    if not ok:
        parser.error(f"no frame {args.frame} in {args.scene / 'scene.mp4'}")
    height, width = frame.shape[:2]
    scale = MOTION_WIDTH / width
    polygon = site.bins[args.bin].polygon
    watch = OpeningWatch(polygon, scale, (MOTION_WIDTH, round(height * scale)), 18)
    region = Region(polygon, watch.window, scale, (width, height))
    view = View(datetime.now(), region.cut(frame), 1.0)
    clear = rim_look(view, region)
    for name, measure in (
        ("coverage", lambda: coverage(view, region)),
        ("rim", lambda: rim_hidden(rim_look(view, region), clear, view, region)),
    ):
        began = time.process_time()
        for _ in range(args.repeat):
            measure()
        print(f"{name}: {(time.process_time() - began) / args.repeat * 1000:.2f} ms CPU, region {region.shape}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
