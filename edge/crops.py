"""The crops of one item that the classifier sees: several moments, two scales, enlarged on a
stated policy.

One crop of one frame decides nothing (``consensus``): its mistakes are the mistakes of that
frame. The crops therefore differ where a camera's picture differs. **Moments**: the settled
view (the mean of the clear frames that ended the disposal) and the moment the item landed
(one frame, the person still at the bin: other light, other shadows, other compression).
**Scales**: tight, with everything around the item's outline painted the model's letterbox
grey (what else lies in the bin is not what is classified), and with context (the box grown
by ``CONTEXT_MARGIN``, nothing painted), which keeps what the outline cut off. **Mirrored**:
an item is the same item in a mirror, and the model is not.

**Upscaling policy.** Crops are cut from the camera's full-resolution frame. An item of real
size in a 1280×720 picture is about 64 px long, less than half the model's input; a crop
smaller than the input is enlarged with bicubic interpolation (sharper than the letterbox's
bilinear) until its long side fills the input, but by at most ``MAX_UPSCALE`` times: more
would invent detail, so a smaller crop stays smaller and is padded by the letterbox.
"""

from __future__ import annotations

import cv2
import numpy as np

from binwatch.edge.isolate import Box, Found
from binwatch.edge.region import View

TIGHT_MARGIN = 0.06  # of the item's size, each side: its outline's edge stays in the crop
CONTEXT_MARGIN = 0.3
MAX_UPSCALE = 4.0


def item_crops(found: Found, settled: View, landed: View | None, count: int, size: int, fill: int) -> list[np.ndarray]:
    """Up to ``count`` RGB crops of ``found`` (in the views' region coordinates), in order of
    preference: settled tight, landed tight, settled with context, then the same mirrored."""
    views = [settled] + ([landed] if landed is not None else [])
    tight = [_tight(found, v, fill) for v in views]
    context = [_context(found.box, settled)]
    ordered = tight + context
    ordered += [np.ascontiguousarray(crop[:, ::-1]) for crop in ordered]
    return [_enlarge(crop, size) for crop in ordered[:count]]


def _pixels(view: View) -> np.ndarray:
    return np.clip(view.image, 0, 255).astype(np.uint8) if view.image.dtype != np.uint8 else view.image


def _tight(found: Found, view: View, fill: int) -> np.ndarray:
    image = _pixels(view)
    bounds = (image.shape[1], image.shape[0])
    box = found.box.grown(TIGHT_MARGIN, bounds)
    crop = box.cut(image).copy()
    outline = np.zeros(crop.shape[:2], np.uint8)
    dx, dy = found.box.x - box.x, found.box.y - box.y
    outline[dy : dy + found.box.h, dx : dx + found.box.w] = found.mask
    kept = cv2.dilate(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    crop[kept == 0] = fill
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def _context(box: Box, view: View) -> np.ndarray:
    image = _pixels(view)
    crop = box.grown(CONTEXT_MARGIN, (image.shape[1], image.shape[0])).cut(image)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def _enlarge(crop: np.ndarray, size: int) -> np.ndarray:
    """Bicubic, up to the model's input size or ``MAX_UPSCALE``, whichever comes first."""
    long_side = max(crop.shape[:2])
    factor = min(size / max(1, long_side), MAX_UPSCALE)
    if factor <= 1.0:
        return crop
    new = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    return cv2.resize(crop, new, interpolation=cv2.INTER_CUBIC)
