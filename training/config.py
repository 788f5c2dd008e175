"""Settings of ``binwatch train`` and ``binwatch export``, free of torch imports so that
the command line can list them on a box without PyTorch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    data: str
    out: str = "runs/train"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    size: int = 160
    val_fraction: float = 0.2
    seed: int = 0
    workers: int = 4
    device: str = "auto"
    ema_decay: float = 0.998
    freeze_blocks: int = 0
    augment_strength: float = 1.0
    init: str | None = None
    resume: bool = False
    version: str = ""
    limit: int = 0
    val_data: str | None = None
    pretrained_weights: str | None = None
    review_weight: float = 1.0


@dataclass
class ExportConfig:
    checkpoint: str
    data: str
    out: str = "runs/export"
    max_abs_diff: float = 1e-4
    min_item_agreement: float = 0.93
    min_category_agreement: float = 0.97
    calibration_images: int = 256
    check_images: int = 512
    val_fraction: float = 0.2
    seed: int = 0


@dataclass
class RetrainConfig:
    reviews: str
    base: str
    checkpoint: str
    out: str = "runs/retrain"
    token: str | None = None
    epochs: int = 3
    lr: float = 3e-4
    batch_size: int = 64
    review_weight: float = 5.0
    review_holdout: float = 0.3
    tolerance: float = 0.0
    version: str = ""
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    limit: int = 0
    calibration_images: int = 256
    min_item_agreement: float = 0.93
    min_category_agreement: float = 0.97
