"""What a model must pass before the box runs it, at start as at roll-out.

A file with binwatch metadata can still be unusable: a graph whose input is not the size its
metadata promises, or with the wrong number of outputs, or that gives something other than
probabilities. Loaded unchecked, it fails at the first disposal (which is lost) and again
after every restart. Checked here, it is refused before the first frame: at start with one
line and a non-zero exit, at roll-out by discarding the download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from binwatch.inference.classifier import Classifier

OUTPUTS = 2  # item probabilities, category probabilities


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
    """The graph's input and outputs against the metadata, then one prediction on a synthetic image:
    finite probabilities of the right shapes."""
    inputs, outputs = classifier.session.get_inputs(), classifier.session.get_outputs()
    size = classifier.preprocess.size
    expected = [3, size, size]
    if len(inputs) != 1 or any(
        isinstance(dim, int) and dim != want for dim, want in zip(inputs[0].shape[1:], expected, strict=False)
    ):
        raise ValueError(f"its input is {[i.shape for i in inputs]}, but its metadata says images of 3×{size}×{size}")
    if len(outputs) != OUTPUTS:
        raise ValueError(f"it has {len(outputs)} outputs, not {OUTPUTS} (item and category probabilities)")
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
