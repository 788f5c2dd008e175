"""What a model must pass before the box runs it, at start as at roll-out.

A file with binwatch metadata can still be unusable: a graph whose input is not the size its
metadata promises, or with the wrong number of outputs (``Classifier`` refuses those when it
loads), or that gives something other than probabilities. Loaded unchecked, it fails at the
first disposal (which is lost) and again after every restart. Checked here, it is refused before
the first frame: at start with one line and a non-zero exit, at roll-out by discarding the download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from binwatch.inference.classifier import Classifier


class Rejected(ValueError):
    """Not a usable model."""


def verified(path: Path, version: str | None = None) -> Classifier:
    """The model at ``path``, loaded, checked and smoke-tested (and calling itself ``version``, when
    one is expected); else ``Rejected`` saying why."""
    try:
        classifier = Classifier(path, threads=1)
        if version is not None and classifier.version != version:
            raise ValueError(f"its metadata calls it {classifier.version!r}, not {version!r}")
        smoke_test(classifier)
    except Exception as exc:  # any failure to load or run means: not this model
        raise Rejected(f"{path} does not load or run: {exc}") from exc
    return classifier


def smoke_test(classifier: Classifier) -> None:
    """One prediction on a synthetic image: finite probabilities of the shapes the metadata names (the
    graph's own shapes may leave them open)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    items, categories = classifier.probabilities(classifier.preprocess.batch([image]))
    if items.shape != (1, len(classifier.meta.labels)) or categories.shape != (1, len(classifier.meta.categories)):
        raise ValueError(
            f"it gives outputs of shapes {items.shape} and {categories.shape}, but its metadata names "
            f"{len(classifier.meta.labels)} items and {len(classifier.meta.categories)} categories"
        )
    if not (np.isfinite(items).all() and np.isfinite(categories).all() and abs(float(categories.sum()) - 1.0) < 1e-2):
        raise ValueError("its outputs are not probabilities")
