"""Clips that begin before the disposal: a ring buffer of recent frames, written out as MP4.

Frames wait as JPEG at clip size (about 30 kB each at 640 px instead of 2.7 MB raw at
720p), so a long disposal does not hold hundreds of megabytes. H.264 (``avc1``) is
preferred because supervisors' browsers play it: it is written with PyAV's bundled libx264
(the wheel carries FFmpeg, so no system package is needed), or with OpenCV where its build
has an H.264 encoder. Without either, MPEG-4 Part 2 (``mp4v``) is the fallback, which
players such as VLC read but browsers do not. VP9 (``vp09``) plays in browsers but costs
seconds of CPU per clip; it is there to choose.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

AUTO_ORDER = ("avc1", "mp4v")
JPEG_QUALITY = 80


class ClipBuffer:
    """Timestamped JPEG frames at clip size and at most ``fps`` (0: every frame); the caller
    trims what no clip can still need.

    A frame is kept when the clip's next frame is due, give or take a quarter of a clip frame
    (cameras' timestamps jitter), so a 15 fps camera gives a 10 fps clip two frames of three.
    """

    def __init__(self, frame_size: tuple[int, int], width: int, fps: float = 0.0):
        scale = min(1.0, width / frame_size[0])
        # Codecs want even sizes.
        self.size = (round(frame_size[0] * scale / 2) * 2, round(frame_size[1] * scale / 2) * 2)
        self._period = timedelta(seconds=1 / fps) if fps > 0 else timedelta(0)
        self._due: datetime | None = None
        self._frames: deque[tuple[datetime, bytes]] = deque()

    def add(self, t: datetime, frame_bgr: np.ndarray) -> None:
        due = self._due
        if due is None or t - due > self._period or t < due - 2 * self._period:
            # The start, a gap, or the clock set back (the box's time corrected): the next is due a period on.
            self._due = t + self._period
        elif self._period and t < due - self._period / 4:
            return
        else:
            self._due = due + self._period
        small = cv2.resize(frame_bgr, self.size, interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            self._frames.append((t, data.tobytes()))

    def trim(self, keep_from: datetime) -> None:
        while self._frames and self._frames[0][0] < keep_from:
            self._frames.popleft()

    def between(self, start: datetime, end: datetime) -> list[tuple[datetime, bytes]]:
        return [(t, data) for t, data in self._frames if start <= t <= end]

    def __len__(self) -> int:
        return len(self._frames)


@functools.cache
def pyav_h264() -> bool:
    """Whether PyAV with an H.264 encoder is installed (the edge extra installs it)."""
    if importlib.util.find_spec("av") is None:
        return False
    import av

    return "libx264" in av.codecs_available


@functools.cache
def usable_codec(preference: str) -> str:
    """The fourcc to write with: ``preference``, or for ``auto`` the first of ``AUTO_ORDER``
    that PyAV or this OpenCV build can actually encode (probed once)."""
    candidates = AUTO_ORDER if preference == "auto" else (preference,)
    if candidates[0] == "avc1" and pyav_h264():
        log.info("clips are written as avc1 (H.264, PyAV)")
        return "avc1"
    with tempfile.TemporaryDirectory() as folder, stderr_silenced():
        for fourcc in candidates:
            writer = cv2.VideoWriter(str(Path(folder) / "probe.mp4"), cv2.VideoWriter.fourcc(*fourcc), 15, (64, 64))
            ok = writer.isOpened()
            writer.release()
            if ok:
                log.info("clips are written as %s", fourcc)
                return fourcc
    raise RuntimeError(f"this OpenCV build cannot write MP4 with {', '.join(candidates)}")


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """FFmpeg reports a failed encoder probe straight to file descriptor 2; here that
    failure is expected and the message would only alarm whoever reads the log."""
    saved = os.dup(2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def write_mp4(
    path: Path, frames: Sequence[tuple[datetime, bytes]], codec: str, redact: Callable[[np.ndarray], np.ndarray]
) -> None:
    """Decode the buffered frames, ``redact`` each, and write them at their measured rate."""
    if not frames:
        raise ValueError("a clip needs at least one frame")
    span = (frames[-1][0] - frames[0][0]).total_seconds()
    fps = (len(frames) - 1) / span if span > 0 else 1.0
    first = _decode(frames[0][1])
    rest = (_decode(data) for _, data in frames[1:])  # one at a time: a clip's frames are never all in memory
    fourcc = usable_codec(codec)
    if fourcc == "avc1" and pyav_h264():
        _write_h264(path, itertools.chain((first,), rest), fps, redact)
        return
    size = (first.shape[1], first.shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise OSError(f"{path}: cannot open a video writer")
    try:
        writer.write(redact(first))
        for frame in rest:
            writer.write(redact(frame))
    finally:
        writer.release()


def _decode(jpeg: bytes) -> np.ndarray:
    """A buffered frame back to BGR; OpenCV answers ``None`` for bytes it cannot decode, rather than raising."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("a buffered clip frame does not decode")
    return image


def _write_h264(path: Path, frames, fps: float, redact: Callable[[np.ndarray], np.ndarray]) -> None:
    """H.264 in MP4 with the index up front (``faststart``), so a browser starts playing at once."""
    import av

    images = (redact(frame) for frame in frames)
    first = next(images)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = first.shape[1], first.shape[0], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "28"}
        for image in itertools.chain((first,), images):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
