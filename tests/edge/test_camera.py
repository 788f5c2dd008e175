"""Camera sources: a file ends, a stream that drops is reopened with backoff and reported."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from binwatch.edge.camera import Camera, CameraError, FrameFeed
from binwatch.edge.config import CameraConfig
from tests.servers import free_port


def write_video(path, frames=20, fps=10.0, fourcc="mp4v"):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (160, 96))
    for i in range(frames):
        writer.write(np.full((96, 160, 3), i * 10 % 256, np.uint8))
    writer.release()
    return path


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder, port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def test_a_file_yields_every_frame_dated_by_its_rate_then_ends(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=12, fps=10)
    camera = Camera(CameraConfig(source=str(video), realtime=False))
    frames = list(camera.frames(threading.Event()))
    assert len(frames) == 12 and camera.state == "stopped"
    assert (frames[11].t - frames[0].t).total_seconds() == pytest.approx(1.1)


def test_a_file_in_real_time_is_paced_and_a_feed_loses_nothing_when_not(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=6, fps=50)
    start = time.monotonic()
    list(Camera(CameraConfig(source=str(video), realtime=True)).frames(threading.Event()))
    assert time.monotonic() - start >= 0.09
    feed = FrameFeed(Camera(CameraConfig(source=str(video), realtime=False)), threading.Event()).start()
    got = []
    while (frame := feed.get(timeout=2)) is not None:
        got.append(frame)
    assert len(got) == 6 and feed.dropped == 0


def test_a_missing_file_is_an_error_not_a_hang(tmp_path):
    camera = Camera(CameraConfig(source=str(tmp_path / "nope.mp4")))
    with pytest.raises(CameraError, match="cannot open"):
        list(camera.frames(threading.Event()))
    feed = FrameFeed(camera, threading.Event()).start()
    assert feed.get(timeout=2) is None and isinstance(feed.error, CameraError)


def test_a_stream_that_drops_is_reopened_with_backoff_and_reported(tmp_path, caplog):
    write_video(tmp_path / "cam.avi", frames=15, fourcc="MJPG")
    port = free_port()
    camera = Camera(CameraConfig(source=f"http://127.0.0.1:{port}/cam.avi", reconnect_max_s=0.2))
    stop = threading.Event()
    frames = camera.frames(stop)
    servers = []
    try:
        # Nothing listens yet: the camera keeps trying instead of failing.
        threading.Timer(0.5, lambda: servers.append(serve(tmp_path, port))).start()
        first = next(frames)
        assert first.after_gap and "reopening" in caplog.text
        states = []
        got = [first]
        while len(got) < 40:  # the server's file ends after 15 frames; each end is a lost stream
            got.append(next(frames))
            states.append(camera.state)
        assert camera.losses >= 2 and sum(f.after_gap for f in got) >= 3
        assert set(states) == {"streaming"}
    finally:
        stop.set()
        frames.close()
        for server in servers:
            server.shutdown()
            server.server_close()
    assert camera.state == "stopped"


def test_a_truncated_file_is_reported_not_taken_for_its_end(tmp_path, caplog):
    whole = write_video(tmp_path / "whole.avi", frames=40, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])  # the header still says 40 frames
    camera = Camera(CameraConfig(source=str(cut), realtime=False))
    frames = list(camera.frames(threading.Event()))
    assert 0 < len(frames) < 39
    assert camera.incomplete and f"{40 - len(frames)} fewer than its header announces" in camera.incomplete
    assert "truncated or damaged" in caplog.text and caplog.records[-1].levelname == "WARNING"
    complete = Camera(CameraConfig(source=str(whole), realtime=False))
    assert len(list(complete.frames(threading.Event()))) == 40 and complete.incomplete is None


def test_a_file_is_dated_by_itself_so_reading_it_again_gives_the_same_times(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=12, fps=10)
    first = [f.t for f in Camera(CameraConfig(source=str(video), realtime=False)).frames(threading.Event())]
    time.sleep(0.05)
    again = [f.t for f in Camera(CameraConfig(source=str(video), realtime=True)).frames(threading.Event())]
    assert first == again
    assert (first[-1] + (first[1] - first[0])).timestamp() == pytest.approx(video.stat().st_mtime)  # ends at its mtime


def test_a_file_in_real_time_drops_no_frame_even_when_the_pipeline_falls_behind(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=30, fps=100)
    feed = FrameFeed(Camera(CameraConfig(source=str(video), realtime=True)), threading.Event()).start()
    got = []
    time.sleep(0.5)  # the file has played to its end meanwhile: a live camera would have lost frames
    while (frame := feed.get(timeout=2)) is not None:
        got.append(frame)
    assert len(got) == 30 and feed.dropped == 0
