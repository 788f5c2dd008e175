"""The evidence of a disposal: an annotated snapshot, the item crop and a clip.

Everything outside the bin openings is blurred before it is encoded (unless the site
turns ``clips.blur_outside_bins`` off), so no face or passer-by ever reaches the disk,
let alone the collector. The classifier still sees the unblurred item.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets import taxonomy
from binwatch.edge import clip, storage
from binwatch.edge.config import BinConfig, ClipConfig, ZoneConfig
from binwatch.edge.isolate import CROP_MARGIN, Box
from binwatch.events.schema import Evidence, EvidenceKind

BLUR_FACTOR = 24  # blurred areas keep 1/24 of their resolution: shapes stay, faces do not
PRE_SHRINK = 8  # the whole-number first step of shrinking by BLUR_FACTOR
JPEG_QUALITY = 88
OUTLINE, HIGHLIGHT = (255, 255, 255), (0, 230, 255)  # BGR: white, yellow
SUFFIXES = {EvidenceKind.SNAPSHOT: "snapshot.jpg", EvidenceKind.CROP: "crop.jpg", EvidenceKind.CLIP: "clip.mp4"}


class Redactor:
    """Blurs what lies outside the bin polygons, at whatever size an image comes in."""

    def __init__(self, bins: Sequence[BinConfig], frame_size: tuple[int, int], enabled: bool):
        self.polygons = [np.asarray(b.polygon, np.float64) for b in bins]
        self.frame_size = frame_size
        self.enabled = enabled
        self._masks: dict[tuple[int, int], np.ndarray] = {}

    def _mask(self, size: tuple[int, int]) -> np.ndarray:
        if size not in self._masks:
            scale = np.array([size[0] / self.frame_size[0], size[1] / self.frame_size[1]])
            mask = np.zeros((size[1], size[0]), np.uint8)
            cv2.fillPoly(mask, [np.round(p * scale).astype(np.int32) for p in self.polygons], 255)
            self._masks[size] = mask
        return self._masks[size]

    def __call__(self, image: np.ndarray, keep: Box | None = None) -> np.ndarray:
        """``image`` blurred outside the bins and outside ``keep`` (a box in frame coordinates: the
        litter of a ground event, which nobody stands on when it is written)."""
        if not self.enabled:
            return image
        h, w = image.shape[:2]
        out = cv2.resize(_shrunk(image), (w, h), interpolation=cv2.INTER_LINEAR)
        cv2.copyTo(image, self._mask((w, h)), out)  # the bins sharp; twice as fast as np.where per clip frame
        if keep is not None:
            keep.cut(out)[:] = keep.cut(image)
        return out


def _shrunk(image: np.ndarray) -> np.ndarray:
    """``image`` at 1/``BLUR_FACTOR`` of its size, each pixel the mean of the area it covers.

    OpenCV averages areas fast only for a whole-number factor, so the bulk of the shrinking is done
    by ``PRE_SHRINK`` on the part of the image that divides by it (what is cut off is under
    ``PRE_SHRINK`` pixels at the right and bottom edges): a quarter of the CPU of one step.
    """
    h, w = image.shape[:2]
    target = (max(1, w // BLUR_FACTOR), max(1, h // BLUR_FACTOR))
    if w >= BLUR_FACTOR and h >= BLUR_FACTOR:
        whole = image[: h - h % PRE_SHRINK, : w - w % PRE_SHRINK]
        size = (whole.shape[1] // PRE_SHRINK, whole.shape[0] // PRE_SHRINK)
        image = cv2.resize(whole, size, interpolation=cv2.INTER_AREA)
    return cv2.resize(image, target, interpolation=cv2.INTER_AREA)


def draw_bins(frame: np.ndarray, bins: Sequence[BinConfig], highlight: int | None = None) -> np.ndarray:
    """The frame with every bin opening outlined (yellow: ``highlight``) and labelled with its
    id on a tag in its GB/T 19095 colour: the outline must stand out on a bin of that colour."""
    out = frame.copy()
    thickness = max(2, frame.shape[1] // 500)
    for i, b in enumerate(bins):
        points = np.asarray(b.polygon, np.int32)
        colour = HIGHLIGHT if i == highlight else OUTLINE
        cv2.polylines(out, [points], True, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.polylines(out, [points], True, colour, thickness, cv2.LINE_AA)
        r, g, bl = taxonomy.category(b.category).rgb
        _tag(out, f"{b.id} ({b.category})", (int(points[:, 0].min()), int(points[:, 1].min())), (bl, g, r))
    return out


def _tag(image: np.ndarray, text: str, corner: tuple[int, int], background: tuple[int, int, int]) -> None:
    """``text`` in white on a filled box whose top-left corner is ``corner`` (kept in the image)."""
    scale = max(0.4, image.shape[1] / 2400)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = min(max(corner[0], 0), image.shape[1] - w - 6)
    y = min(max(corner[1], 0), image.shape[0] - h - base - 6)
    cv2.rectangle(image, (x, y), (x + w + 6, y + h + base + 6), background, -1)
    cv2.putText(image, text, (x + 3, y + h + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


@dataclass(frozen=True)
class EvidenceFile:
    evidence: Evidence
    path: Path


def _describe(kind: EvidenceKind, path: Path, data: bytes) -> EvidenceFile:
    return EvidenceFile(
        Evidence(kind=kind, name=path.name, sha256=hashlib.sha256(data).hexdigest(), size=len(data)), path
    )


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError("JPEG encoding failed")
    return data.tobytes()


class EvidenceWriter:
    """Writes one event's files durably under the storage layout and describes them."""

    def __init__(
        self, layout: storage.Layout, bins: Sequence[BinConfig], frame_size: tuple[int, int], clips: ClipConfig
    ):
        self.layout, self.bins, self.clips = layout, list(bins), clips
        self.redact = Redactor(bins, frame_size, clips.blur_outside_bins)

    def write(
        self,
        event_id: uuid.UUID,
        bin_index: int | None,
        frame: np.ndarray,
        box: Box | None,
        label: str,
        clip_frames: Sequence[tuple[datetime, bytes]] | None,
        zone: ZoneConfig | None = None,
    ) -> list[EvidenceFile]:
        """Snapshot and clip when ``clip_frames`` is given (a flagged event); the crop whenever
        an item was found. ``box`` is in frame coordinates. A ground ``zone``'s event (``bin_index``
        None) outlines the zone, and its ``box`` is kept sharp: it is the litter."""
        redacted = self.redact(frame, box if zone is not None else None)
        out = []
        if clip_frames is not None:
            snapshot = draw_bins(redacted, self.bins, highlight=bin_index)
            if zone is not None:
                points = np.asarray(zone.polygon, np.int32)
                cv2.polylines(snapshot, [points], True, HIGHLIGHT, max(2, frame.shape[1] // 500), cv2.LINE_AA)
                corner = (int(points[:, 0].min()), int(points[:, 1].min()))
                _tag(snapshot, f"{zone.id} ({zone.kind})", corner, (0, 0, 0))
            if box is not None:
                cv2.rectangle(snapshot, (box.x, box.y), (box.x + box.w, box.y + box.h), HIGHLIGHT, 2)
                _tag(snapshot, label, (box.x, box.y + box.h + 2), (0, 0, 0))
            out.append(self._place(event_id, EvidenceKind.SNAPSHOT, _jpeg(snapshot)))
        if box is not None:
            crop = box.grown(CROP_MARGIN, (frame.shape[1], frame.shape[0])).cut(redacted)
            out.append(self._place(event_id, EvidenceKind.CROP, _jpeg(crop)))
        if clip_frames:
            name = f"{event_id}-{SUFFIXES[EvidenceKind.CLIP]}"
            path = storage.place(
                self.layout, name, lambda tmp: clip.write_mp4(tmp, clip_frames, self.clips.codec, self.redact)
            )
            out.append(_describe(EvidenceKind.CLIP, path, path.read_bytes()))
        return out

    def _place(self, event_id: uuid.UUID, kind: EvidenceKind, data: bytes) -> EvidenceFile:
        return _describe(kind, storage.place_bytes(self.layout, f"{event_id}-{SUFFIXES[kind]}", data), data)
