"""Decode image files into RGB uint8 arrays, with errors that say what is wrong.

Everything downstream (training, inference, the edge) sees one format: H×W×3, uint8,
RGB order. Grayscale, 16-bit, alpha and CMYK files are converted; corrupt and truncated
files raise ``ImageDecodeError`` instead of yielding half an image.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class ImageDecodeError(ValueError):
    """The bytes are not an image this project can use."""


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to RGB uint8."""
    if not data:
        raise ImageDecodeError(f"{name}: empty file")
    if data.startswith(JPEG_SOI) and JPEG_EOI not in data[-64:]:
        raise ImageDecodeError(f"{name}: truncated JPEG (no end-of-image marker)")
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise ImageDecodeError(f"{name}: not a decodable image (corrupt or unsupported format)")
    return to_rgb8(image, name)


def read_image(path: str | Path) -> np.ndarray:
    """Read a file from disk and decode it; a missing file is an ``ImageDecodeError`` too."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return decode_image(data, str(path))


def to_rgb8(image: np.ndarray, name: str = "<array>") -> np.ndarray:
    """Bring what OpenCV decoded (BGR, BGRA, gray, 16-bit, float) to RGB uint8."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageDecodeError(f"{name}: unsupported pixel type {image.dtype}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ImageDecodeError(f"{name}: image too small ({image.shape[1]}x{image.shape[0]})")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ImageDecodeError(f"{name}: unsupported image shape {image.shape}")
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        # Composite transparent pixels onto white, as a viewer shows them.
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        bgr = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = bgr.round().astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageDecodeError("JPEG encoding failed")
    return buf.tobytes()


def fit_within(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the long side is at most ``max_side``; never enlarge."""
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
