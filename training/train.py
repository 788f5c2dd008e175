"""The training loop: AdamW, warm-up + cosine schedule, EMA, AMP on CUDA, resumable.

The best checkpoint is chosen by validation macro-F1 over the four categories, which is
what the edge acts on; item metrics are logged beside it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler
from timm.utils import ModelEmaV3
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from binwatch.datasets import manifest, split, stats, taxonomy
from binwatch.datasets.preprocess import Preprocess
from binwatch.inference.metrics import category_report, item_report
from binwatch.model import checkpoint
from binwatch.model.network import ItemAndCategory, create_model
from binwatch.training.augment import EvalTransform, TrainTransform
from binwatch.training.config import TrainConfig
from binwatch.training.data import BAD_SAMPLE, ImageDataset, balanced_sampler

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def freeze_early_blocks(net: nn.Module, n_blocks: int) -> None:
    """On a CPU, freezing the stem and first blocks trades a little accuracy for speed."""
    parts = dict(net.named_children())  # timm's EfficientNet: conv_stem, bn1, blocks, …
    frozen = [parts["conv_stem"], parts["bn1"], *list(parts["blocks"].children())[:n_blocks]]
    for module in frozen:
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)


def load_splits(cfg: TrainConfig):
    data = manifest.load(cfg.data)
    with_items = [s for s in data.samples if s.item]
    if len(with_items) < len(data.samples):
        data.skipped["no item label (category folder)"] += len(data.samples) - len(with_items)
    if cfg.val_data:
        train_samples, val_set = with_items, manifest.load(cfg.val_data)
        val_set.samples = [s for s in val_set.samples if s.item]
    else:
        train_samples, val_samples = split.split_by_group(with_items, cfg.val_fraction, cfg.seed)
        val_set = data.subset(val_samples)
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        train_samples = [train_samples[i] for i in sorted(rng.permutation(len(train_samples))[: cfg.limit])]
        val_set.samples = [val_set.samples[i] for i in sorted(rng.permutation(len(val_set))[: max(cfg.limit // 4, 8)])]
    log.info(
        "data %s: %d train, %d val; skipped: %s", cfg.data, len(train_samples), len(val_set), data.describe_skips()
    )
    train_set = data.subset(train_samples)
    train_set.skipped = data.skipped
    return train_set, val_set


@torch.no_grad()
def evaluate(model: ItemAndCategory, loader: DataLoader, device: torch.device, labels: list[str]) -> dict:
    model.eval()
    item_probs, cat_probs, targets = [], [], []
    for x, y in loader:
        keep = y != BAD_SAMPLE
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            p_item, p_cat = model(x[keep].to(device, non_blocking=True))
        item_probs.append(p_item.float().cpu())
        cat_probs.append(p_cat.float().cpu())
        targets.append(y[keep])
    p_item = torch.cat(item_probs).numpy()
    p_cat = torch.cat(cat_probs).numpy()
    y_item = torch.cat(targets).numpy()
    categories = list(taxonomy.CATEGORY_KEYS)
    cat_index = np.array([categories.index(taxonomy.category_of(label)) for label in labels])
    report = category_report(p_cat, cat_index[y_item], categories)
    report["item"] = item_report(p_item, y_item, labels)
    return report


def train(cfg: TrainConfig, splits: tuple[manifest.SampleSet, manifest.SampleSet] | None = None) -> Path:
    """Train and return the best checkpoint's path; ``splits`` overrides reading ``cfg.data``."""
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.resume and not (out / "last.pt").is_file():
        raise FileNotFoundError(f"--resume: no {out / 'last.pt'} to resume from")
    device = resolve_device(cfg.device)
    train_set, val_set = splits or load_splits(cfg)
    labels = list(taxonomy.ITEM_KEYS)
    preprocess = Preprocess(size=cfg.size)
    version = cfg.version or time.strftime("%Y%m%d-%H%M")

    weights = Path(cfg.pretrained_weights) if cfg.pretrained_weights else None
    net = create_model(len(labels), pretrained=cfg.init is None, weights=weights)
    if cfg.init:
        init = checkpoint.load(cfg.init)
        if init["info"]["labels"] != labels:
            raise ValueError(f"{cfg.init}: its labels differ from this taxonomy's items; cannot fine-tune")
        net.load_state_dict(init["state_dict"])
    if cfg.freeze_blocks:
        freeze_early_blocks(net, cfg.freeze_blocks)
    net.to(device)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)

    pin = device.type == "cuda"
    steps_per_epoch = max(1, len(train_set) // cfg.batch_size)
    train_loader = DataLoader(
        ImageDataset(train_set, labels, TrainTransform(preprocess, cfg.augment_strength), cfg.size),
        batch_size=cfg.batch_size,
        sampler=balanced_sampler(train_set.samples, steps_per_epoch * cfg.batch_size, cfg.seed, cfg.review_weight),
        num_workers=cfg.workers,
        pin_memory=pin,
        drop_last=True,
        persistent_workers=cfg.workers > 0,
    )
    val_loader = DataLoader(
        ImageDataset(val_set, labels, EvalTransform(preprocess), cfg.size),
        batch_size=cfg.batch_size,
        num_workers=cfg.workers,
        pin_memory=pin,
        persistent_workers=cfg.workers > 0,
    )

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
        net.load_state_dict(state["state_dict"])
        ts = state["train_state"]
        optimizer.load_state_dict(ts["optimizer"])
        ema.module.load_state_dict(ts["ema"])
        start_epoch, best_f1, version = ts["epoch"] + 1, ts["best_f1"], state["info"]["version"]
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
            },
            indent=2,
        )
    )
    metrics_log = (out / "metrics.jsonl").open("a")
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        if cfg.freeze_blocks:
            freeze_early_blocks(net, cfg.freeze_blocks)
        running, seen, bad, t0 = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False)
        for step, (x, y) in enumerate(bar):
            keep = y != BAD_SAMPLE
            bad += int((~keep).sum())
            if not keep.any():
                continue
            x, y = x[keep].to(device, non_blocking=True), y[keep].to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = criterion(net(x), y)
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

        model = ItemAndCategory(ema.module, labels, list(taxonomy.CATEGORY_KEYS)).to(device)
        report = evaluate(model, val_loader, device, labels)
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
        if report["macro_f1"] > best_f1:
            best_f1 = report["macro_f1"]
            info = checkpoint.ModelInfo(labels, preprocess, version, metrics={"epoch": epoch + 1, **report})
            checkpoint.save(best_path, ema_state, info)
        train_state = {
            "optimizer": optimizer.state_dict(),
            "ema": ema_state,
            "epoch": epoch,
            "best_f1": best_f1,
        }
        info = checkpoint.ModelInfo(labels, preprocess, version, metrics={"epoch": epoch + 1})
        checkpoint.save(last_path, {k: v.detach().cpu() for k, v in net.state_dict().items()}, info, train_state)
    metrics_log.close()
    log.info("best validation macro-F1 %.4f → %s", best_f1, best_path)
    return best_path
