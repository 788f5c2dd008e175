"""Source-held-out training on stored features, calibration fitted on held-out sources,
leave-one-source-out, distillation, and export checked on held-out sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from binwatch.datasets import manifest, split, taxonomy
from binwatch.inference.calibration import Calibration
from binwatch.model import checkpoint
from binwatch.model.network import create_model, load_imagenet_backbone, relabel_head
from binwatch.training.export import export
from binwatch.training.train import train
from tests.core.test_training import export_config

HELD = "trashnet,waste-detect"
STORED = {"store_views": 2, "freeze_blocks": 5, "epochs": 2}


def test_whole_sources_are_held_out_with_every_group_that_reaches_into_them(samples_dir):
    samples = [s for s in manifest.load(samples_dir).samples]
    shared = samples[0].group
    # One photo of another source shares a group with a held-out photo (the same can, twice).
    samples = [*samples, manifest.Sample("x.jpg", samples[0].category, samples[0].item, shared, "elsewhere")]
    held = samples[0].source
    train_side, val = split.split_by_source(samples, [held])
    assert {s.source for s in val} == {held} and len(val) == sum(s.source == held for s in samples)
    assert all(s.source != held and s.group != shared for s in train_side)
    with pytest.raises(ValueError, match="unknown source"):
        split.split_by_source(samples, ["nowhere"])
    with pytest.raises(ValueError, match="nothing to train on"):
        split.split_by_source(samples, sorted({s.source for s in samples}))
    assert split.parse_sources(" a, b,,c ") == ["a", "b", "c"] and split.parse_sources(None) == []


@pytest.fixture(scope="session")
def held_out_run(tmp_path_factory, tiny_config, samples_dir) -> Path:
    """Two epochs on stored features with two sources held out."""
    out = tmp_path_factory.mktemp("held")
    train(tiny_config(out, data=str(samples_dir), val_sources=HELD, version="held-1", **STORED))
    return out


def test_a_held_out_run_is_validated_and_calibrated_on_its_held_out_sources(held_out_run):
    kept = np.load(held_out_run / "val_predictions.npz")
    assert set(kept["sources"]) <= set(HELD.split(",")) and len(kept["y_item"]) == len(kept["item_probs"]) > 0
    info = checkpoint.load(held_out_run / "best.pt")["info"]
    calibration = Calibration.from_dict(info["calibration"])
    assert calibration.fitted_on.startswith(f"held-out {HELD}") and calibration.precision == 0.9
    assert "ece_after" in info["metrics"]["calibration_fit"]
    stats = json.loads((held_out_run / "data_stats.json").read_text())
    assert stats["val_sources"] == HELD.split(",") and stats["feature_store"]["images"] == 40


def test_stored_features_are_reused_whatever_share_of_camera_views_is_drawn(held_out_run, tiny_config, samples_dir):
    out = held_out_run.parent / "again"
    train(tiny_config(out, data=str(samples_dir), val_sources=HELD, camera=1.0, **{**STORED, "epochs": 1}))
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["feature_store"]["images"] == 0  # nothing to compute: the same store


def test_a_checkpoint_of_the_older_taxonomy_is_fine_tuned_to_the_newer(
    release_pair, tiny_config, samples_dir, tmp_path
):
    old = checkpoint.load(release_pair[0])
    assert old["info"]["taxonomy_version"] == "zmd-2024.1" and len(old["info"]["labels"]) == 30
    moved = relabel_head(old["state_dict"], old["info"]["labels"], list(taxonomy.ITEM_KEYS))
    weight = moved["classifier.weight"]
    for row, label in enumerate(taxonomy.ITEM_KEYS):
        if label in old["info"]["labels"]:
            assert torch.equal(weight[row], old["state_dict"]["classifier.weight"][old["info"]["labels"].index(label)])
        else:
            assert not weight[row].any() and moved["classifier.bias"][row] < old["state_dict"]["classifier.bias"].min()
    with pytest.raises(ValueError, match="cannot drop"):
        relabel_head(old["state_dict"], old["info"]["labels"], ["battery"])
    best = train(tiny_config(tmp_path, data=str(samples_dir), init=str(release_pair[0]), epochs=1, size=96))
    info = checkpoint.load(best)["info"]
    assert info["labels"] == list(taxonomy.ITEM_KEYS) and info["taxonomy_version"] == taxonomy.TAXONOMY_VERSION


def test_lite2_weights_load_from_their_package():
    net = create_model(len(taxonomy.ITEM_KEYS), pretrained=False, arch="tf_efficientnet_lite2")
    assert load_imagenet_backbone(net, arch="tf_efficientnet_lite2") == 384
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model(4, pretrained=False, arch="resnet50")


def test_a_student_learns_from_a_teacher_on_the_same_stored_views(held_out_run, tiny_config, samples_dir, tmp_path):
    student = train(
        tiny_config(tmp_path, data=str(samples_dir), val_sources=HELD, teacher=str(held_out_run / "best.pt"), **STORED)
    )
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and all(np.isfinite(r["train_loss"]) for r in lines)
    assert checkpoint.load(student)["info"]["freeze_blocks"] == 5


def test_a_teacher_end_to_end(held_out_run, tiny_config, samples_dir, tmp_path):
    train(tiny_config(tmp_path, data=str(samples_dir), teacher=str(held_out_run / "best.pt"), epochs=1, camera=0.5))
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])["train_loss"] > 0


def test_export_checks_on_the_held_out_sources_and_carries_the_calibration(held_out_run, samples_dir, tmp_path):
    from binwatch.inference.classifier import Classifier

    checks = {"calibration_images": 16, "check_images": 16, "min_item_agreement": 0.0, "min_category_agreement": 0.0}
    report = export(
        export_config(held_out_run, samples_dir, tmp_path, val_sources=HELD, quant_method="minmax", **checks)
    )
    assert report["check_side"] == f"held-out sources {HELD.replace(',', ', ')}"
    assert 0 <= report["int8_category_accuracy"] <= 1 and 0 <= report["fp32_category_accuracy"] <= 1
    assert report["fp32_vs_torch_max_abs_diff"] < 1e-4  # calibrated on both sides alike
    stored = Calibration.from_dict(checkpoint.load(held_out_run / "best.pt")["info"]["calibration"])
    for path in report["files"].values():
        assert Classifier(path).meta.calibration == stored
    other = tmp_path / "cal.json"
    other.write_text(json.dumps(Calibration(temperature=1.5, abstain_below=0.6, precision=0.9).to_dict()))
    report = export(export_config(held_out_run, samples_dir, tmp_path / "b", calibration=str(other), **checks))
    assert Classifier(report["files"]["int8"]).meta.calibration.abstain_below == 0.6


def binwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "binwatch", *args], capture_output=True, text=True, check=True)


@pytest.mark.slow
def test_loso_trains_one_model_per_held_out_source_on_one_store(samples_dir, release_pair, cache_dir, tmp_path):
    out = tmp_path / "loso"
    store = tmp_path / "features"
    result = binwatch(
        "loso", str(samples_dir), "--sources", HELD, "--out", str(out), "--epochs", "1", "--batch-size", "8",
        "--size", "64", "--workers", "0", "--device", "cpu", "--freeze-blocks", "5", "--store-views", "2",
        "--masks", str(cache_dir / "masks"), "--feature-store", str(store), "--compare", str(release_pair[2]),
    )  # fmt: skip
    table = result.stdout
    assert "trashnet" in table and "waste-detect" in table and "mean" in table and "compared" in table
    report = json.loads((out / "loso.json").read_text())
    data = manifest.load(samples_dir)
    for source in HELD.split(","):
        row = report["sources"][source]
        assert row["images"] == sum(s.source == source for s in data.samples)
        assert 0 <= row["accuracy"] <= 1 and set(row["recall"]) <= set(taxonomy.CATEGORY_KEYS)
        assert report["compare"]["sources"][source]["images"] == row["images"]
        assert json.loads((out / source / "config.json").read_text())["select"] == "last"
    assert report["mean"]["accuracy"] == pytest.approx(np.mean([r["accuracy"] for r in report["sources"].values()]))
    cross = report["calibration_cross_fitted"]
    assert set(cross["folds"]) == set(HELD.split(",")) and 0 <= cross["mean_accuracy"] <= 1
    assert "fitted on the other folds, scored on each: mean accuracy" in table
    Calibration.from_dict(json.loads((out / "calibration.json").read_text()))
    assert len(list(store.iterdir())) == 1  # both folds read one store
