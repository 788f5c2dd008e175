"""The demo's image set (``edge/simulator/samples``): a few validation photos of every item.

A demo scene should show the flags working, not the model's mistakes, so for each item the
photos that the release model classifies correctly and confidently are preferred, both as the
photo and as it looks lying in a bin. Every item gets one photo; the kitchen items and the
kitchen-bin contaminants get a second, since the kitchen bin is where the flags are; the rest
is filled category by category. Rebuild with::

    python -m edge.simulator.samples --manifest /work/shared/datasets/waste-v1 --out edge/simulator/samples
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from itertools import cycle
from pathlib import Path

import numpy as np

from binwatch.datasets import taxonomy
from binwatch.datasets.images import decode_image, encode_jpeg, fit_within
from binwatch.datasets.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, Sample, SampleSet, load
from binwatch.edge.simulator import items, sprite
from binwatch.edge.simulator.oblique import LINER

IN_BIN_SIZE = 64  # long side of an item lying in a bin of the default 1280×720 scene (real sizes)
CROP_MARGIN = 0.12  # context around the item, as an edge agent's crop has


def build(
    data: SampleSet,
    out: Path,
    count: int = 40,
    max_side: int = 160,
    quality: int = 80,
    candidates: int = 12,
    seed: int = 0,
    model: Path | None = None,
) -> list[dict]:
    """Write ``out/images/<item>/*.jpg`` and ``out/manifest.csv``; returns the manifest rows."""
    from binwatch.inference.classifier import Classifier, default_model_path

    classifier = Classifier(model or default_model_path())
    rng = np.random.default_rng(seed)
    by_item = items.by_item(items.usable_samples(data, "val"))
    ranked: dict[str, list[tuple[Sample, bytes, float]]] = {}
    for item in sorted(by_item, key=taxonomy.ITEM_KEYS.index):
        pool = by_item[item]
        picked = [pool[i] for i in rng.permutation(len(pool))[:candidates]]
        shipped = [encode_jpeg(fit_within(data.store.read_rgb(s.path), max_side), quality) for s in picked]
        photos = [decode_image(jpeg) for jpeg in shipped]
        predictions = classifier.predict(photos + [_in_bin(p) for p in photos])
        scored = []
        for k, (sample, jpeg) in enumerate(zip(picked, shipped, strict=True)):
            photo, in_bin = predictions[k], predictions[k + len(picked)]
            if photo.item == item and photo.category == in_bin.category == sample.category:
                scored.append((sample, jpeg, min(photo.category_score, in_bin.category_score)))
        ranked[item] = sorted(scored, key=lambda x: -x[2])
    chosen = _choose(ranked, count)
    return _write(data, out, chosen)


def _in_bin(rgb: np.ndarray) -> np.ndarray:
    """The photo as it lies in a bin of a scene: cut out, on the liner, with a little margin."""
    item = sprite.cut_out(rgb, IN_BIN_SIZE)
    w, h = item.size
    m = round(CROP_MARGIN * max(w, h))
    canvas = np.empty((h + 2 * m, w + 2 * m, 3), np.uint8)
    canvas[:] = LINER
    sprite.paste(canvas, item, (w / 2 + m, h / 2 + m))
    return canvas[:, :, ::-1].copy()


def _choose(ranked: dict[str, list[tuple[Sample, bytes, float]]], count: int) -> list[tuple[Sample, bytes, float]]:
    quota = {
        item: 1 + (taxonomy.category_of(item) == "kitchen" or taxonomy.is_kitchen_contaminant(item)) for item in ranked
    }
    chosen = [entry for item, entries in ranked.items() for entry in entries[: quota[item]]][:count]
    taken = {id(entry) for entry in chosen}
    spare = {
        c: [e for item in ranked if taxonomy.category_of(item) == c for e in ranked[item] if id(e) not in taken]
        for c in taxonomy.CATEGORY_KEYS
    }
    for category in cycle(taxonomy.CATEGORY_KEYS):
        if len(chosen) >= count or not any(spare.values()):
            break
        if spare[category]:
            best = max(spare[category], key=lambda e: e[2])
            spare[category].remove(best)
            chosen.append(best)
    return chosen


def _write(data: SampleSet, out: Path, chosen: list[tuple[Sample, bytes, float]]) -> list[dict]:
    manifest = out / MANIFEST_NAME
    if manifest.is_file():  # drop the images of a previous build, and only those
        with manifest.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                (out / row["path"]).unlink(missing_ok=True)
    rows = []
    for sample, jpeg, _ in sorted(chosen, key=lambda e: (taxonomy.ITEM_KEYS.index(e[0].item), e[0].path)):
        digest = hashlib.sha256(jpeg).hexdigest()
        path = f"images/{sample.item}/{digest[:12]}.jpg"
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(jpeg)
        h, w = decode_image(jpeg).shape[:2]
        rows.append(
            {
                "path": path,
                "category": sample.category,
                "item": sample.item,
                "source": sample.source,
                "source_class": "",
                "width": w,
                "height": h,
                "sha256": digest,
                "orig_path": sample.path,
                "orig_sha256": hashlib.sha256(data.store.read_bytes(sample.path)).hexdigest(),
                "group": sample.group,
            }
        )
    with manifest.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="the full data set (its validation split is used)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "samples")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--model", type=Path, help="ONNX model; default: the release model")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = build(load(args.manifest), args.out, args.count, model=args.model)
    missing = sorted(set(taxonomy.ITEM_KEYS) - {r["item"] for r in rows})
    print(
        f"{args.out}: {len(rows)} images, {len({r['item'] for r in rows})} items"
        + (f"; no confident photo of {', '.join(missing)}" if missing else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
