"""``binwatch eval``: how good a model is on a labelled set, and how fast at batch 1.

Works with anything that has ``meta`` (labels, categories, preprocess, version) and
``probabilities(batch)``: the ONNX ``Classifier`` here, or a PyTorch checkpoint wrapped
by ``training.checkpoint_classifier``.

Besides the photos as they are, the set is degraded on the fly as a bin camera would see it
(``datasets/conditions.py``): shrunk into each crop-size bucket the edge produces, and, at the
edge's median crop size, blurred, dimmed, compressed, half-covered by a hand, bagged. Each
image is degraded the same way for the same seed, so two models are compared on equal terms
and a regression on small or dim crops shows. The precision/coverage curve says what the
abstain rule trades: the share of predictions acted on against how often they are right.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets import conditions
from binwatch.datasets.images import ImageDecodeError
from binwatch.datasets.manifest import SampleSet
from binwatch.inference.calibration import abstains, coverage_curve, rule_text
from binwatch.inference.metrics import category_report, item_report


def decode_all(samples: SampleSet, indices, preprocess, pool: ThreadPoolExecutor):
    """Preprocessed arrays for ``indices``; an undecodable file gives ``None``."""

    def one(i):
        try:
            return preprocess(samples.store.read_rgb(samples.samples[i].path))
        except (ImageDecodeError, OSError):
            return None

    return list(pool.map(one, indices))


def evaluate(classifier, samples: SampleSet, batch_size: int = 64, latency_images: int = 100) -> dict:
    meta = classifier.meta
    categories, labels = meta.categories, meta.labels
    item_probs: list[np.ndarray] = []
    cat_probs: list[np.ndarray] = []
    kept: list[int] = []
    unreadable = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(0, len(samples), batch_size):
            indices = range(start, min(start + batch_size, len(samples)))
            arrays = decode_all(samples, indices, meta.preprocess, pool)
            good = [(i, a) for i, a in zip(indices, arrays, strict=True) if a is not None]
            unreadable += len(arrays) - len(good)
            if not good:
                continue
            p_item, p_cat = classifier.probabilities(np.stack([a for _, a in good]))
            item_probs.append(p_item)
            cat_probs.append(p_cat)
            kept.extend(i for i, _ in good)
    if not kept:
        raise ValueError("no readable images to evaluate")
    p_item, p_cat = np.concatenate(item_probs), np.concatenate(cat_probs)
    used = [samples.samples[i] for i in kept]
    y_cat = np.array([categories.index(s.category) for s in used])
    report = {"model": meta.version, "precision": meta.precision, "images": len(used), "unreadable": unreadable}
    report.update(category_report(p_cat, y_cat, categories))
    # Items the model has a label for: a model of an older taxonomy is scored on categories for the rest.
    with_item = np.array([s.item in labels for s in used])
    if with_item.any():
        y_item = np.array([labels.index(s.item) for s in used if s.item in labels])
        report["item"] = item_report(p_item[with_item], y_item, labels)
        report["item"]["images"] = int(with_item.sum())
    report["per_source_accuracy"] = per_source_accuracy(used, p_cat.argmax(1) == y_cat)
    report["coverage_curve"] = coverage_curve(p_cat, y_cat)
    threshold = meta.calibration.abstain_below
    if threshold is not None:
        acted = ~abstains(p_cat.max(1), threshold)
        report["abstain"] = {
            "threshold": threshold,
            "target_precision": meta.calibration.precision,
            "coverage": float(acted.mean()),
            "precision": float((p_cat.argmax(1) == y_cat)[acted].mean()) if acted.any() else None,
        }
    if latency_images:
        report["latency_ms"] = latency(classifier, samples, kept[:latency_images])
    return report


def degraded(
    classifier, samples: SampleSet, limit: int, seed: int = 0, side: int = conditions.EDGE_MEDIAN_SIDE
) -> dict:
    """Category accuracy by crop-size bucket and by camera condition, on up to ``limit`` images
    (a seeded draw), each degraded deterministically for ``seed``."""
    meta = classifier.meta
    rng = np.random.default_rng(seed)
    picked = sorted(rng.permutation(len(samples))[:limit].tolist())
    sizes: defaultdict[str, list[tuple[np.ndarray, int]]] = defaultdict(list)
    looks: defaultdict[str, list[tuple[np.ndarray, int]]] = defaultdict(list)

    def views(i: int):
        try:
            rgb = samples.store.read_rgb(samples.samples[i].path)
        except (ImageDecodeError, OSError):
            return None
        draw = np.random.default_rng([seed, i])
        long_side = max(rgb.shape[:2])
        by_size = []
        for _, low, high in conditions.SIZE_BUCKETS:
            shrunk = conditions.resize_long_side(rgb, min(int(draw.integers(low, high)), long_side))
            by_size.append((conditions.bucket_of(max(shrunk.shape[:2])), meta.preprocess(shrunk)))
        base = conditions.resize_long_side(rgb, min(side, long_side))
        by_look = [
            (name, meta.preprocess(condition(base, np.random.default_rng([seed, i, k]))))
            for k, (name, condition) in enumerate(conditions.CONDITIONS.items())
        ]
        return by_size, by_look

    with ThreadPoolExecutor(max_workers=4) as pool:
        for i, made in zip(picked, pool.map(views, picked), strict=True):
            if made is None:
                continue
            y = meta.categories.index(samples.samples[i].category)
            for bucket, array in made[0]:
                sizes[bucket].append((array, y))
            for name, array in made[1]:
                looks[name].append((array, y))
    order = [name for name, _, _ in conditions.SIZE_BUCKETS]
    return {
        "images": len(picked),
        "seed": seed,
        "condition_side": side,
        "by_size": {b: _scored(classifier, sizes[b]) for b in order if sizes[b]},
        "by_condition": {name: _scored(classifier, looks[name]) for name in conditions.CONDITIONS if looks[name]},
    }


def _scored(classifier, pairs: list[tuple[np.ndarray, int]], batch_size: int = 64) -> dict:
    y = np.array([label for _, label in pairs])
    probs = [
        classifier.probabilities(np.stack([a for a, _ in pairs[start : start + batch_size]]))[1]
        for start in range(0, len(pairs), batch_size)
    ]
    report = category_report(np.concatenate(probs), y, classifier.meta.categories)
    recall = {c: v["recall"] for c, v in report["per_category"].items() if v["support"]}
    return {"images": len(y), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "recall": recall}


def per_source_accuracy(samples, correct: np.ndarray) -> dict[str, float]:
    """Category accuracy per data source: a model that learned a background shows up here."""
    hits: defaultdict[str, int] = defaultdict(int)
    totals: Counter[str] = Counter()
    for sample, ok in zip(samples, correct, strict=True):
        totals[sample.source or "?"] += 1
        hits[sample.source or "?"] += int(ok)
    return {source: hits[source] / n for source, n in sorted(totals.items())}


def latency(classifier, samples: SampleSet, indices: list[int]) -> dict:
    """Milliseconds per image at batch 1, preprocessing from decoded pixels included."""
    images = [samples.store.read_rgb(samples.samples[i].path) for i in indices]
    preprocess = classifier.meta.preprocess
    for image in images[:5]:
        classifier.probabilities(preprocess(image)[None])
    times = []
    for image in images:
        t0 = time.perf_counter()
        classifier.probabilities(preprocess(image)[None])
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"batch": 1, "images": len(times), "median": float(np.median(times)), "p95": float(np.percentile(times, 95))}


def confusion_png(matrix: list[list[int]], names: list[str], path: Path, title: str = "") -> None:
    """Row-normalised confusion matrix (truth in rows) with counts, drawn with OpenCV."""
    cm = np.asarray(matrix, dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n, cell, left, top = len(names), 90, 140, 70
    canvas = np.full((top + n * cell + 40, left + n * cell + 20, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(canvas, title or "confusion matrix (rows: truth)", (10, 25), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for j, name in enumerate(names):
        cv2.putText(canvas, name[:11], (left + j * cell + 4, top - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for i, name in enumerate(names):
        cv2.putText(canvas, name[:14], (8, top + i * cell + cell // 2), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j in range(n):
            shade = int(255 - 200 * rows[i, j])
            x, y = left + j * cell, top + i * cell
            cv2.rectangle(canvas, (x, y), (x + cell - 2, y + cell - 2), (255, shade, shade), -1)
            colour = (255, 255, 255) if rows[i, j] > 0.6 else (0, 0, 0)
            text = f"{int(cm[i, j])}"
            cv2.putText(canvas, text, (x + 8, y + 40), font, 0.55, colour, 1, cv2.LINE_AA)
            cv2.putText(canvas, f"{rows[i, j]:.0%}", (x + 8, y + 65), font, 0.45, colour, 1, cv2.LINE_AA)
    cv2.imwrite(str(path), canvas)


def format_table(report: dict) -> str:
    lines = [
        f"model {report['model']} ({report['precision']}), {report['images']} images"
        f"{', ' + str(report['unreadable']) + ' unreadable' if report['unreadable'] else ''}",
        f"category accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   ECE {report['ece']:.4f}",
        "",
        f"{'category':<12}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}",
    ]
    for name, v in report["per_category"].items():
        lines.append(f"{name:<12}{v['precision']:>10.4f}{v['recall']:>10.4f}{v['f1']:>10.4f}{v['support']:>10}")
    if "item" in report:
        item = report["item"]
        lines += ["", f"item accuracy {item['accuracy']:.4f}   item macro-F1 {item['macro_f1']:.4f}"]
        worst = sorted(report["item"]["recall"].items(), key=lambda kv: kv[1])[:8]
        lines.append("lowest item recall: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
    lines += ["", "precision (accuracy of the predictions acted on) against coverage, by confidence threshold:"]
    lines.append(f"{'threshold':>10}{'coverage':>10}{'precision':>11}")
    for row in report["coverage_curve"][::2]:
        precision = "-" if row["images"] == 0 else f"{row['precision']:.4f}"
        lines.append(f"{row['threshold']:>10.2f}{row['coverage']:>10.4f}{precision:>11}")
    if "abstain" in report:
        a = report["abstain"]
        precision = "-" if a["precision"] is None else f"{a['precision']:.4f}"
        lines.append(
            f"the model {rule_text(a['threshold'])} (chosen for precision {a['target_precision']}): "
            f"here coverage {a['coverage']:.4f}, precision {precision}"
        )
    if "degraded" in report:
        d = report["degraded"]
        lines += ["", f"degraded as a bin camera sees it ({d['images']} images, seed {d['seed']}):"]
        lines.append(f"{'crop long side':<16}{'images':>8}{'accuracy':>10}{'macro-F1':>10}")
        for name, row in d["by_size"].items():
            lines.append(f"{name + ' px':<16}{row['images']:>8}{row['accuracy']:>10.4f}{row['macro_f1']:>10.4f}")
        lines.append(
            f"{'condition at ' + str(d['condition_side']) + ' px':<16}{'images':>8}{'accuracy':>10}{'macro-F1':>10}"
        )
        for name, row in d["by_condition"].items():
            lines.append(f"{name:<16}{row['images']:>8}{row['accuracy']:>10.4f}{row['macro_f1']:>10.4f}")
    if "latency_ms" in report:
        lat = report["latency_ms"]
        lines += ["", f"latency at batch 1, one thread: median {lat['median']:.2f} ms, p95 {lat['p95']:.2f} ms"]
    return "\n".join(lines)
