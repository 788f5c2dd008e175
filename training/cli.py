"""``binwatch train``, ``binwatch export`` and ``binwatch retrain``: thin layers over the configs.

Each option comes from a config field (type, bounds, default and help text), so a setting is
declared once; ``register`` names the few that differ from their field.
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, fields
from pathlib import Path

from binwatch.inference.cli import BOUNDS, number
from binwatch.training.config import ExportConfig, RetrainConfig, TrainConfig


def add_config_options(
    parser: argparse.ArgumentParser, config: type, positional: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> None:
    """One argument per field of the dataclass ``config``: a field without a default is
    required, a ``bool`` is a switch, ``X | None`` parses as ``X``, and a field's ``choices``
    are the only values its option takes."""
    types = typing.get_type_hints(config)
    for f in fields(config):
        if f.name in exclude:
            continue
        help_text = f.metadata.get("help", "default: %(default)r")
        if f.name in positional:
            parser.add_argument(f.name, help=help_text)
            continue
        flag = "--" + f.name.replace("_", "-")
        if types[f.name] is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            parser.add_argument(
                flag,
                type=value_type(types[f.name], f.metadata),
                choices=f.metadata.get("choices"),
                required=f.default is MISSING,
                default=None if f.default is MISSING else f.default,
                help=help_text,
            )


def value_type(hint: typing.Any, metadata: typing.Mapping[str, typing.Any]) -> typing.Callable[[str], typing.Any]:
    """The type an option's text converts to: ``None`` in ``X | None`` is only ever the default,
    and a number must be finite and within the bounds in the field's ``metadata``."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    kind = args[0] if args else hint
    if kind in (int, float):
        return number(kind, **{k: v for k, v in metadata.items() if k in BOUNDS})
    return kind


def config_from(config: type, args: argparse.Namespace, **overrides):
    """The config from parsed arguments; fields the command line does not offer keep their defaults."""
    names = {f.name for f in fields(config)}
    return config(**{k: v for k, v in vars(args).items() if k in names} | overrides)


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train the item/category classifier")
    add_config_options(train, TrainConfig, positional=("data",))
    train.set_defaults(func=run_train)

    loso = sub.add_parser(
        "loso", help="leave one source out: one model per held-out source, accuracy on each (a table and JSON)"
    )
    # Each fold holds out its source, keeps its last epoch and never resumes.
    add_config_options(
        loso, TrainConfig, positional=("data",), exclude=("val_sources", "val_data", "val_fraction", "select", "resume")
    )
    loso.add_argument("--sources", help="the sources to hold out, comma-separated (default: every source)")
    loso.add_argument("--compare", metavar="MODEL", help="also score this model (ONNX or .pt) on each held-out source")
    loso.add_argument(
        "--per-source",
        type=number(at_least=0),
        default=0,
        metavar="N",
        help="at most N images of each source (a seeded draw)",
    )
    loso.set_defaults(func=run_loso, out="runs/loso")

    export = sub.add_parser("export", help="checkpoint → FP32 and INT8 ONNX, each checked against its source")
    # Calibration and checks use the default split of --data, the one ``binwatch train`` makes by default.
    add_config_options(export, ExportConfig, positional=("checkpoint",), exclude=("val_fraction", "seed"))
    export.set_defaults(func=run_export)

    retrain = sub.add_parser("retrain", help="fine-tune on reviewed items; promote only a better model")
    # The agreement bounds are the export's defaults; the checkpoint defaults to the release one.
    add_config_options(retrain, RetrainConfig, exclude=("checkpoint", "min_item_agreement", "min_category_agreement"))
    retrain.add_argument("--checkpoint", help="current checkpoint (default: the release one)")
    retrain.add_argument(
        "--register",
        metavar="COLLECTOR_URL",
        help="upload a promoted model to this collector and make it current (needs --token)",
    )
    retrain.set_defaults(func=run_retrain)


def run_train(args) -> int:
    from binwatch.training.train import train

    if not args.resume and (Path(args.out) / "best.pt").exists():  # a finished run is not trained over
        raise ValueError(f"--out {args.out} holds a run (best.pt); pass --resume to continue it, or another --out")
    print(train(config_from(TrainConfig, args)))
    return 0


def run_loso(args) -> int:
    from binwatch.datasets.split import parse_sources
    from binwatch.training.loso import format_table, loso

    report = loso(config_from(TrainConfig, args), parse_sources(args.sources), args.compare, args.per_source)
    print(format_table(report))
    print(f"\nreport: {args.out}/loso.json, calibration: {args.out}/calibration.json")
    return 0


def run_export(args) -> int:
    import json

    from binwatch.training.export import ExportCheckFailed, export

    try:
        report = export(config_from(ExportConfig, args))
    except ExportCheckFailed as exc:
        print(f"export rejected: {exc}")
        return 1
    print(json.dumps(report, indent=2))
    return 0


def run_retrain(args) -> int:
    from binwatch.inference.classifier import RELEASE_DIR
    from binwatch.training.retrain import retrain

    if args.register and not args.token:
        raise ValueError("--register needs --token (an admin token)")  # now, not after the training
    checkpoint = args.checkpoint or str(max(RELEASE_DIR.glob("binwatch-*.pt")))
    report = retrain(config_from(RetrainConfig, args, checkpoint=checkpoint))
    if report["promoted"] and args.register:
        from binwatch.training.registry import register_model

        register_model(args.register, args.token, report)
    return 0
