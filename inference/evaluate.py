"""``binwatch eval``: how good a model is on a labelled set, and how fast at batch 1.

Works with anything that has ``meta`` (labels, categories, preprocess, version) and
``probabilities(batch)``: the ONNX ``Classifier`` here, or a PyTorch checkpoint wrapped
by ``training.checkpoint_classifier``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets.images import ImageDecodeError
from binwatch.datasets.manifest import SampleSet
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
    with_item = np.array([s.item is not None for s in used])
    if with_item.any():
        y_item = np.array([labels.index(s.item) for s in used if s.item is not None])
        report["item"] = item_report(p_item[with_item], y_item, labels)
    report["per_source_accuracy"] = per_source_accuracy(used, p_cat.argmax(1) == y_cat)
    if latency_images:
        report["latency_ms"] = latency(classifier, samples, kept[:latency_images])
    return report


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
    if "latency_ms" in report:
        lat = report["latency_ms"]
        lines += ["", f"latency at batch 1, one thread: median {lat['median']:.2f} ms, p95 {lat['p95']:.2f} ms"]
    return "\n".join(lines)
