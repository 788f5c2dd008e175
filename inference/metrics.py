"""Classification metrics in plain numpy, shared by training's validation and ``binwatch eval``."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Rows are the truth, columns the prediction."""
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)


def per_class(cm: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    }


def macro_f1(report: dict[str, dict[str, float]]) -> float:
    """Mean F1 over the classes that occur in the truth."""
    present = [v["f1"] for v in report.values() if v["support"] > 0]
    return float(np.mean(present)) if present else 0.0


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """Top-1 ECE: the gap between confidence and accuracy, weighted over equal-width bins."""
    if len(y_true) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(ece)


def negative_log_likelihood(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Mean −log p(true class): tells two models apart where a handful of images ties on accuracy."""
    if len(y_true) == 0:
        return 0.0
    return float(-np.log(np.clip(probs[np.arange(len(y_true)), y_true], 1e-7, 1.0)).mean())


def category_report(category_probs: np.ndarray, y_true: np.ndarray, categories: list[str]) -> dict:
    y_pred = category_probs.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, len(categories))
    classes = per_class(cm, categories)
    return {
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": macro_f1(classes),
        "ece": expected_calibration_error(category_probs, y_true),
        "nll": negative_log_likelihood(category_probs, y_true),
        "per_category": classes,
        "confusion_matrix": cm.tolist(),
    }


def item_report(item_probs: np.ndarray, y_true: np.ndarray, labels: list[str]) -> dict:
    """Item-level accuracy and recall per item, for the samples that carry an item label."""
    y_pred = item_probs.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    classes = per_class(cm, labels)
    return {
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": macro_f1(classes),
        "recall": {k: v["recall"] for k, v in classes.items() if v["support"] > 0},
    }
