"""The training loop: AdamW, warm-up + cosine schedule, EMA, AMP on CUDA, resumable.

Two ways through the network, one loop. End to end (a GPU): every view is made fresh and
passes through the whole network. Stored (``--store-views``, a CPU): the frozen stem and
first blocks ran once over a fixed set of views per image (``features``) and only the rest is
trained. Validation is the group split, or whole held-out sources (``--val-sources``): the
figure that says how a model does on a camera it never saw. With held-out sources the
calibration (temperature, abstain threshold) is fitted on them and stored in the checkpoint.

The kept checkpoint is the best validation macro-F1 over the four categories (what the edge
acts on), or the last epoch (``--select last``, so that a leave-one-source-out figure is not
chosen on the source it reports).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler
from timm.utils import ModelEmaV3
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from binwatch.datasets import manifest, split, stats, taxonomy
from binwatch.datasets.preprocess import Preprocess
from binwatch.inference import calibration
from binwatch.inference.metrics import category_report, item_report
from binwatch.model import checkpoint
from binwatch.model.network import create_model, frozen_parts, relabel_head, tail
from binwatch.training.augment import EvalTransform, TrainTransform
from binwatch.training.camera_views import SceneMaker
from binwatch.training.config import TrainConfig
from binwatch.training.data import BAD_SAMPLE, ImageDataset, balanced_sampler, balanced_weights, require_readable
from binwatch.training.features import FeatureStore

log = logging.getLogger(__name__)
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]  # inputs, labels, teacher logits
Predictions = tuple[np.ndarray, np.ndarray, np.ndarray]  # item probabilities, item labels, positions


def resolve_device(name: str) -> torch.device:
    """The device ``--device`` names, refused now when it is no such name or not on this machine
    (torch would only fail at the first tensor moved there)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise ValueError(f"--device {name}: expected auto, cpu, cuda or cuda:N")
    device = torch.device(name)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and not count:
        raise ValueError(f"--device {name}: no CUDA device is available")
    if device.type == "cuda" and (device.index or 0) >= count:
        raise ValueError(f"--device {name}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return device


def freeze_early_blocks(net: nn.Module, n_blocks: int) -> None:
    """On a CPU, freezing the stem and first blocks trades a little accuracy for speed."""
    for module in frozen_parts(net, n_blocks):
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)


def item_labelled(data: manifest.SampleSet) -> list[manifest.Sample]:
    with_items = [s for s in data.samples if s.item]
    if len(with_items) < len(data.samples):
        data.skipped["no item label (category folder)"] += len(data.samples) - len(with_items)
    return with_items


def load_splits(cfg: TrainConfig) -> tuple[manifest.SampleSet, manifest.SampleSet]:
    data = manifest.load(cfg.data)
    with_items = item_labelled(data)
    held = split.parse_sources(cfg.val_sources)
    if cfg.val_data:
        train_samples, val_set = with_items, manifest.load(cfg.val_data)
        val_set.samples = [s for s in val_set.samples if s.item]
    elif held:
        train_samples, val_samples = split.split_by_source(with_items, held)
        val_set = data.subset(val_samples)
    else:
        train_samples, val_samples = split.split_by_group(with_items, cfg.val_fraction, cfg.seed)
        val_set = data.subset(val_samples)
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        train_samples = [train_samples[i] for i in sorted(rng.permutation(len(train_samples))[: cfg.limit])]
        val_set.samples = [val_set.samples[i] for i in sorted(rng.permutation(len(val_set))[: max(cfg.limit // 4, 8)])]
    if cfg.extra_data:
        if cfg.val_data:
            raise ValueError("--extra-data goes with a split of --data or --val-sources, not --val-data")
        train_set, val_set = with_extra(data, train_samples, val_set.samples, cfg.extra_data, held)
    else:
        train_set = data.subset(train_samples)
        train_set.skipped = data.skipped
    log.info(
        "data %s: %d train, %d val; skipped: %s", cfg.data, len(train_set), len(val_set), train_set.describe_skips()
    )
    return train_set, val_set


def with_extra(
    data: manifest.SampleSet, train: list[manifest.Sample], val: list[manifest.Sample], extra: str, held: list[str]
) -> tuple[manifest.SampleSet, manifest.SampleSet]:
    """Training and validation sides of one merged set: ``data``'s, plus the extra data sets on the
    training side minus their rows of a held-out source or a validation group (scene crops made from
    a validation photo carry its group and source)."""
    val_groups = {s.group for s in val}
    parts = {"data": data.subset(train + val)}
    parts["data"].skipped = data.skipped
    for k, location in enumerate(split.parse_sources(extra)):
        more = manifest.load(location)
        kept = [s for s in item_labelled(more) if s.source not in held and s.group not in val_groups]
        dropped = len(more.samples) - len(kept)
        part = more.subset(kept)
        part.skipped = more.skipped
        if dropped:
            part.skipped["extra row of a held-out source or validation group"] += dropped
        parts[f"extra{k}"] = part
    merged = manifest.merge(parts)
    val_paths = {f"data/{s.path}" for s in val}
    train_side = merged.subset([s for s in merged.samples if s.path not in val_paths])
    train_side.skipped = merged.skipped
    return train_side, merged.subset([s for s in merged.samples if s.path in val_paths])


def build_network(cfg: TrainConfig, labels: list[str]) -> nn.Module:
    """ImageNet weights, or a checkpoint (``--init``) whose head is moved to this taxonomy's labels."""
    weights = Path(cfg.pretrained_weights) if cfg.pretrained_weights else None
    net = create_model(len(labels), pretrained=cfg.init is None, weights=weights, arch=cfg.arch)
    if cfg.init:
        init = checkpoint.load(cfg.init)
        if init["info"].get("arch", cfg.arch) != cfg.arch:
            raise ValueError(f"{cfg.init} is a {init['info']['arch']}, not a {cfg.arch}")
        net.load_state_dict(relabel_head(init["state_dict"], init["info"]["labels"], labels))
    return net


class EndToEnd:
    """Fresh views from a DataLoader through the whole network."""

    def __init__(self, cfg, train_set, val_set, labels, transform, steps_per_epoch, teacher, device):
        pin = device.type == "cuda"
        self.cfg, self.device, self.teacher = cfg, device, teacher
        self.train_loader = DataLoader(
            ImageDataset(train_set, labels, transform, cfg.size),
            batch_size=cfg.batch_size,
            sampler=balanced_sampler(train_set.samples, steps_per_epoch * cfg.batch_size, cfg.seed, cfg.review_weight),
            num_workers=cfg.workers,
            pin_memory=pin,
            drop_last=True,
            persistent_workers=cfg.workers > 0,
        )
        self.val_loader = DataLoader(
            ImageDataset(val_set, labels, EvalTransform(transform.preprocess), cfg.size),
            batch_size=cfg.batch_size,
            num_workers=cfg.workers,
            pin_memory=pin,
            persistent_workers=cfg.workers > 0,
        )

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        for x, y in self.train_loader:
            teacher = None
            if self.teacher is not None:
                with torch.no_grad():
                    teacher = self.teacher(x.to(self.device)).float()
            yield x, y, teacher

    def val_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
        start = 0
        for x, y in self.val_loader:
            yield x, y, np.arange(start, start + len(y))
            start += len(y)

    def forward(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        return net(x)


class Stored:
    """Stored features of fixed views through the trained part only (``training/features.py``)."""

    def __init__(self, cfg, store: FeatureStore, train_set, val_set, labels, steps_per_epoch, teacher_logits):
        self.cfg, self.store, self.teacher_logits = cfg, store, teacher_logits
        index = {label: i for i, label in enumerate(labels)}
        self.train_rows, self.val_rows = store.rows(train_set), store.rows(val_set)
        self.train_y = np.array([index[s.item] for s in train_set.samples])
        self.val_y = np.array([index[s.item] for s in val_set.samples])
        weights = np.asarray(balanced_weights(train_set.samples, cfg.review_weight))
        self.p = weights * store.readable[self.train_rows]
        self.p /= self.p.sum()
        self.steps = steps_per_epoch

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        rng = np.random.default_rng([self.cfg.seed, epoch])
        for _ in range(self.steps):
            pick = rng.choice(len(self.train_rows), self.cfg.batch_size, p=self.p)
            rows = self.train_rows[pick]
            views = self._views(rng, len(rows))
            teacher = None
            if self.teacher_logits is not None:
                teacher = torch.from_numpy(self.teacher_logits[rows, views].astype(np.float32))
            yield self.store.take(rows, views), torch.from_numpy(self.train_y[pick]), teacher

    def _views(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """A stored view per draw: a camera view with probability ``--camera``, else a photo view."""
        photo, camera = self.store.view_kinds()
        if not len(camera) or not len(photo):
            return rng.choice(photo if len(photo) else camera, n)
        return np.where(rng.random(n) < self.cfg.camera, rng.choice(camera, n), rng.choice(photo, n))

    def val_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
        positions = np.flatnonzero(self.store.readable[self.val_rows])
        for start in range(0, len(positions), 256):
            part = positions[start : start + 256]
            rows = self.val_rows[part]
            yield self.store.take(rows, np.zeros(len(rows), np.int64)), torch.from_numpy(self.val_y[part]), part

    def forward(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return tail(net, self.cfg.freeze_blocks, x)


@torch.no_grad()
def predict(net: nn.Module, batches, forward: Callable, device: torch.device) -> Predictions:
    """Item probabilities, item labels and positions in the validation set, unreadable images left out."""
    net.eval()
    probs, targets, positions = [], [], []
    for x, y, where in batches:
        keep = y != BAD_SAMPLE
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = forward(net, x[keep].to(device, non_blocking=True))
        probs.append(logits.float().softmax(-1).cpu())
        targets.append(y[keep])
        positions.append(where[keep.numpy()])
    return torch.cat(probs).numpy(), torch.cat(targets).numpy(), np.concatenate(positions)


def report_for(p_item: np.ndarray, y_item: np.ndarray, labels: list[str]) -> dict:
    categories = list(taxonomy.CATEGORY_KEYS)
    to_category = taxonomy.category_matrix(labels, categories)
    cat_index = to_category.argmax(axis=1)
    report = category_report(p_item @ to_category, cat_index[y_item], categories)
    report["item"] = item_report(p_item, y_item, labels)
    return report


def teacher_for(
    cfg: TrainConfig, labels, device, data, transform, recipe
) -> tuple[nn.Module | None, np.ndarray | None]:
    """The teacher as a network (end to end) or as its logits on every stored view (stored)."""
    if not cfg.teacher:
        return None, None
    payload = checkpoint.load(cfg.teacher)
    info = checkpoint.ModelInfo.from_dict(payload["info"])
    if info.labels != labels:
        raise ValueError(f"{cfg.teacher}: the teacher's labels differ from this taxonomy's items")
    if info.preprocess.size != cfg.size:
        raise ValueError(f"{cfg.teacher}: the teacher's input size {info.preprocess.size} is not --size {cfg.size}")
    net = create_model(len(labels), pretrained=False, arch=info.arch)
    net.load_state_dict(payload["state_dict"])
    net.to(device).eval()
    if not cfg.store_views:
        return net, None
    if not info.freeze_blocks:
        raise ValueError(f"{cfg.teacher}: stored distillation needs a teacher trained with --freeze-blocks")
    store = FeatureStore.open(
        cfg.feature_store, net, info.freeze_blocks, data, transform, cfg.store_views, cfg.seed, recipe
    )
    store.build(net, info.freeze_blocks, data, transform, cfg.seed, device, workers=cfg.workers)
    logits = np.zeros((*store.features.shape[:2], len(labels)), np.float16)
    all_rows = np.arange(len(store.features))
    with torch.no_grad():
        for view in range(store.views + 1):
            for start in range(0, len(all_rows), 256):
                rows = all_rows[start : start + 256]
                x = store.take(rows, np.full(len(rows), view)).to(device)
                logits[rows, view] = tail(net, info.freeze_blocks, x).float().cpu().numpy()
    return None, logits


def train(
    cfg: TrainConfig,
    splits: tuple[manifest.SampleSet, manifest.SampleSet] | None = None,
    universe: manifest.SampleSet | None = None,
    furniture: manifest.SampleSet | None = None,
) -> Path:
    """Train and return the kept checkpoint's path. ``splits`` overrides reading ``cfg.data``.
    Several runs (the folds of ``binwatch loso``) share one store of features by passing the same
    ``universe`` (the images to store views of; by default the training and validation images)
    and ``furniture`` (the photos that furnish camera views; by default the training images)."""
    if cfg.select not in ("best", "last"):
        raise ValueError(f"--select must be best or last, not {cfg.select!r}")
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.resume and not (out / "last.pt").is_file():
        raise FileNotFoundError(f"--resume: no {out / 'last.pt'} to resume from")
    device = resolve_device(cfg.device)
    train_set, val_set = splits or load_splits(cfg)
    require_readable(train_set, "training")
    require_readable(val_set, "validation")
    labels = list(taxonomy.ITEM_KEYS)
    preprocess = Preprocess(size=cfg.size)
    version = cfg.version or time.strftime("%Y%m%d-%H%M")

    net = build_network(cfg, labels)
    if cfg.freeze_blocks:
        freeze_early_blocks(net, cfg.freeze_blocks)
    net.to(device)
    if device.type == "cuda" and not cfg.store_views:
        net.to(memory_format=torch.channels_last)

    scenes = None
    if cfg.camera or cfg.store_views > 1:  # a store holds camera views whatever share training draws
        scenes = SceneMaker(furniture or train_set, cfg.masks, preprocess.pad_value, seed=cfg.seed)
    transform = TrainTransform(preprocess, cfg.augment_strength, scenes, cfg.camera)
    recipe = {"strength": cfg.augment_strength, "furniture": scenes.paths if scenes else []}
    steps_per_epoch = max(1, len(train_set) // cfg.batch_size)
    store_info: dict = {}
    if cfg.store_views:
        everything = universe or one_set(train_set, val_set)
        teacher_net, teacher_logits = teacher_for(cfg, labels, device, everything, transform, recipe)
        store = FeatureStore.open(
            cfg.feature_store, net, cfg.freeze_blocks, everything, transform, cfg.store_views, cfg.seed, recipe
        )
        store_info = store.build(net, cfg.freeze_blocks, everything, transform, cfg.seed, device, workers=cfg.workers)
        batches: EndToEnd | Stored = Stored(cfg, store, train_set, val_set, labels, steps_per_epoch, teacher_logits)
    else:
        teacher_net, _ = teacher_for(cfg, labels, device, train_set, transform, recipe)
        batches = EndToEnd(cfg, train_set, val_set, labels, transform, steps_per_epoch, teacher_net, device)

    optimizer = create_optimizer_v2(
        [p for p in net.parameters() if p.requires_grad], "adamw", lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    total_steps = cfg.epochs * steps_per_epoch
    warmup = min(int(cfg.warmup_epochs * steps_per_epoch), total_steps // 2)
    scheduler = CosineLRScheduler(
        optimizer,
        t_initial=total_steps,
        lr_min=cfg.lr * 0.01,
        warmup_t=warmup,
        warmup_lr_init=cfg.lr * 0.01,
        t_in_epochs=False,
    )
    ema = ModelEmaV3(net, decay=cfg.ema_decay, use_warmup=True)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    start_epoch, best_f1 = 0, -1.0
    last_path, best_path = out / "last.pt", out / "best.pt"
    if cfg.resume:
        state = checkpoint.load(last_path)
        try:  # a run of other options (size, frozen blocks) or a file without its training state
            net.load_state_dict(state["state_dict"])
            ts = state["train_state"]
            optimizer.load_state_dict(ts["optimizer"])
            ema.module.load_state_dict(ts["ema"])
            start_epoch, best_f1, version = ts["epoch"] + 1, ts["best_f1"], state["info"]["version"]
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"--resume: {last_path} cannot be resumed with these options ({type(exc).__name__}: {reason}); "
                "train into another --out"
            ) from None
        log.info("resumed from %s at epoch %d (best macro-F1 %.4f)", last_path, start_epoch, best_f1)

    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    (out / "data_stats.json").write_text(
        json.dumps(
            {
                "train": stats.counts(train_set.samples),
                "val": stats.counts(val_set.samples),
                "skipped": dict(train_set.skipped),
                "review_weight": cfg.review_weight,
                "balancing": "category-balanced sampler, sqrt(item count) within a category",
                "val_sources": split.parse_sources(cfg.val_sources),
                "feature_store": store_info,
            },
            indent=2,
        )
    )

    def info_for(epoch: int, metrics: dict) -> checkpoint.ModelInfo:
        return checkpoint.ModelInfo(
            labels, preprocess, version, cfg.arch, metrics={"epoch": epoch, **metrics}, freeze_blocks=cfg.freeze_blocks
        )

    kept: Predictions | None = None
    metrics_log = (out / "metrics.jsonl").open("a")
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        if cfg.freeze_blocks:
            freeze_early_blocks(net, cfg.freeze_blocks)
        running, seen, bad, t0 = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(
            batches.train_batches(epoch), total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False
        )
        for step, (x, y, teacher) in enumerate(bar):
            keep = y != BAD_SAMPLE
            bad += int((~keep).sum())
            if not keep.any():
                continue
            x, y = x[keep].to(device, non_blocking=True), y[keep].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = batches.forward(net, x)
                loss = criterion(logits, y)
                if teacher is not None:
                    loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * distill_loss(
                        logits.float(), teacher[keep].to(device), cfg.distill_temperature
                    )
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch + 1} step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step_update(epoch * steps_per_epoch + step + 1)
            ema.update(net, step=epoch * steps_per_epoch + step)
            running += loss.item() * len(y)
            seen += len(y)
            bar.set_postfix(loss=f"{running / seen:.3f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
        train_time = time.perf_counter() - t0

        predictions = predict(ema.module, batches.val_batches(), batches.forward, device)
        p_item, y_item, _ = predictions
        report = report_for(p_item, y_item, labels)
        record = {
            "epoch": epoch + 1,
            "train_loss": running / max(seen, 1),
            "lr": optimizer.param_groups[0]["lr"],
            "images_per_s": seen / train_time,
            "skipped_images": bad,
            "val_accuracy": report["accuracy"],
            "val_macro_f1": report["macro_f1"],
            "val_ece": report["ece"],
            "val_item_accuracy": report["item"]["accuracy"],
        }
        metrics_log.write(json.dumps(record) + "\n")
        metrics_log.flush()
        log.info(
            "epoch %d/%d loss %.4f  val acc %.4f macro-F1 %.4f item acc %.4f  %.0f img/s",
            epoch + 1,
            cfg.epochs,
            record["train_loss"],
            report["accuracy"],
            report["macro_f1"],
            report["item"]["accuracy"],
            record["images_per_s"],
        )

        ema_state = {k: v.detach().cpu() for k, v in ema.module.state_dict().items()}
        if cfg.select == "last" or report["macro_f1"] > best_f1:
            best_f1 = report["macro_f1"]  # the kept epoch's, also when it is the last and not the best
            checkpoint.save(best_path, ema_state, info_for(epoch + 1, report))
            kept = predictions
        train_state = {"optimizer": optimizer.state_dict(), "ema": ema_state, "epoch": epoch, "best_f1": best_f1}
        net_state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        checkpoint.save(last_path, net_state, info_for(epoch + 1, {}), train_state)
    metrics_log.close()
    if kept is not None:
        keep_predictions(out, best_path, val_set, labels, kept, cfg)
    log.info("kept validation macro-F1 %.4f → %s", best_f1, best_path)
    return best_path


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton's soft-target loss: KL divergence at ``temperature``, scaled by its square."""
    t = temperature
    return (
        F.kl_div(F.log_softmax(student / t, -1), F.log_softmax(teacher / t, -1), log_target=True, reduction="batchmean")
        * t
        * t
    )


def one_set(train: manifest.SampleSet, val: manifest.SampleSet) -> manifest.SampleSet:
    """Training and validation images as one set, to store features of (they must share a store)."""
    if train.store is not val.store:
        raise ValueError("stored features need training and validation images of one data set (not --val-data)")
    return train.subset(train.samples + val.samples)


def keep_predictions(out: Path, best: Path, val_set, labels, kept: Predictions, cfg: TrainConfig) -> None:
    """Write the kept model's validation predictions (``val_predictions.npz``, for ``loso`` and
    reports) and, when validation is held-out data, fit the calibration on them into ``best``."""
    p_item, y_item, positions = kept
    np.savez(
        out / "val_predictions.npz",
        item_probs=p_item.astype(np.float32),
        y_item=y_item,
        labels=np.array(labels),
        sources=np.array([val_set.samples[i].source for i in positions]),
        paths=np.array([val_set.samples[i].path for i in positions]),
    )
    if not (cfg.val_sources or cfg.val_data):
        return  # a random split is no basis for a calibration that must hold on new cameras
    to_category = taxonomy.category_matrix(labels, list(taxonomy.CATEGORY_KEYS))
    fitted_on = f"held-out {cfg.val_sources or cfg.val_data} ({len(y_item)} images)"
    cal, summary = calibration.fit(p_item, to_category.argmax(1)[y_item], to_category, cfg.target_precision, fitted_on)
    payload = checkpoint.load(best)
    info = checkpoint.ModelInfo.from_dict(payload["info"])
    info.calibration = cal.to_dict()
    info.metrics["calibration_fit"] = summary
    checkpoint.save(best, payload["state_dict"], info)
    rule = calibration.rule_text(cal.abstain_below)
    log.info("calibration on %s: T %.3f, the model %s; %s", fitted_on, cal.temperature, rule, summary)
