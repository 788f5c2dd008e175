"""Calibration: temperature scaling, the abstain threshold, and both in a model's metadata."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from binwatch.datasets import manifest, taxonomy
from binwatch.inference.calibration import (
    Calibration,
    abstain_threshold,
    abstains,
    coverage_curve,
    fit,
    fit_temperature,
    tempered,
)
from binwatch.inference.classifier import Classifier
from binwatch.inference.metrics import expected_calibration_error

LABELS = list(taxonomy.ITEM_KEYS)
TO_CATEGORY = taxonomy.category_matrix(LABELS, list(taxonomy.CATEGORY_KEYS))


def overconfident(n: int, true_temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Item probabilities of a model whose logits are ``true_temperature`` times too sharp, and
    category labels drawn from the calibrated distribution: what a fitted T must undo."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, len(LABELS)))
    calibrated = np.exp(logits - logits.max(1, keepdims=True))
    calibrated /= calibrated.sum(1, keepdims=True)
    y_item = np.array([rng.choice(len(LABELS), p=p) for p in calibrated])
    sharp = np.exp(true_temperature * (logits - logits.max(1, keepdims=True)))
    return (sharp / sharp.sum(1, keepdims=True)).astype(np.float32), TO_CATEGORY.argmax(1)[y_item]


def test_temperature_one_changes_nothing_and_others_keep_the_ranking():
    p, _ = overconfident(50, 2.0)
    items, categories = tempered(p, TO_CATEGORY, 1.0)
    assert items is p and np.allclose(categories, p @ TO_CATEGORY)
    soft, soft_categories = tempered(p, TO_CATEGORY, 2.0)
    assert (soft.argmax(1) == p.argmax(1)).all() and np.allclose(soft.sum(1), 1, atol=1e-5)
    assert soft.max(1).mean() < p.max(1).mean()  # softer
    assert np.allclose(soft_categories.sum(1), 1, atol=1e-5)
    # The top category stays too, also where softened items of a category with many items would
    # outweigh one confident item of a category with few.
    pill = np.full((1, len(LABELS)), 0.3 / (len(LABELS) - 1), np.float32)
    pill[0, LABELS.index("medicine")] = 0.7
    for t in (0.5, 2.0, 3.0, 8.0):
        _, categories = tempered(pill, TO_CATEGORY, t)
        assert taxonomy.CATEGORY_KEYS[int(categories.argmax())] == "hazardous"
    assert (soft_categories.argmax(1) == (p @ TO_CATEGORY).argmax(1)).all()


def test_a_fitted_temperature_undoes_overconfidence():
    p, y = overconfident(3000, 2.5)
    t = fit_temperature(p, y, TO_CATEGORY)
    assert 2.0 < t < 3.1
    before = expected_calibration_error(p @ TO_CATEGORY, y)
    after = expected_calibration_error(tempered(p, TO_CATEGORY, t)[1], y)
    assert after < 0.03 < before


def test_the_threshold_gives_the_precision_it_was_chosen_for():
    p, y = overconfident(2000, 1.0, seed=1)
    categories = p @ TO_CATEGORY
    threshold = abstain_threshold(categories, y, 0.9)
    assert threshold is not None
    acted = categories.max(1) >= threshold
    assert (categories.argmax(1) == y)[acted].mean() >= 0.9
    # The lowest such threshold: one step lower and the precision falls below the target.
    lower = categories.max(1) >= np.sort(categories.max(1)[categories.max(1) < threshold])[-1]
    assert (categories.argmax(1) == y)[lower].mean() < 0.9
    # Unreachable: the model is to abstain on every prediction, whatever its confidence.
    assert abstain_threshold(categories, y, 1.01) == 1.0
    assert abstains(np.array([0.2, 0.999, 1.0]), 1.0).all() and abstains(1.0, 1.0)
    assert not abstains(np.array([0.2, 1.0]), None).any() and list(abstains([0.5, 0.7], 0.6)) == [True, False]
    curve = coverage_curve(categories, y)
    coverages = [row["coverage"] for row in curve]
    assert coverages[0] == 1.0 and coverages == sorted(coverages, reverse=True)


def test_fit_reports_what_it_did():
    p, y = overconfident(1500, 2.0, seed=2)
    calibration, summary = fit(p, y, TO_CATEGORY, 0.9, "synthetic")
    assert calibration.temperature > 1.5 and calibration.precision == 0.9
    assert summary["ece_after"] < summary["ece_before"] and summary["precision"] >= 0.9
    assert Calibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration
    with pytest.raises(ValueError, match="unknown calibration field"):
        Calibration.from_dict({"temperature": 1.0, "bias": 2})
    with pytest.raises(ValueError, match="out of range"):
        Calibration(temperature=0.0)


def _with_props(src, dst, **changes) -> None:
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    del model.metadata_props[:]
    for key, value in {**props, **changes}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(dst))


def test_inference_applies_the_models_calibration_and_old_models_have_none(release_pair, samples_dir, tmp_path):
    _, fp32, _ = release_pair
    plain = Classifier(fp32)
    assert plain.meta.calibration == Calibration()  # 2026.11.26 predates calibration: raw scores, never abstains
    cal = Calibration(temperature=2.0, abstain_below=0.7, precision=0.9, fitted_on="test")
    _with_props(fp32, tmp_path / "calibrated.onnx", **{"binwatch.calibration": json.dumps(cal.to_dict())})
    calibrated = Classifier(tmp_path / "calibrated.onnx")
    assert calibrated.meta.calibration == cal
    data = manifest.load(samples_dir)
    batch = plain.preprocess.batch([data.store.read_rgb(s.path) for s in data.samples[:8]])
    raw_items, raw_categories = plain.probabilities(batch)
    items, categories = calibrated.probabilities(batch)
    assert (items.argmax(1) == raw_items.argmax(1)).all()
    assert (items.max(1) < raw_items.max(1)).all()  # softened
    # Categories are softened themselves, not summed from softened items: the top one stays.
    assert (categories.argmax(1) == raw_categories.argmax(1)).all()
    assert (categories.max(1) < raw_categories.max(1)).all()
    _with_props(fp32, tmp_path / "bad.onnx", **{"binwatch.calibration": '{"temperature": -1}'})
    with pytest.raises(ValueError, match="malformed binwatch metadata"):
        Classifier(tmp_path / "bad.onnx")


def test_a_malformed_calibration_says_which_field():
    for data, why in (
        ([1, 2], "expected an object with temperature, abstain_below, precision, fitted_on, not a list"),
        ({"temperature": "hot"}, "temperature 'hot' is not a number"),
        ({"temperature": 1.0, "abstain_below": 7}, "abstain_below 7 is not a probability"),
        ({"precision": None, "fitted_on": 3}, "fitted_on 3 is not text"),
    ):
        with pytest.raises(ValueError) as refused:
            Calibration.from_dict(data)
        assert str(refused.value) == why
    assert Calibration.from_dict(None) == Calibration.from_dict({}) == Calibration()
