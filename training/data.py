"""Torch datasets and the class-balancing sampler over a ``SampleSet``.

A file that fails to decode mid-epoch yields label -1 and is dropped from the batch by
the loss mask; the loop counts and reports these, so one bad file never stops training.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from binwatch.datasets.images import ImageDecodeError
from binwatch.datasets.manifest import Sample, SampleSet

log = logging.getLogger(__name__)
BAD_SAMPLE = -1


class ImageDataset(Dataset):
    def __init__(self, samples: SampleSet, labels: list[str], transform, size: int):
        self.samples = samples.samples
        self.store = samples.store
        self.index = {label: i for i, label in enumerate(labels)}
        self.transform = transform
        self.size = size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        sample = self.samples[i]
        try:
            item = sample.item
            if item is None or item not in self.index:
                raise KeyError(f"item {item!r} is not one of the model's labels")
            return self.transform(self.store.read_rgb(sample.path)), self.index[item]
        except (ImageDecodeError, OSError, KeyError) as exc:
            log.warning("skipping %s: %s", sample.path, exc)
            return torch.zeros(3, self.size, self.size), BAD_SAMPLE


def require_readable(samples: SampleSet, side: str) -> None:
    """Refuse a side of a run without one image that decodes: training would drop every batch
    and keep an untrained model. Reads images in order only until one decodes."""
    if not samples.samples:
        raise ValueError(f"{samples.store.location}: no {side} images")
    first_error = None
    for sample in samples.samples:
        try:
            samples.store.read_rgb(sample.path)
            return
        except (ImageDecodeError, OSError) as exc:
            first_error = first_error or exc
    raise ValueError(
        f"{samples.store.location}: no readable {side} images (none of {len(samples)} decodes; first: {first_error})"
    )


REVIEW_SOURCE = "review"


def balanced_weights(samples: list[Sample], review_weight: float = 1.0) -> list[float]:
    """Each category gets the same share of draws; within one, items by the square root of
    their count, so rare items are seen more often without repeating 80 images to death.
    Crops that supervisors reviewed are drawn ``review_weight`` times as often: they are
    the rare pictures taken by a real bin camera."""
    items = Counter((s.category, s.item) for s in samples)
    mass: defaultdict[str, float] = defaultdict(float)
    for (category, _), n in items.items():
        mass[category] += n**0.5
    return [
        items[s.category, s.item] ** -0.5 / mass[s.category] * (review_weight if s.source == REVIEW_SOURCE else 1)
        for s in samples
    ]


def balanced_sampler(samples: list[Sample], num_samples: int, seed: int, review_weight: float = 1.0):
    generator = torch.Generator().manual_seed(seed)
    weights = balanced_weights(samples, review_weight)
    return WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)
