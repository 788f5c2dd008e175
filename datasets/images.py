"""Decode image files into RGB uint8 arrays, with errors that say what is wrong.

Everything downstream (training, inference, the edge) sees one format: H×W×3, uint8,
RGB order, upright as a viewer shows it (a phone's EXIF orientation applied). Grayscale,
16-bit, alpha and CMYK files are converted, and an iPhone's HEIC photos are read with
pillow-heif (OpenCV has no HEVC decoder); corrupt and truncated files, and headers that
claim more pixels than OpenCV decodes, raise ``ImageDecodeError`` instead of yielding half
an image.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = 0xDA
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length follows
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".webp", ".tif", ".tiff", ".avif", ".heic", ".heif"}
)
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
EXIF_ORIENTATION = 0x0112
_ORIENTED = {  # EXIF orientation → what turns the stored pixels upright
    1: lambda a: a,
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.transpose(a), -1),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


class ImageDecodeError(ValueError):
    """The bytes are not an image this project can use."""


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to RGB uint8."""
    if not data:
        raise ImageDecodeError(f"{name}: empty file")
    if data.startswith(JPEG_SOI) and not _jpeg_ends(data):
        raise ImageDecodeError(f"{name}: truncated JPEG (no end-of-image marker)")
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return to_rgb8(_decode_heif(data, name), name)
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error as exc:  # a header claiming more than CV_IO_MAX_IMAGE_PIXELS (2^30), for one
        raise ImageDecodeError(f"{name}: cannot be decoded ({exc.err})") from None
    if image is None:
        raise ImageDecodeError(f"{name}: not a decodable image (corrupt or unsupported format)")
    return to_rgb8(upright(image, exif_orientation(data)), name)


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) a phone writes instead of turning the pixels; 1 when there is none.

    Read by Pillow, which parses the header only (the pixels stay OpenCV's to decode)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return 1
    return orientation if orientation in _ORIENTED else 1


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels as a viewer shows the photo: training photos are upright, so a phone's must be too."""
    return _ORIENTED[orientation](image)


def _decode_heif(data: bytes, name: str) -> np.ndarray:
    """A HEIF/HEIC image as OpenCV would give it (BGR or BGRA), at 8 bits (an iPhone's HDR photo has 10)."""
    import pillow_heif  # only HEIF photos need it

    try:
        rgb = np.asarray(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True))
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        raise ImageDecodeError(f"{name}: not a decodable HEIF image ({exc})") from None
    if rgb.ndim == 3 and rgb.shape[2] in (3, 4):
        return rgb[..., [2, 1, 0, 3][: rgb.shape[2]]]
    return rgb


def _jpeg_ends(data: bytes) -> bool:
    """Whether the main image of a JPEG has its end-of-image marker: the first one after its first scan.

    Not simply the file's last bytes: a phone's motion photo or a multi-picture file carries more data
    after it, and an EXIF thumbnail before the scan has an end marker of its own (skipped with its segment).
    Inside a scan a 0xFF byte is always followed by 0x00 or a restart marker, so the scan ends at 0xFFD9.
    """
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker in _STANDALONE_MARKERS:
            i += 2
        elif marker == _JPEG_SOS:
            return data.find(JPEG_EOI, i + 2) >= 0
        else:
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return False


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
