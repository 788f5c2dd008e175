"""The evaluation-time preprocessing, in numpy and OpenCV, shared by training and inference.

Training's validation transform and the ONNX runtime call this same code, so a model
sees identical pixels in both. The parameters travel in the model file's metadata.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

RESIZE_RULES = ("letterbox",)


@dataclass(frozen=True)
class Preprocess:
    """Letterbox: keep the aspect ratio, fit the long side, pad with ``pad_value`` grey.

    Items in a bin come in any shape; squashing a chopstick to a square or cropping
    the ends off a bottle would throw away what identifies it.
    """

    size: int = 160
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resize: str = "letterbox"
    channel_order: str = "RGB"
    pad_value: int = 128

    def __post_init__(self):
        if self.resize not in RESIZE_RULES:
            raise ValueError(f"unknown resize rule {self.resize!r}; known: {', '.join(RESIZE_RULES)}")
        if self.channel_order != "RGB":
            raise ValueError(f"unsupported channel order {self.channel_order!r}")
        if not 16 <= self.size <= 1024:
            raise ValueError(f"input size {self.size} out of range")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Preprocess:
        return cls(**{**data, "mean": tuple(data["mean"]), "std": tuple(data["std"])})

    def letterbox(self, rgb: np.ndarray, size: int | None = None) -> np.ndarray:
        """RGB uint8 of any shape → ``size``×``size`` RGB uint8."""
        size = size or self.size
        h, w = rgb.shape[:2]
        scale = size / max(h, w)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
        out = np.full((size, size, 3), self.pad_value, dtype=np.uint8)
        top, left = (size - new_h) // 2, (size - new_w) // 2
        out[top : top + new_h, left : left + new_w] = resized
        return out

    def normalize(self, rgb: np.ndarray) -> np.ndarray:
        """``size``×``size`` RGB uint8 → 3×size×size float32, mean/std applied."""
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        x = (rgb.astype(np.float32) / np.float32(255.0) - mean) / std
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.normalize(self.letterbox(rgb))

    def batch(self, images: list[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, 3, self.size, self.size), np.float32)
        return np.stack([self(image) for image in images])
