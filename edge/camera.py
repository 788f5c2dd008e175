"""Frames from the site's camera through OpenCV: a video file, a device index, or a stream URL.

A video file is finite: it ends, and that is the end of the run. Its frames are dated from
the file itself (``file_start``), so that reading it again dates every frame as before, and
a file that ends before the frames its header announces is reported (``shortfall``). A
device or a stream is not finite: when it stops delivering, it is reopened with exponential
backoff, its state is ``reconnecting`` (heartbeats say so) and each loss is logged; it never
ends the run. The first frame after a reopening is marked as following a gap, so motion is
not measured across it. ``first_frame`` grabs a single frame (``check-config``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from binwatch.edge.backoff import backoff_s
from binwatch.edge.config import CameraConfig
from binwatch.edge.timing import Timing
from binwatch.events.schema import CameraState

log = logging.getLogger(__name__)

OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 10_000
QUEUE_FRAMES = 16


class CameraError(OSError):
    """The source cannot be used at all (a video file that will not open)."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR, as OpenCV decodes
    t: datetime
    after_gap: bool = False


def is_file(source: str | int) -> bool:
    return isinstance(source, str) and "://" not in source


def open_capture(source: str | int) -> cv2.VideoCapture:
    if isinstance(source, int):
        return cv2.VideoCapture(source)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)


def video_fps(capture: cv2.VideoCapture, fallback: float) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return fps if 0 < fps <= 240 else fallback


def file_start(capture: cv2.VideoCapture, path: str, fps: float) -> datetime:
    """When the first frame of a video file was taken: the file was finished at its modification
    time, and its frames run up to then. Fixed by the file, unlike the time it is read at."""
    duration_s = max(capture.get(cv2.CAP_PROP_FRAME_COUNT), 0.0) / fps
    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC) - timedelta(seconds=duration_s)


def shortfall(capture: cv2.VideoCapture, frames_read: int) -> int:
    """Frames a video file's header announces that could not be read: a truncated or damaged file.
    One frame of slack, for containers that round their count; 0 when the count is unknown."""
    announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    return announced - frames_read if announced > 0 and announced - frames_read > 1 else 0


def first_frame(config: CameraConfig) -> np.ndarray:
    """One frame from the configured camera (``check-config``)."""
    capture = open_capture(config.source)
    try:
        if capture.isOpened():
            ok, frame = capture.read()
            if ok:
                return frame
    finally:
        capture.release()
    raise CameraError(f"{config.source}: cannot read a frame from the camera")


class Camera:
    def __init__(self, config: CameraConfig, timing: Timing | None = None):
        self.config = config
        self.timing = timing or Timing()
        self.state: CameraState = "stopped"
        self.losses = 0
        self.incomplete: str | None = None  # why a video file ended early

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        try:
            if is_file(self.config.source):
                yield from self._file(stop)
            else:
                yield from self._live(stop)
        finally:
            self.state = "stopped"

    def _file(self, stop: threading.Event) -> Iterator[Frame]:
        capture = open_capture(self.config.source)
        if not capture.isOpened():
            raise CameraError(f"{self.config.source}: cannot open this video file")
        fps = video_fps(capture, self.config.fps)
        started, clock = file_start(capture, str(self.config.source), fps), time.monotonic()
        self.state = "streaming"
        index = 0
        try:
            while not stop.is_set():
                read_start = time.perf_counter()
                ok, image = capture.read()
                if not ok:
                    if missing := shortfall(capture, index):
                        self.incomplete = (
                            f"video file {self.config.source} ended after {index} frames, {missing} fewer than its "
                            "header announces: it is truncated or damaged"
                        )
                        log.warning("%s", self.incomplete)
                    else:
                        log.info("video file %s ended after %d frames", self.config.source, index)
                    return
                self.timing.add("capture", (time.perf_counter() - read_start) * 1000.0)
                if self.config.realtime:
                    stop.wait(max(0.0, clock + index / fps - time.monotonic()))
                yield Frame(image, started + timedelta(seconds=index / fps))
                index += 1
        finally:
            capture.release()

    def _live(self, stop: threading.Event) -> Iterator[Frame]:
        attempt, gap = 0, False
        while not stop.is_set():
            capture = open_capture(self.config.source)
            try:
                while capture.isOpened() and not stop.is_set():
                    read_start = time.perf_counter()
                    ok, image = capture.read()
                    if not ok:
                        break
                    self.timing.add("capture", (time.perf_counter() - read_start) * 1000.0)
                    if self.state != "streaming":
                        log.info("camera %s streaming", self.config.source)
                    self.state, attempt = "streaming", 0
                    yield Frame(image, datetime.now(UTC), after_gap=gap)
                    gap = False
            finally:
                capture.release()
            if stop.is_set():
                return
            attempt += 1
            self.losses += attempt == 1
            self.state, gap = "reconnecting", True
            wait = backoff_s(attempt, self.config.reconnect_max_s)
            log.warning(
                "camera %s lost or not available; reopening in %.1f s (attempt %d)", self.config.source, wait, attempt
            )
            stop.wait(wait)


class FrameFeed:
    """Reads the camera in its own thread so that a slow step never stalls capture.

    A live source drops its oldest waiting frame when the pipeline falls behind (a camera
    does not wait); a video file waits instead, losing nothing, in real time or not: the same
    file must give the same events every time it is read (``eventid``).
    ``None`` from ``get`` means the source has ended.
    """

    def __init__(self, camera: Camera, stop: threading.Event):
        self.camera, self.stop = camera, stop
        self.dropped = 0
        self.error: Exception | None = None
        self._lossless = is_file(camera.config.source)
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._read, name="camera", daemon=True)

    def start(self) -> FrameFeed:
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            for frame in self.camera.frames(self.stop):
                self._put(frame)
        except Exception as exc:  # handed to the main loop, which reports it
            self.error = exc
        finally:
            self._put(None)

    def _put(self, item: Frame | None) -> None:
        blocking = self._lossless or item is None  # the end marker must not push out a frame
        while blocking and not self.stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float = 0.5) -> Frame | None:
        """The next frame, or ``None`` once the source has ended; ``queue.Empty`` (as from
        ``Queue.get``) when none came within ``timeout``."""
        return self._queue.get(timeout=timeout)

    def join(self) -> None:
        self._thread.join(timeout=5)
