"""Augmentation for a camera looking down into a bin.

Items arrive at any orientation (rotations, both flips), partly out of frame (crops),
under changing light (colour), out of focus or moving (blur), through a cheap encoder
(JPEG), and half-hidden by a hand (random erasing). Images are first letterboxed a little
larger than the input, with the same grey padding evaluation uses.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms import v2

from binwatch.datasets.preprocess import Preprocess


class TrainTransform:
    def __init__(self, preprocess: Preprocess, strength: float = 1.0):
        self.preprocess = preprocess
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

    def __call__(self, rgb: np.ndarray) -> torch.Tensor:
        big = self.preprocess.letterbox(rgb, round(self.preprocess.size * 1.15))
        return self.pipeline(torch.from_numpy(big).permute(2, 0, 1).contiguous())


class EvalTransform:
    """Exactly the preprocessing ``inference/`` applies (same numpy code)."""

    def __init__(self, preprocess: Preprocess):
        self.preprocess = preprocess

    def __call__(self, rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.preprocess(rgb))
