"""``binwatch loso``: leave one source out, the figure that says how a recipe does on a new camera.

One model per held-out source (all sources, or the ones named), trained on every other source
(a group that reaches into the held-out source is left out too) and kept at its last epoch, so
that no choice is made on the source it is scored on. Per source: category accuracy, recall per
category, macro-F1 over the categories it has; then the mean over sources. With stored features
(``--store-views``) every fold reads one store, built once over all images.

The held-out predictions of all folds also calibrate: the temperature and abstain threshold
fitted on all of them (``calibration.json``, for ``binwatch export --calibration``), and, to say
honestly what they do on a new source, each fold scored with a calibration fitted on the other
folds only. ``--compare MODEL`` scores another model (the shipped one, say) on the same images.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from binwatch.datasets import manifest, split, taxonomy
from binwatch.inference import calibration
from binwatch.inference.metrics import category_report, expected_calibration_error
from binwatch.training.config import TrainConfig
from binwatch.training.train import item_labelled, train

log = logging.getLogger(__name__)
CATEGORIES = list(taxonomy.CATEGORY_KEYS)


def _raw_group(group: str) -> str:
    """A group id as its data set wrote it (``manifest.merge`` prefixes the part's name)."""
    return group.split(":", 1)[-1]


def universe_of(cfg: TrainConfig, per_source: int = 0) -> tuple[manifest.SampleSet, set[str]]:
    """Every item-labelled image of ``--data`` (at most ``per_source`` of each source, a seeded draw,
    when set) and of ``--extra-data`` as one set, and the paths of the extra ones (training
    material only: never held out, never scored)."""
    data = manifest.load(cfg.data)
    samples = item_labelled(data)
    rng = np.random.default_rng(cfg.seed)
    if per_source:
        by_source: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            by_source.setdefault(s.source, []).append(i)
        chosen = [i for ids in by_source.values() for i in rng.permutation(ids)[:per_source].tolist()]
        samples = [samples[i] for i in sorted(chosen)]
    if cfg.limit:
        keep = rng.permutation(len(samples))[: cfg.limit]
        samples = [samples[i] for i in sorted(keep)]
    base = data.subset(samples)
    base.skipped = data.skipped
    extras = split.parse_sources(cfg.extra_data)
    if not extras:
        return base, set()
    parts = {"data": base}
    for k, location in enumerate(extras):
        more = manifest.load(location)
        parts[f"extra{k}"] = more.subset(item_labelled(more))
    merged = manifest.merge(parts)
    return merged, {s.path for s in merged.samples if not s.path.startswith("data/")}


def fold(universe: manifest.SampleSet, source: str, extra: set[str]) -> tuple[manifest.SampleSet, manifest.SampleSet]:
    """Training and validation sides with ``source`` held out whole."""
    val = [s for s in universe.samples if s.source == source and s.path not in extra]
    touched = {_raw_group(s.group) for s in val}
    train_side = [s for s in universe.samples if s.source != source and _raw_group(s.group) not in touched]
    return universe.subset(train_side), universe.subset(val)


def scores(p_item: np.ndarray, y_item: np.ndarray, labels: list[str]) -> dict:
    to_category = taxonomy.category_matrix(labels, CATEGORIES)
    y = to_category.argmax(1)[y_item]
    report = category_report(p_item @ to_category, y, CATEGORIES)
    return {
        "images": len(y),
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "recall": {c: v["recall"] for c, v in report["per_category"].items() if v["support"]},
        "ece": report["ece"],
    }


def cross_fitted(folds: dict[str, dict], precision: float) -> dict[str, dict]:
    """Each fold's calibration as it would be on a new source: fitted on the other folds."""
    out = {}
    for source, here in folds.items():
        others = [f for s, f in folds.items() if s != source]
        if not others:
            continue
        p = np.concatenate([f["p_item"] for f in others])
        y = np.concatenate([f["y_category"] for f in others])
        to_category = here["to_category"]
        temperature = calibration.fit_temperature(p, y, to_category)
        threshold = calibration.abstain_threshold(calibration.tempered(p, to_category, temperature)[1], y, precision)
        _, calibrated = calibration.tempered(here["p_item"], to_category, temperature)
        acted = ~calibration.abstains(calibrated.max(1), threshold)
        correct = calibrated.argmax(1) == here["y_category"]
        out[source] = {
            "temperature": temperature,
            "threshold": threshold,
            "ece": expected_calibration_error(calibrated, here["y_category"]),
            "accuracy": float(correct.mean()),  # the top category can move with the temperature
            "coverage": float(acted.mean()),
            "precision": float(correct[acted].mean()) if acted.any() else None,
            "acted": int(acted.sum()),
            "acted_correct": int(correct[acted].sum()),
        }
    return out


def compare(model_path: str, universe: manifest.SampleSet, sources: list[str], extra: set[str]) -> dict[str, dict]:
    """Another model (an ONNX file or a checkpoint) on the same held-out images."""
    from binwatch.inference.cli import load_classifier
    from binwatch.inference.evaluate import evaluate

    classifier = load_classifier(model_path, threads=0)
    out = {}
    for source in sources:
        _, val = fold(universe, source, extra)
        report = evaluate(classifier, val, latency_images=0)
        out[source] = {
            "images": report["images"],
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "recall": {c: v["recall"] for c, v in report["per_category"].items() if v["support"]},
            "ece": report["ece"],
        }
    return {"model": classifier.meta.version, "precision": classifier.meta.precision, "sources": out}


def loso(cfg: TrainConfig, sources: list[str], compare_model: str | None = None, per_source: int = 0) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    universe, extra = universe_of(cfg, per_source)
    known = sorted({s.source for s in universe.samples if s.path not in extra})
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; the data has {', '.join(known)}")
    sources = sources or known
    labels = list(taxonomy.ITEM_KEYS)
    # One store for every fold: bins are furnished only with photos of sources no fold holds out.
    furniture = universe.subset([s for s in universe.samples if s.source not in sources and s.path not in extra])
    folds: dict[str, dict] = {}
    results: dict[str, dict] = {}
    for source in sources:
        train_set, val_set = fold(universe, source, extra)
        log.info("fold %s: %d training images, %d held out", source, len(train_set), len(val_set))
        fold_cfg = replace(cfg, out=str(out / source), val_sources=source, select="last", resume=False)
        train(
            fold_cfg,
            splits=(train_set, val_set),
            universe=universe if cfg.store_views else None,
            furniture=furniture,
        )
        kept = np.load(out / source / "val_predictions.npz")
        p_item, y_item = kept["item_probs"], kept["y_item"]
        to_category = taxonomy.category_matrix(labels, CATEGORIES)
        folds[source] = {"p_item": p_item, "y_category": to_category.argmax(1)[y_item], "to_category": to_category}
        results[source] = scores(p_item, y_item, labels)
    report: dict = {
        "data": cfg.data,
        "recipe": {k: v for k, v in asdict(cfg).items() if k not in ("out", "val_sources", "select", "resume")},
        "kept": "last epoch",
        "per_source": per_source or "all",
        "sources": results,
        "mean": mean_row(results),
    }
    cross = cross_fitted(folds, cfg.target_precision)
    if cross:
        acted = sum(c["acted"] for c in cross.values())
        report["calibration_cross_fitted"] = {
            "folds": cross,
            "mean_ece": float(np.mean([c["ece"] for c in cross.values()])),
            "mean_accuracy": float(np.mean([c["accuracy"] for c in cross.values()])),
            "pooled_precision": sum(c["acted_correct"] for c in cross.values()) / acted if acted else None,
            "pooled_coverage": acted / sum(r["images"] for r in results.values()),
        }
    p_all = np.concatenate([f["p_item"] for f in folds.values()])
    y_all = np.concatenate([f["y_category"] for f in folds.values()])
    fitted, summary = calibration.fit(
        p_all,
        y_all,
        taxonomy.category_matrix(labels, CATEGORIES),
        cfg.target_precision,
        f"leave-one-source-out predictions on {', '.join(sources)} ({len(y_all)} images)",
    )
    report["calibration"] = {**fitted.to_dict(), "in_sample": summary}
    (out / "calibration.json").write_text(json.dumps(fitted.to_dict(), indent=2))
    if compare_model:
        report["compare"] = compare(compare_model, universe, sources, extra)
    (out / "loso.json").write_text(json.dumps(report, indent=2))
    return report


def mean_row(results: dict[str, dict]) -> dict:
    """Unweighted over sources: a large source does not hide a failing small one."""
    recall = {c: [r["recall"][c] for r in results.values() if c in r["recall"]] for c in CATEGORIES}
    return {
        "images": sum(r["images"] for r in results.values()),
        "accuracy": float(np.mean([r["accuracy"] for r in results.values()])),
        "macro_f1": float(np.mean([r["macro_f1"] for r in results.values()])),
        "recall": {c: float(np.mean(v)) for c, v in recall.items() if v},
        "ece": float(np.mean([r["ece"] for r in results.values()])),
    }


def format_table(report: dict) -> str:
    compared = report.get("compare", {}).get("sources", {})
    header = f"{'held-out source':<18}{'images':>7}{'accuracy':>10}" + "".join(f"{c[:5]:>7}" for c in CATEGORIES)
    header += f"{'macro-F1':>10}{'ECE':>7}" + (f"{'compared':>10}" if compared else "")
    lines = ["category accuracy and recall per category on each source held out (model kept at its last epoch)", header]
    for name, row in [*report["sources"].items(), ("mean", report["mean"])]:
        recall = "".join(f"{row['recall'][c]:>7.3f}" if c in row["recall"] else f"{'-':>7}" for c in CATEGORIES)
        line = f"{name:<18}{row['images']:>7}{row['accuracy']:>10.3f}{recall}{row['macro_f1']:>10.3f}{row['ece']:>7.3f}"
        if compared:
            other = compared.get(name)
            if name == "mean":
                other = {"accuracy": float(np.mean([r["accuracy"] for r in compared.values()]))}
            line += f"{other['accuracy']:>10.3f}" if other else ""
        lines.append(line)
    if compared:
        c = report["compare"]
        lines.append(f"compared: model {c['model']} ({c['precision']}), category accuracy on the same images")
    cal = report["calibration"]
    lines.append(
        f"\ncalibration fitted on all held-out predictions: temperature {cal['temperature']:.3f}, the model "
        f"{calibration.rule_text(cal['abstain_below'])} for precision {cal['precision']} "
        f"(ECE {cal['in_sample']['ece_before']:.3f} → "
        f"{cal['in_sample']['ece_after']:.3f} in sample)"
    )
    cross = report.get("calibration_cross_fitted")
    if cross:
        precision = cross["pooled_precision"]
        lines.append(
            f"fitted on the other folds, scored on each: mean accuracy {cross['mean_accuracy']:.3f}, "
            f"mean ECE {cross['mean_ece']:.3f}, "
            f"precision {'-' if precision is None else f'{precision:.3f}'} at coverage {cross['pooled_coverage']:.3f}"
        )
    return "\n".join(lines)
