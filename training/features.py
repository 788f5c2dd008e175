"""Stored features of the network's frozen part: what makes training feasible on a CPU.

With the stem and the first blocks frozen, their output depends only on the picture. So each
image is turned into one clean view (view 0, for validation) and ``views`` augmented ones (for
training: odd views are photo views, even ones camera views, so that the share of camera views
is chosen when training, not when storing) once, passed through the frozen part once, and
stored as float16 in a memory-mapped file. Every epoch, fold and run with the same frozen
weights, views and images then trains only the rest of the network on what is stored. A view
is seeded by the store's seed, the image's path and the view's index, so a teacher's store and
a student's store hold features of the same pictures.

A store lives in ``<root>/<fingerprint>/``: the fingerprint hashes everything its contents
depend on, so a changed recipe never reads stale features. Building is resumable: rows are
marked done as they are written, and a killed build continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from binwatch.datasets.images import ImageDecodeError
from binwatch.datasets.manifest import SampleSet
from binwatch.model.network import frozen_parts, trunk
from binwatch.training.augment import EvalTransform, TrainTransform

log = logging.getLogger(__name__)
FLUSH_S = 30.0


def path_seed(path: str) -> int:
    """A stable number for an image path (Python's ``hash`` changes between processes)."""
    return int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "little")


def trunk_digest(net: nn.Module, n_blocks: int) -> str:
    """A hash of the frozen part's weights: stores made with other weights are other stores."""
    h = hashlib.sha256()
    for part in frozen_parts(net, n_blocks):
        for name, tensor in part.state_dict().items():
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class _Views(Dataset):
    """Row ``i`` → its clean view and ``views`` augmented views, preprocessed (or ``ok=False``)."""

    def __init__(self, data: SampleSet, rows: list[int], train: TrainTransform, views: int, seed: int):
        self.data, self.rows, self.train, self.views, self.seed = data, rows, train, views, seed
        self.clean = EvalTransform(train.preprocess)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j: int):
        i = self.rows[j]
        path = self.data.samples[i].path
        size = self.train.preprocess.size
        try:
            rgb = self.data.store.read_rgb(path)
            key = path_seed(path)
            out = [self.clean(rgb)]
            out += [
                self.train(rgb, np.random.default_rng([self.seed, key, k]), camera=k % 2 == 0)
                for k in range(1, self.views + 1)
            ]
            return i, torch.stack(out), True
        except (ImageDecodeError, OSError) as exc:
            log.warning("skipping %s: %s", path, exc)
            return i, torch.zeros(self.views + 1, 3, size, size), False


@dataclass
class FeatureStore:
    folder: Path
    features: np.ndarray  # rows × (views + 1) × C × H × W, float16, memory-mapped; view 0 is clean
    readable: np.ndarray  # rows: the image decoded
    done: np.ndarray  # rows: written
    index: dict[str, int]  # image path → row

    @property
    def views(self) -> int:
        return self.features.shape[1] - 1

    def view_kinds(self) -> tuple[np.ndarray, np.ndarray]:
        """The indices of the photo views and of the camera views."""
        all_views = np.arange(1, self.views + 1)
        return all_views[all_views % 2 == 1], all_views[all_views % 2 == 0]

    @classmethod
    def open(
        cls,
        root: str | Path,
        net: nn.Module,
        n_blocks: int,
        data: SampleSet,
        train: TrainTransform,
        views: int,
        seed: int,
        recipe: dict,
    ) -> FeatureStore:
        """The store for these weights, images and views (created empty when new)."""
        if n_blocks < 1:
            raise ValueError("stored features need a frozen part: set --freeze-blocks to 1 or more")
        paths = [s.path for s in data.samples]
        description = {
            "trunk": trunk_digest(net, n_blocks),
            "freeze_blocks": n_blocks,
            "preprocess": train.preprocess.to_dict(),
            "views": views,
            "seed": seed,
            "recipe": recipe,
            "images": hashlib.sha256("\n".join([str(data.store.location), *paths]).encode()).hexdigest()[:16],
        }
        fingerprint = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:16]
        folder = Path(root) / fingerprint
        folder.mkdir(parents=True, exist_ok=True)
        size = train.preprocess.size
        with torch.inference_mode():
            probe = trunk(net.eval(), n_blocks, torch.zeros(1, 3, size, size))
        shape = (len(paths), views + 1, *probe.shape[1:])
        features_path, state_path = folder / "features.npy", folder / "state.npz"
        if features_path.is_file():
            features = np.load(features_path, mmap_mode="r+")
            if features.shape != shape:
                raise ValueError(f"{features_path}: shape {features.shape}, expected {shape}; delete the folder")
        else:
            features = np.lib.format.open_memmap(features_path, mode="w+", dtype=np.float16, shape=shape)
            (folder / "description.json").write_text(json.dumps(description, indent=2))
        if state_path.is_file():
            state = np.load(state_path)
            readable, done = state["readable"].copy(), state["done"].copy()
        else:
            readable, done = np.zeros(len(paths), bool), np.zeros(len(paths), bool)
        return cls(folder, features, readable, done, {p: i for i, p in enumerate(paths)})

    def rows(self, samples: SampleSet) -> np.ndarray:
        """The rows of ``samples`` (a part of the images the store was opened with)."""
        try:
            return np.array([self.index[s.path] for s in samples.samples], np.int64)
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is not in the feature store {self.folder}") from None

    def _save_state(self) -> None:
        if isinstance(self.features, np.memmap):
            self.features.flush()
        tmp = self.folder / "state.tmp.npz"
        np.savez(tmp, readable=self.readable, done=self.done)
        tmp.replace(self.folder / "state.npz")

    def build(
        self,
        net: nn.Module,
        n_blocks: int,
        data: SampleSet,
        train: TrainTransform,
        seed: int,
        device: torch.device,
        batch_size: int = 16,
        workers: int = 0,
    ) -> dict:
        """Fill the rows not yet written; returns how long it took and how fast it went."""
        pending = [int(i) for i in np.flatnonzero(~self.done)]
        if not pending:
            return {"views_per_s": None, "images": 0, "seconds": 0.0}
        net.eval()
        loader = DataLoader(
            _Views(data, pending, train, self.views, seed),
            batch_size=batch_size,
            num_workers=workers,
            persistent_workers=False,
        )
        began = last_flush = time.perf_counter()
        made = 0
        bar = tqdm(loader, desc=f"storing features ({len(pending)} images)", unit="batch", leave=False)
        for rows, x, ok in bar:
            n, v = x.shape[:2]
            with torch.inference_mode():
                f = trunk(net, n_blocks, x.flatten(0, 1).to(device))
            self.features[rows.numpy()] = f.reshape(n, v, *f.shape[1:]).to(torch.float16).cpu().numpy()
            self.readable[rows.numpy()] = ok.numpy()
            self.done[rows.numpy()] = True
            made += n * v
            bar.set_postfix(views_s=f"{made / (time.perf_counter() - began):.0f}")
            if time.perf_counter() - last_flush > FLUSH_S:
                self._save_state()
                last_flush = time.perf_counter()
        self._save_state()
        seconds = time.perf_counter() - began
        log.info("stored %d views of %d images in %.0f s (%.1f views/s)", made, len(pending), seconds, made / seconds)
        return {"views_per_s": made / seconds, "images": len(pending), "seconds": seconds}

    def take(self, rows: np.ndarray, views: np.ndarray) -> torch.Tensor:
        """Features of ``rows`` at ``views`` (one view index per row), as float32."""
        order = np.argsort(rows, kind="stable")  # memory-mapped reads in file order
        out = np.empty((len(rows), *self.features.shape[2:]), np.float16)
        out[order] = self.features[rows[order], views[order]]
        return torch.from_numpy(out).float()
