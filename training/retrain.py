"""``binwatch retrain``: fine-tune on supervisors' reviews, and promote only what is better.

The reviewed crops are the only pictures taken by a real bin camera, so they are drawn
more often than the base images. Part of them (whole events) is held out: the gate
compares the old and the new model on the base set's fixed validation split (must not
be worse) and on the held-out reviews (must be better). Only then is the new model
exported and, if asked, registered with the collector.
"""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

import httpx
import numpy as np

from binwatch.datasets import manifest, split
from binwatch.inference.evaluate import evaluate
from binwatch.model import checkpoint
from binwatch.training.checkpoint_classifier import CheckpointClassifier
from binwatch.training.config import ExportConfig, RetrainConfig, TrainConfig
from binwatch.training.export import export
from binwatch.training.train import resolve_device, train

log = logging.getLogger(__name__)
EXPORT_ROUTE = "/api/v1/export/reviewed.zip"


def fetch_reviews(source: str, token: str | None, into: Path) -> Path:
    """A folder or zip as given, or the collector's retraining export downloaded and unpacked."""
    if not source.startswith(("http://", "https://")):
        return Path(source)
    url = source if "/api/" in source else source.rstrip("/") + EXPORT_ROUTE
    if not token:
        raise ValueError("downloading reviews from a collector needs --token (an admin token)")
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=120.0)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ValueError(f"the collector could not be reached at {url}: {exc}") from None
    if response.status_code != 200:
        raise ValueError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    into.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(io.BytesIO(response.content))
    except zipfile.BadZipFile:
        raise ValueError(f"{url}: the answer is not a zip file (is this the collector's export?)") from None
    with archive:
        for name in archive.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                raise ValueError(f"{url}: unsafe path {name!r} in the export")
        archive.extractall(into)
    return into


def score(path: Path, samples: manifest.SampleSet) -> dict:
    report = evaluate(CheckpointClassifier(path), samples, latency_images=0)
    return {
        "images": report["images"],
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "nll": report["nll"],
        "item_accuracy": report.get("item", {}).get("accuracy", 0.0),
    }


def decide(old: dict, new: dict, tolerance: float) -> tuple[bool, str]:
    """Not worse on the fixed split, strictly better on the held-out reviews: higher category
    accuracy, or the same accuracy and a lower negative log-likelihood of the corrected
    categories (a few dozen reviewed items often tie on accuracy)."""
    fixed_ok = new["fixed"]["macro_f1"] >= old["fixed"]["macro_f1"] - tolerance
    old_r = (old["reviews"]["accuracy"], -old["reviews"]["nll"])
    new_r = (new["reviews"]["accuracy"], -new["reviews"]["nll"])
    if not fixed_ok:
        return False, (
            f"worse on the fixed split: macro-F1 {new['fixed']['macro_f1']:.4f} < "
            f"{old['fixed']['macro_f1']:.4f} - {tolerance}"
        )
    if not new_r > old_r:
        return False, f"not better on the reviewed items: accuracy {new_r[0]:.4f} vs {old_r[0]:.4f}"
    return True, "not worse on the fixed split and better on the reviewed items"


def comparison_table(old: dict, new: dict) -> str:
    lines = [f"{'':<34}{'current':>10}{'candidate':>11}"]
    for part, label in (("fixed", "fixed split"), ("reviews", "held-out reviews")):
        for key in ("accuracy", "macro_f1", "item_accuracy", "nll"):
            lines.append(f"{label + ' ' + key:<34}{old[part][key]:>10.4f}{new[part][key]:>11.4f}")
    lines.append(f"{'images (fixed / reviews)':<34}{old['fixed']['images']:>10}{old['reviews']['images']:>11}")
    return "\n".join(lines)


def retrain(cfg: RetrainConfig) -> dict:
    resolve_device(cfg.device)  # a bad --device fails now, not after the reviews are downloaded
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    current = checkpoint.load(cfg.checkpoint)
    info = current["info"]
    version = cfg.version or time.strftime("%Y.%m.%d-%H%M%S")
    if version == info["version"]:
        raise ValueError(f"the new version must differ from the current one ({version})")

    reviews = manifest.load(fetch_reviews(cfg.reviews, cfg.token, out / "reviews"))
    reviews.samples = [s for s in reviews.samples if s.item]
    base = manifest.load(cfg.base)
    # The same split the release was trained with: its validation side is never trained on.
    base_train, fixed = split.split_by_group([s for s in base.samples if s.item], 0.2, 0)
    review_train, review_eval = split.split_by_group(reviews.samples, cfg.review_holdout, cfg.seed)
    if not review_eval or not review_train:
        raise ValueError(f"{len(reviews)} reviewed items are too few to both train on and judge with")
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        base_train = [base_train[i] for i in sorted(rng.permutation(len(base_train))[: cfg.limit])]
        fixed = [fixed[i] for i in sorted(rng.permutation(len(fixed))[: max(cfg.limit // 2, 8)])]
    train_set = manifest.merge({"base": base.subset(base_train), "review": reviews.subset(review_train)})
    fixed_set, review_eval_set = base.subset(fixed), reviews.subset(review_eval)
    log.info(
        "retrain: %d base + %d reviewed training images (%s skipped); judged on %d fixed + %d reviewed",
        len(base_train),
        len(review_train),
        train_set.describe_skips(),
        len(fixed_set),
        len(review_eval_set),
    )

    train_cfg = TrainConfig(
        data=cfg.base,
        out=str(out / "train"),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        warmup_epochs=0.2,
        size=info["preprocess"]["size"],
        seed=cfg.seed,
        workers=cfg.workers,
        device=cfg.device,
        init=cfg.checkpoint,
        version=version,
        review_weight=cfg.review_weight,
    )
    candidate = train(train_cfg, splits=(train_set, fixed_set))

    old = {"fixed": score(Path(cfg.checkpoint), fixed_set), "reviews": score(Path(cfg.checkpoint), review_eval_set)}
    new = {"fixed": score(candidate, fixed_set), "reviews": score(candidate, review_eval_set)}
    promoted, reason = decide(old, new, cfg.tolerance)
    report = {
        "current": info["version"],
        "candidate": version,
        "promoted": promoted,
        "reason": reason,
        "current_scores": old,
        "candidate_scores": new,
        "checkpoint": str(candidate),
        "config": asdict(cfg),
        "training_images": {
            "base": len(base_train),
            "reviewed": len(review_train),
            "duplicates_removed": train_set.skipped["duplicate image"],
        },
    }
    report["config"].pop("token")
    print(comparison_table(old, new))
    print(f"\n{'PROMOTED' if promoted else 'KEPT the current model'}: {reason}")
    if promoted:
        report["export"] = export(
            ExportConfig(
                checkpoint=str(candidate),
                data=cfg.base,
                out=str(out / "export"),
                calibration_images=cfg.calibration_images,
                min_item_agreement=cfg.min_item_agreement,
                min_category_agreement=cfg.min_category_agreement,
            )
        )
    (out / "retrain.json").write_text(json.dumps(report, indent=2))
    return report
