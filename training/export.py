"""``binwatch export``: checkpoint → FP32 ONNX + INT8 ONNX, each checked before it is kept.

Checks: FP32 ONNX against PyTorch on real images (max abs difference of the
probabilities), INT8 against FP32 (top-1 agreement on items and categories). A model
that fails a bound is not written to its final name and the command exits non-zero.
The check images are the validation side of the training run: its group split, or its
held-out sources (``--val-sources``), where the category accuracy of both files is also
reported, since that is where INT8 must not fall behind. The calibration (temperature,
abstain threshold) goes into the metadata: the checkpoint's own, or ``--calibration``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnx
import torch

from binwatch.datasets import manifest, split
from binwatch.datasets.images import ImageDecodeError
from binwatch.inference.calibration import Calibration
from binwatch.inference.classifier import Classifier, ModelMetadata
from binwatch.model import checkpoint
from binwatch.training.camera_views import SceneMaker
from binwatch.training.checkpoint_classifier import stored_calibration
from binwatch.training.config import ExportConfig
from binwatch.training.quantize import quantize

log = logging.getLogger(__name__)
OPSET = 17


class ExportCheckFailed(RuntimeError):
    """An exported model disagrees with its source beyond the allowed bound."""


def load_arrays(
    samples: manifest.SampleSet, preprocess, limit: int, seed: int, scenes: SceneMaker | None = None, camera: float = 0
) -> tuple[list[np.ndarray], list[str]]:
    """Up to ``limit`` preprocessed images spread over the set (a share ``camera`` of them as camera
    views), skipping undecodable ones; and their categories."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(samples))
    arrays: list[np.ndarray] = []
    categories: list[str] = []
    for i in order:
        if len(arrays) >= limit:
            break
        try:
            rgb = samples.store.read_rgb(samples.samples[i].path)
        except ImageDecodeError as exc:
            log.warning("skipping %s", exc)
            continue
        if scenes is not None and rng.random() < camera:
            rgb = scenes(rgb, rng)
        arrays.append(preprocess(rgb))
        categories.append(samples.samples[i].category)
    return arrays, categories


def export_onnx(model: torch.nn.Module, path: Path, size: int, meta: ModelMetadata) -> None:
    dummy = torch.zeros(1, 3, size, size)
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(
        model,
        (dummy,),
        str(tmp),
        input_names=["image"],
        output_names=["item_probs", "category_probs"],
        dynamic_axes={"image": {0: "batch"}, "item_probs": {0: "batch"}, "category_probs": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    write_metadata(tmp, meta)
    tmp.replace(path)


def write_metadata(path: Path, meta: ModelMetadata) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in meta.to_props().items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "binwatch"
    onnx.save(model, str(path))


def run_batches(classifier: Classifier, arrays: list[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    outputs = [classifier.probabilities(np.stack(arrays[i : i + batch])) for i in range(0, len(arrays), batch)]
    return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs])


def export(cfg: ExportConfig) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model, info = checkpoint.build(checkpoint.load(cfg.checkpoint))
    if cfg.calibration:
        calibration = Calibration.from_file(cfg.calibration)
    else:
        calibration = stored_calibration(cfg.checkpoint, info)
    data = manifest.load(cfg.data)
    labelled = [s for s in data.samples if s.item]
    held = split.parse_sources(cfg.val_sources)
    if held:
        train, val = split.split_by_source(labelled, held)
    else:
        train, val = split.split_by_group(labelled, cfg.val_fraction, cfg.seed)
    scenes = None
    if cfg.quant_camera:
        scenes = SceneMaker(data.subset(train), cfg.masks, info.preprocess.pad_value, seed=cfg.seed)
    check_arrays, check_categories = load_arrays(data.subset(val), info.preprocess, cfg.check_images, cfg.seed)
    calib_arrays, _ = load_arrays(
        data.subset(train), info.preprocess, cfg.calibration_images, cfg.seed + 1, scenes, cfg.quant_camera
    )
    if not check_arrays or not calib_arrays:
        raise ExportCheckFailed(f"{cfg.data}: no readable images to check or calibrate with")

    stem = f"binwatch-{info.version}"
    fp32_path, int8_path = out / f"{stem}-fp32.onnx", out / f"{stem}-int8.onnx"
    meta = ModelMetadata(
        info.labels,
        info.categories,
        info.taxonomy_version,
        info.preprocess,
        info.version,
        "fp32",
        {k: v for k, v in info.metrics.items() if k in ("accuracy", "macro_f1", "ece", "epoch")},
        calibration,
    )
    export_onnx(model, fp32_path, info.preprocess.size, meta)

    with torch.no_grad():
        torch_items, torch_cats = meta.calibrated(*(t.numpy() for t in model(torch.from_numpy(np.stack(check_arrays)))))
    fp32 = Classifier(fp32_path)
    onnx_items, onnx_cats = run_batches(fp32, check_arrays)
    max_diff = float(max(np.abs(onnx_items - torch_items).max(), np.abs(onnx_cats - torch_cats).max()))

    tmp_int8 = int8_path.with_suffix(".tmp.onnx")
    quantize(fp32_path, tmp_int8, calib_arrays, cfg.quant_method)
    write_metadata(tmp_int8, ModelMetadata(**{**meta.__dict__, "precision": "int8"}))
    int8_items, int8_cats = run_batches(Classifier(tmp_int8), check_arrays)
    item_agreement = float((int8_items.argmax(1) == onnx_items.argmax(1)).mean())
    category_agreement = float((int8_cats.argmax(1) == onnx_cats.argmax(1)).mean())
    truth = np.array([info.categories.index(c) for c in check_categories])
    report = {
        "version": info.version,
        "checkpoint": str(cfg.checkpoint),
        "check_images": len(check_arrays),
        "calibration_images": len(calib_arrays),
        "fp32_vs_torch_max_abs_diff": max_diff,
        "int8_vs_fp32_item_agreement": item_agreement,
        "int8_vs_fp32_category_agreement": category_agreement,
        "check_side": f"held-out sources {', '.join(held)}" if held else "group split",
        "fp32_category_accuracy": float((onnx_cats.argmax(1) == truth).mean()),
        "int8_category_accuracy": float((int8_cats.argmax(1) == truth).mean()),
        "quantisation": {"method": cfg.quant_method, "camera_views": cfg.quant_camera},
        "calibration": calibration.to_dict(),
        "bounds": {
            "max_abs_diff": cfg.max_abs_diff,
            "min_item_agreement": cfg.min_item_agreement,
            "min_category_agreement": cfg.min_category_agreement,
        },
        "files": {"fp32": str(fp32_path), "int8": str(int8_path)},
    }
    (out / f"{stem}-export.json").write_text(json.dumps(report, indent=2))
    failures = []
    if max_diff > cfg.max_abs_diff:
        failures.append(f"FP32 ONNX differs from PyTorch by {max_diff:.2e} > {cfg.max_abs_diff:.0e}")
    if item_agreement < cfg.min_item_agreement:
        failures.append(f"INT8 item agreement {item_agreement:.3f} < {cfg.min_item_agreement}")
    if category_agreement < cfg.min_category_agreement:
        failures.append(f"INT8 category agreement {category_agreement:.3f} < {cfg.min_category_agreement}")
    if failures:
        fp32_path.rename(fp32_path.with_suffix(".rejected.onnx"))
        tmp_int8.rename(int8_path.with_suffix(".rejected.onnx"))
        raise ExportCheckFailed("; ".join(failures))
    tmp_int8.replace(int8_path)
    return report
