"""Augmentation for a camera looking down into a bin.

Two kinds of view. A *camera view* (``camera_views``, drawn with probability ``camera``) cuts
the item out and lays it into a bin-top scene at the edge's crop size, as the agent would crop it.
A *photo view* keeps the photo: items arrive at any orientation (rotations, both flips), partly
out of frame (crops), under changing light (colour), out of focus or moving (blur), through a
cheap encoder (JPEG), and half-hidden by a hand (random erasing); the photo is first letterboxed
a little larger than the input, with the same grey padding evaluation uses.

Given a generator, a view is the same every time it is asked for (stored features rely on that).
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms import v2

from binwatch.datasets.preprocess import Preprocess
from binwatch.training.camera_views import SceneMaker


class TrainTransform:
    def __init__(
        self, preprocess: Preprocess, strength: float = 1.0, scenes: SceneMaker | None = None, camera: float = 0.0
    ):
        self.preprocess, self.scenes, self.camera = preprocess, scenes, camera
        fill = preprocess.pad_value
        s = strength
        self.pipeline = v2.Compose(
            [
                v2.RandomResizedCrop(preprocess.size, scale=(0.35, 1.0), ratio=(0.75, 1.333), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.RandomVerticalFlip(),
                v2.RandomApply([v2.RandomRotation(180, fill=fill)], p=0.5 * s),
                v2.ColorJitter(brightness=0.4 * s, contrast=0.4 * s, saturation=0.3 * s, hue=0.04 * s),
                v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 2.0))], p=0.25 * s),
                v2.RandomApply([v2.JPEG((30, 90))], p=0.3 * s),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(preprocess.mean), list(preprocess.std)),
                v2.RandomErasing(p=0.2 * s, scale=(0.02, 0.15), value=0.0),
            ]
        )

    def __call__(
        self, rgb: np.ndarray, rng: np.random.Generator | None = None, camera: bool | None = None
    ) -> torch.Tensor:
        """A view of ``rgb``: a camera view with probability ``self.camera``, or as ``camera`` says."""
        if rng is None:  # a fresh view, from torch's generator (seeded per DataLoader worker)
            rng = np.random.default_rng(int(torch.randint(2**62, ()).item()))
        else:  # the photo pipeline draws from torch's generator: seed it from ``rng``
            torch.manual_seed(int(rng.integers(2**62)))
        if camera is None:
            camera = rng.random() < self.camera
        if camera:
            if self.scenes is None:
                raise ValueError("camera views need a SceneMaker")
            return torch.from_numpy(self.preprocess(self.scenes(rgb, rng)))
        big = self.preprocess.letterbox(rgb, round(self.preprocess.size * 1.15))
        return self.pipeline(torch.from_numpy(big).permute(2, 0, 1).contiguous())


class EvalTransform:
    """Exactly the preprocessing ``inference/`` applies (same numpy code)."""

    def __init__(self, preprocess: Preprocess):
        self.preprocess = preprocess

    def __call__(self, rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.preprocess(rgb))
