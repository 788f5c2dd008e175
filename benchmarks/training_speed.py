"""Training speed on this machine: what the CPU recipe costs, stage by stage.

Times, on real images of a data set (default: the shipped samples):

1. camera views: cut-out (masks already cached), bin scene, camera, the agent's crop, per view;
2. the frozen part (stem and the first ``--freeze-blocks`` blocks) at inference, views per second;
3. training the rest on stored features (forward, backward, AdamW step), images per second;
4. for comparison, training the whole network end to end on ready tensors, images per second.

Prints one JSON line. The figures depend on what else the machine runs: the load average is
printed beside them.

    .venv/bin/python benchmarks/training_speed.py --size 160 --freeze-blocks 6 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from binwatch.datasets import manifest, taxonomy  # noqa: E402
from binwatch.datasets.preprocess import Preprocess  # noqa: E402
from binwatch.model.network import create_model, tail, trunk  # noqa: E402
from binwatch.training.camera_views import SceneMaker  # noqa: E402
from binwatch.training.train import freeze_early_blocks  # noqa: E402


def rate(count: int, fn, repeat: int = 3) -> float:
    """Items per second of the best of ``repeat`` runs (the least disturbed by other processes)."""
    fn()
    best = min(_timed(fn) for _ in range(repeat))
    return count / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "edge" / "simulator" / "samples"))
    parser.add_argument("--masks", default="runs/cache/masks")
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--freeze-blocks", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--views", type=int, default=40, help="camera views to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = manifest.load(args.data)
    preprocess = Preprocess(size=args.size)
    scenes = SceneMaker(data, args.masks, preprocess.pad_value)
    images = [data.store.read_rgb(s.path) for s in data.samples[: args.views]]
    for rgb in images:
        scenes.masks.get(rgb)  # cut-outs are cached once per data set; their cost is measured apart
    rng = np.random.default_rng(0)
    view_rate = rate(len(images), lambda: [preprocess(scenes(rgb, rng)) for rgb in images], repeat=2)

    net = create_model(len(taxonomy.ITEM_KEYS), pretrained=False)
    x = torch.randn(args.batch, 3, args.size, args.size)
    net.eval()
    with torch.inference_mode():
        trunk_rate = rate(args.batch, lambda: trunk(net, args.freeze_blocks, x))
    with torch.no_grad():
        features = trunk(net, args.freeze_blocks, x)
    net.train()
    freeze_early_blocks(net, args.freeze_blocks)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad])
    y = torch.randint(len(taxonomy.ITEM_KEYS), (args.batch,))

    def step(inputs, forward) -> None:
        loss = torch.nn.functional.cross_entropy(forward(inputs), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    tail_rate = rate(args.batch, lambda: step(features, lambda f: tail(net, args.freeze_blocks, f)))
    for p in net.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(net.parameters())
    full_rate = rate(args.batch, lambda: step(x, net), repeat=2)
    print(
        json.dumps(
            {
                "size": args.size,
                "freeze_blocks": args.freeze_blocks,
                "threads": args.threads,
                "feature_shape": list(features.shape[1:]),
                "camera_views_per_s": round(view_rate, 1),
                "frozen_part_views_per_s": round(trunk_rate, 1),
                "stored_training_images_per_s": round(tail_rate, 1),
                "end_to_end_training_images_per_s": round(full_rate, 1),
                "load_average": os.getloadavg(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
