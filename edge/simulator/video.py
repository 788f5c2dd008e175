"""Writing a scene as a camera would deliver it: H.264, with the compression that costs detail.

A real camera streams H.264 at a bitrate that smears fine texture and low contrast, above all
in the dark; a scene written losslessly would flatter the agent. PyAV's bundled libx264
encodes with a constant rate factor (CRF) chosen by the scene's conditions and a keyframe
every two seconds, as IP cameras do. Without PyAV, OpenCV writes MPEG-4 Part 2 (``mp4v``)
at a quality it does not let us choose.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from binwatch.edge.clip import pyav_h264, stderr_silenced


class SceneWriter:
    """Frames in, a video file out; ``codec`` says what was used (``avc1`` or ``mp4v``)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], crf: int = 23):
        self.path, self.size = path, size
        if pyav_h264():
            import av

            self._container = av.open(str(path), "w", format="mp4")
            stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            stream.options = {"preset": "superfast", "crf": str(crf), "g": str(max(1, round(2 * fps)))}
            self._stream = stream
            self._writer = None
            self.codec = "avc1"
        else:
            with stderr_silenced():
                self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
            if not self._writer.isOpened():
                raise OSError(f"{path}: this OpenCV cannot write mp4v, and PyAV with libx264 is not installed")
            self.codec = "mp4v"

    def write(self, frame: np.ndarray) -> None:
        if self._writer is not None:
            self._writer.write(frame)
            return
        import av

        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
            self._container.mux(packet)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> SceneWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
