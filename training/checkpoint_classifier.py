"""A PyTorch checkpoint behind the same interface as ``inference.Classifier``.

Lets ``binwatch eval`` score a checkpoint and its ONNX exports with one code path, and
lets the parity test feed both the very same preprocessed arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from binwatch.inference.calibration import Calibration
from binwatch.inference.classifier import ModelMetadata
from binwatch.model import checkpoint


def stored_calibration(path: str | Path, info: checkpoint.ModelInfo) -> Calibration:
    """The checkpoint's own calibration; a damaged one names the checkpoint."""
    try:
        return Calibration.from_dict(info.calibration)
    except ValueError as exc:
        raise ValueError(f"{path}: not a binwatch checkpoint: its calibration: {exc}") from None


class CheckpointClassifier:
    def __init__(self, path: str | Path, threads: int = 0):
        if threads:
            torch.set_num_threads(threads)
        self.path = Path(path)
        self.model, info = checkpoint.build(checkpoint.load(self.path))
        self.meta = ModelMetadata(
            info.labels,
            info.categories,
            info.taxonomy_version,
            info.preprocess,
            info.version,
            "pytorch-fp32",
            calibration=stored_calibration(self.path, info),
        )

    @torch.inference_mode()
    def probabilities(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        items, categories = self.model(torch.from_numpy(batch))
        return self.meta.calibrated(items.numpy(), categories.numpy())
