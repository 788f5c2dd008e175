"""``binwatch predict`` and ``binwatch eval``."""

from __future__ import annotations

import argparse
import json
import math
import operator
import sys
from collections.abc import Callable
from pathlib import Path

BOUNDS = {"at_least": operator.ge, "at_most": operator.le, "above": operator.gt, "below": operator.lt}


def number(kind: type[int] | type[float] = int, **bounds: float) -> Callable[[str], float]:
    """An argparse type: the option's text as a finite ``kind`` within ``bounds`` (``at_least``,
    ``at_most``, ``above``, ``below``), so that nonsense such as ``--batch-size 0`` or
    ``--max-abs-diff nan`` is refused by the option's name before any work starts."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a finite number'}, not {text!r}"
            )
        if not all(BOUNDS[name](value, bound) for name, bound in bounds.items()):
            wanted = " and ".join(f"{name.replace('_', ' ')} {bound:g}" for name, bound in bounds.items())
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text}")
        return value

    return parse


def register(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser("predict", help="classify image files; one JSON line per file")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    predict.add_argument("--model", help="ONNX model (default: the shipped INT8 release model)")
    predict.add_argument("--batch-size", type=number(at_least=1), default=64)
    predict.add_argument("--threads", type=number(at_least=0), default=0, help="onnxruntime threads (0: all cores)")
    predict.set_defaults(func=run_predict)

    evaluate = sub.add_parser("eval", help="accuracy, F1, calibration, confusion matrix and latency of a model")
    evaluate.add_argument("--model", help="ONNX file or PyTorch checkpoint (.pt); default: the release INT8 model")
    evaluate.add_argument("--data", required=True, help="manifest.csv, folder or packed zip")
    evaluate.add_argument(
        "--split",
        choices=("all", "val", "train"),
        default="all",
        help="evaluate on the whole set or one side of the seeded group split",
    )
    evaluate.add_argument("--seed", type=number(at_least=0), default=0, help="of the split and of the degradations")
    evaluate.add_argument("--sources", help="only these sources (comma-separated), e.g. ones a model never saw")
    evaluate.add_argument(
        "--degrade",
        type=number(at_least=0),
        default=1000,
        metavar="N",
        help="accuracy by crop size and camera condition on N images degraded on the fly (0: skip)",
    )
    evaluate.add_argument("--out", type=Path, default=Path("runs/eval"), help="folder for report JSON and PNG")
    evaluate.add_argument("--latency-images", type=number(at_least=0), default=100)
    evaluate.set_defaults(func=run_eval)


def run_predict(args) -> int:
    from binwatch.datasets.images import IMAGE_SUFFIXES
    from binwatch.inference.classifier import Classifier, default_model_path
    from binwatch.inference.predict import expand, predict_paths, write_jsonl

    files = list(expand(args.paths))
    if not files:
        raise FileNotFoundError(
            f"no images found in {', '.join(args.paths)} (image files end in {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    classifier = Classifier(args.model or default_model_path(), threads=args.threads)
    errors = write_jsonl(predict_paths(classifier, files, args.batch_size), sys.stdout)
    return 1 if errors else 0


def load_classifier(path: str, threads: int):
    """ONNX files run through onnxruntime; ``.pt`` checkpoints need the train extra."""
    if path.endswith(".pt"):
        from binwatch.training.checkpoint_classifier import CheckpointClassifier

        return CheckpointClassifier(path, threads)
    from binwatch.inference.classifier import Classifier

    return Classifier(path, threads)


def run_eval(args) -> int:
    from binwatch.datasets import manifest, split
    from binwatch.inference.classifier import default_model_path
    from binwatch.inference.evaluate import confusion_png, degraded, evaluate, format_table

    classifier = load_classifier(args.model or str(default_model_path()), threads=1)
    data = manifest.load(args.data)
    if args.split != "all":
        train, val = split.split_by_group(data.samples, 0.2, args.seed)
        data = data.subset(val if args.split == "val" else train)
    sources = split.parse_sources(args.sources)
    if sources:
        known = {s.source for s in data.samples}
        unknown = sorted(set(sources) - known)
        if unknown:
            raise ValueError(f"unknown source(s) {', '.join(unknown)}; the data has {', '.join(sorted(known))}")
        data = data.subset([s for s in data.samples if s.source in sources])
    report = evaluate(classifier, data, latency_images=args.latency_images)
    if args.degrade:
        report["degraded"] = degraded(classifier, data, args.degrade, args.seed)
    report.update(data=str(args.data), split=args.split, sources=sources, model_path=str(classifier.path))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"eval-{classifier.meta.version}-{classifier.meta.precision}-{args.split}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    confusion_png(
        report["confusion_matrix"],
        classifier.meta.categories,
        args.out / f"{stem}-confusion.png",
        f"{classifier.meta.version} {classifier.meta.precision} on {args.split} ({report['images']} images)",
    )
    print(format_table(report))
    print(f"\nreport: {args.out / stem}.json, confusion matrix: {args.out / stem}-confusion.png")
    return 0
