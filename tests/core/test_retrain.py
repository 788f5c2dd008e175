"""Retraining from reviewed items, and its promotion gate."""

import csv
import json
import shutil

import cv2

from binwatch.training.config import RetrainConfig
from binwatch.training.retrain import decide, retrain


def scores(fixed_f1, review_acc, review_nll=0.5):
    return {
        "fixed": {"macro_f1": fixed_f1, "accuracy": fixed_f1, "item_accuracy": 0.5, "nll": 0.3, "images": 10},
        "reviews": {"accuracy": review_acc, "item_accuracy": 0.5, "nll": review_nll, "macro_f1": 0.0, "images": 4},
    }


def test_gate_promotes_only_not_worse_and_better():
    assert decide(scores(0.90, 0.5), scores(0.90, 0.75), 0.0)[0]
    assert not decide(scores(0.90, 0.5), scores(0.89, 0.75), 0.0)[0]
    assert decide(scores(0.90, 0.5), scores(0.895, 0.75), 0.01)[0]
    assert not decide(scores(0.90, 0.5), scores(0.95, 0.5), 0.0)[0]
    assert decide(scores(0.90, 0.5, 0.4), scores(0.90, 0.5, 0.2), 0.0)[0]
    assert not decide(scores(0.90, 0.5, 0.2), scores(0.90, 0.5, 0.4), 0.0)[0]


def reviews_folder(samples_dir, root):
    """The samples as if supervisors had reviewed them: the collector's export format."""
    rows = list(csv.DictReader((samples_dir / "manifest.csv").open()))
    shutil.copytree(samples_dir / "images", root / "images")
    # A camera sees items otherwise than the catalogue photos: mirror all but the first,
    # which stays byte-identical to a base image and must be dropped as a duplicate.
    for row in rows[1:]:
        path = root / row["path"]
        cv2.imwrite(str(path), cv2.flip(cv2.imread(str(path)), 1))
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=rows[0].keys())
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "source": "review", "group": f"event-{i}"})
    return root


def test_retrain_fine_tunes_judges_and_reports(tiny_run, item_folder, samples_dir, tmp_path):
    reviews = reviews_folder(samples_dir, tmp_path / "reviews")
    cfg = RetrainConfig(
        reviews=str(reviews),
        base=str(item_folder),
        checkpoint=str(tiny_run / "best.pt"),
        out=str(tmp_path / "out"),
        epochs=1,
        batch_size=8,
        device="cpu",
        workers=0,
        version="test-2",
        calibration_images=8,
        min_item_agreement=0.0,
        min_category_agreement=0.0,
        tolerance=1.0,
    )
    report = retrain(cfg)
    saved = json.loads((tmp_path / "out" / "retrain.json").read_text())
    assert saved["candidate"] == "test-2" and saved["current"] == "test-1"
    assert "token" not in saved["config"]
    for side in ("current_scores", "candidate_scores"):
        assert saved[side]["reviews"]["images"] > 0 and saved[side]["fixed"]["images"] > 0
    assert report["promoted"] == decide(report["current_scores"], report["candidate_scores"], 1.0)[0]
    if report["promoted"]:
        assert report["export"]["version"] == "test-2"
    assert saved["training_images"]["duplicates_removed"] <= 1
    train_stats = json.loads((tmp_path / "out" / "train" / "data_stats.json").read_text())
    assert train_stats["review_weight"] == 5.0
