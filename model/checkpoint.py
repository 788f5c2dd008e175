"""The checkpoint format: weights plus everything needed to use them without guessing.

A checkpoint carries its labels, the taxonomy version, the preprocessing, the validation
metrics and, once fitted, its calibration (temperature and abstain threshold, see
``inference/calibration.py``); ``last.pt`` also carries the optimiser state for ``--resume``.
Checkpoints written before a field existed load with its default.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch

from binwatch.datasets import taxonomy
from binwatch.datasets.preprocess import Preprocess
from binwatch.model.network import ARCH, ItemAndCategory, create_model

FORMAT = "binwatch-checkpoint/1"


@dataclass
class ModelInfo:
    labels: list[str]
    preprocess: Preprocess
    version: str
    arch: str = ARCH
    taxonomy_version: str = taxonomy.TAXONOMY_VERSION
    categories: list[str] = field(default_factory=lambda: list(taxonomy.CATEGORY_KEYS))
    metrics: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    freeze_blocks: int = 0  # how it was trained: a teacher's stored features are cut at the same block

    def to_dict(self) -> dict:
        return {
            "labels": self.labels,
            "preprocess": self.preprocess.to_dict(),
            "version": self.version,
            "arch": self.arch,
            "taxonomy_version": self.taxonomy_version,
            "categories": self.categories,
            "metrics": self.metrics,
            "calibration": self.calibration,
            "freeze_blocks": self.freeze_blocks,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelInfo:
        return cls(**{**data, "preprocess": Preprocess.from_dict(data["preprocess"])})


def save(path: Path, state_dict: dict, info: ModelInfo, train_state: dict | None = None) -> None:
    """Write atomically, so a kill mid-save leaves the previous checkpoint intact."""
    payload = {"format": FORMAT, "info": info.to_dict(), "state_dict": state_dict}
    if train_state is not None:
        payload["train_state"] = train_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load(path: str | Path) -> dict:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:  # what torch raises for damaged files
        raise ValueError(f"{path}: not a readable checkpoint, truncated or corrupt ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a binwatch checkpoint")
    info = payload["info"]
    taxonomy.check_version(info["taxonomy_version"], f"checkpoint {path}", info["labels"])
    return payload


def build(payload: dict) -> tuple[ItemAndCategory, ModelInfo]:
    """The eval-mode network with item and category outputs, and its info."""
    info = ModelInfo.from_dict(payload["info"])
    net = create_model(len(info.labels), pretrained=False, arch=info.arch)
    net.load_state_dict(payload["state_dict"])
    model = ItemAndCategory(net, info.labels, info.categories).eval()
    return model, info
