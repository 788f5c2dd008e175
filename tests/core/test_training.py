"""A real (tiny) training run on the CPU: checkpoints, metrics log, resume, export."""

import json

import numpy as np
import pytest
import torch

from binwatch.datasets import taxonomy
from binwatch.model import checkpoint
from binwatch.training.config import ExportConfig, TrainConfig
from binwatch.training.data import balanced_sampler
from binwatch.training.export import ExportCheckFailed, export
from binwatch.training.train import load_splits, resolve_device, train


def test_run_writes_checkpoints_and_metrics(tiny_run):
    lines = [json.loads(x) for x in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["val_macro_f1"] <= 1 for r in lines)
    best = checkpoint.load(tiny_run / "best.pt")
    info = best["info"]
    assert info["labels"] == list(taxonomy.ITEM_KEYS)
    assert info["taxonomy_version"] == taxonomy.TAXONOMY_VERSION
    assert info["preprocess"]["size"] == 64 and info["preprocess"]["resize"] == "letterbox"
    assert "macro_f1" in info["metrics"] and "per_category" in info["metrics"]
    stats = json.loads((tiny_run / "data_stats.json").read_text())
    assert stats["skipped"] == {} and "balanced" in stats["balancing"]


def test_corrupt_image_is_skipped_and_counted_each_time_it_is_drawn(tiny_run):
    # The fixture's two epochs; a resumed run may have appended more.
    lines = [json.loads(x) for x in (tiny_run / "metrics.jsonl").read_text().splitlines()][:2]
    # Replay the run's seeded sampler to know how often it drew the corrupt file.
    cfg = TrainConfig(**json.loads((tiny_run / "config.json").read_text()))
    train_set, _ = load_splits(cfg)
    corrupt = [i for i, s in enumerate(train_set.samples) if s.path.endswith("corrupt.jpg")]
    draws = max(1, len(train_set) // cfg.batch_size) * cfg.batch_size
    sampler = balanced_sampler(train_set.samples, draws, cfg.seed, cfg.review_weight)
    expected = [sum(i in corrupt for i in sampler) for _ in lines]
    assert sum(expected) > 0, "the fixture's corrupt file must be in the training split and drawn"
    assert [r["skipped_images"] for r in lines] == expected


def test_resume_continues_where_it_stopped(tiny_run, tiny_config):
    train(tiny_config(tiny_run, epochs=3, resume=True))
    epochs = [json.loads(x)["epoch"] for x in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert checkpoint.load(tiny_run / "last.pt")["info"]["version"] == "test-1"


def test_resume_without_a_run_is_a_clear_error(tmp_path, item_folder):
    cfg = TrainConfig(data=str(item_folder), out=str(tmp_path), epochs=1, device="cpu", resume=True)
    with pytest.raises(FileNotFoundError, match="no .*last.pt"):
        train(cfg)


def export_config(run, data, out, **overrides) -> ExportConfig:
    """Export the tiny run's best checkpoint, checked on the same validation side it was trained with."""
    base = {
        "checkpoint": str(run / "best.pt"),
        "data": str(data),
        "out": str(out),
        "val_fraction": 0.3,
        "check_images": 8,
    }
    return ExportConfig(**{**base, **overrides})


def test_export_writes_checked_fp32_and_int8(tiny_run, item_folder, tmp_path):
    from binwatch.inference.classifier import Classifier

    checks = {"calibration_images": 16, "check_images": 16, "min_item_agreement": 0.0, "min_category_agreement": 0.0}
    report = export(export_config(tiny_run, item_folder, tmp_path, **checks))
    assert report["fp32_vs_torch_max_abs_diff"] < 1e-4
    fp32, int8 = Classifier(report["files"]["fp32"]), Classifier(report["files"]["int8"])
    assert fp32.meta.precision == "fp32" and int8.meta.precision == "int8"
    assert fp32.meta.labels == list(taxonomy.ITEM_KEYS) and int8.version == "test-1"
    batch = np.zeros((3, 3, 64, 64), np.float32)
    items, categories = int8.probabilities(batch)
    assert items.shape == (3, len(taxonomy.ITEMS)) and categories.shape == (3, 4)
    assert np.allclose(categories.sum(1), 1, atol=1e-3)


def test_export_out_of_bounds_fails_and_keeps_nothing(tiny_run, item_folder, tmp_path):
    with pytest.raises(ExportCheckFailed, match="INT8 item agreement"):
        export(export_config(tiny_run, item_folder, tmp_path, min_item_agreement=1.01, calibration_images=8))
    assert not list(tmp_path.glob("*-int8.onnx")) and not list(tmp_path.glob("*-fp32.onnx"))
    assert list(tmp_path.glob("*.rejected.onnx"))


def test_a_checkpoint_with_a_bad_body_says_what_is_wrong(tiny_checkpoint, tmp_path):
    good = torch.load(tiny_checkpoint, weights_only=False)
    info, weights = good["info"], good["state_dict"]
    bodies = {
        "its info lacks labels, preprocess, version": {**good, "info": {}},
        "its info is a list, not a mapping": {**good, "info": [1]},
        "its info's labels is 5, not a list of str": {**good, "info": {**info, "labels": 5}},
        "its info has unknown field(s) colour": {**good, "info": {**info, "colour": "red"}},
        "its preprocess lacks 'mean'": {**good, "info": {**info, "preprocess": {"size": 64}}},
        "it has no state_dict": {k: v for k, v in good.items() if k != "state_dict"},
        "its weights do not fit a tf_efficientnet_lite0 with 32 labels: tensors 1 missing (classifier.bias)": {
            **good,
            "state_dict": {k: v for k, v in weights.items() if k != "classifier.bias"},
        },
    }
    bad = tmp_path / "bad.pt"
    for why, body in bodies.items():
        torch.save(body, bad)
        with pytest.raises(ValueError) as refused:
            checkpoint.load(bad)
        assert str(refused.value) == f"{bad}: not a binwatch checkpoint: {why}"


def test_a_device_that_is_not_there_is_refused_by_name(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="--device gpu: expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="--device cuda:1: no CUDA device is available"):
        resolve_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match="--device cuda:1: this machine has 1 CUDA device"):
        resolve_device("cuda:1")
