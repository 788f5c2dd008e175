"""The few facts about a JPEG the collector needs: is it one, its size, and does it decode."""

from __future__ import annotations

import cv2
import numpy as np

SOI = b"\xff\xd8\xff"
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def is_jpeg(head: bytes) -> bool:
    return head.startswith(SOI)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first start-of-frame segment, or None when there is none."""
    if not data.startswith(SOI):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF_MARKERS and i + 9 <= len(data):
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        if length < 2:
            return None
        i += 2 + length
    return None


def decodes(data: bytes) -> bool:
    """Whether ``data`` decodes as an image: a header alone, or scan data libjpeg cannot read, does not.

    Decoded at an eighth of its size in grey (libjpeg scales in the DCT), so a phone photo costs a few
    milliseconds and a little memory; the caller bounds the pixel count from the header first.
    """
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return image is not None and image.size > 0
