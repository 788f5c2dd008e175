"""Fixtures for the ML core: real images from the shipped samples, tiny trained runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "edge" / "simulator" / "samples"
RELEASE = ROOT / "model" / "release"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    assert (SAMPLES / "manifest.csv").is_file(), "the shipped sample images are missing"
    return SAMPLES


@pytest.fixture(scope="session")
def item_folder(tmp_path_factory, samples_dir) -> Path:
    """The samples as a plain ``root/<item>/*.jpg`` folder, plus one corrupt file.

    The corrupt file is a battery: the seeded split puts it on the training side, where
    the category-balanced sampler draws the few hazardous images often."""
    from binwatch.datasets import manifest

    root = tmp_path_factory.mktemp("items")
    data = manifest.load(samples_dir)
    for sample in data.samples:
        target = root / sample.item / Path(sample.path).name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(samples_dir / sample.path, target)
    (root / "battery" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
    return root


TINY = {"epochs": 2, "batch_size": 8, "size": 64, "workers": 0, "device": "cpu", "val_fraction": 0.3}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Cut-out masks and stored features of the tests' runs, shared between them."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_config(item_folder, cache_dir):
    """``(out, **overrides) -> TrainConfig``: two epochs at 64 px on the CPU over ``item_folder``."""
    from binwatch.training.config import TrainConfig

    caches = {"masks": str(cache_dir / "masks"), "feature_store": str(cache_dir / "features")}
    return lambda out, **overrides: TrainConfig(
        **{"data": str(item_folder), "out": str(out), **TINY, **caches, **overrides}
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_config) -> Path:
    """Two epochs of real training on the CPU at 64 px: enough to exercise every part."""
    from binwatch.training.train import train

    out = tmp_path_factory.mktemp("run")
    train(tiny_config(out, version="test-1"))
    return out


@pytest.fixture(scope="session")
def release_pair() -> tuple[Path, Path, Path]:
    """(checkpoint, fp32 onnx, int8 onnx) of the shipped release model."""
    checkpoint = next(RELEASE.glob("binwatch-*.pt"))
    fp32 = next(RELEASE.glob("binwatch-*-fp32.onnx"))
    int8 = next(RELEASE.glob("binwatch-*-int8.onnx"))
    return checkpoint, fp32, int8


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained checkpoint at 64 px, saved without training: for what loading one must check."""
    from binwatch.datasets import taxonomy
    from binwatch.datasets.preprocess import Preprocess
    from binwatch.model import checkpoint
    from binwatch.model.network import create_model

    path = tmp_path_factory.mktemp("checkpoint") / "tiny.pt"
    labels = list(taxonomy.ITEM_KEYS)
    net = create_model(len(labels), pretrained=False)
    checkpoint.save(path, net.state_dict(), checkpoint.ModelInfo(labels, Preprocess(size=64), "tiny-1"))
    return path
