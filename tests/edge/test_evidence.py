"""Evidence: the clip ring buffer, MP4 clips, blurring outside the bins, durable files."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import timedelta

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from binwatch.edge.clip import ClipBuffer, usable_codec, write_mp4
from binwatch.edge.config import BinConfig, ClipConfig
from binwatch.edge.evidence import EvidenceWriter, Redactor
from binwatch.edge.isolate import Box
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.storage import Layout
from binwatch.events.schema import EvidenceKind

BINS = [BinConfig(id="green-1", category="kitchen", polygon=[(200, 100), (500, 100), (500, 300), (200, 300)])]
SIZE = (640, 360)


def textured(seed=0) -> np.ndarray:
    """A frame full of detail (like faces): easy to tell blurred from sharp."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8), SIZE, interpolation=cv2.INTER_NEAREST)


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_the_ring_buffer_keeps_frames_at_clip_size_and_forgets_what_no_clip_needs():
    buffer = ClipBuffer(SIZE, width=320)
    times = [OFFLINE_START + timedelta(seconds=i / 10) for i in range(50)]
    for t in times:
        buffer.add(t, textured())
    assert buffer.size == (320, 180)
    assert len(buffer.between(times[10], times[19])) == 10
    buffer.trim(times[30])
    assert len(buffer) == 20 and buffer.between(times[0], times[29]) == []


def test_the_ring_buffer_keeps_frames_at_the_clips_rate_whatever_the_cameras():
    """A 15 fps camera gives a 10 fps clip two frames of three, evenly over time; a jittering
    camera no fewer; a gap in the stream or a clock set back starts the count anew."""
    buffer = ClipBuffer(SIZE, width=320, fps=10)
    jitter = np.random.default_rng(3).uniform(-0.008, 0.008, 45)
    times = [OFFLINE_START + timedelta(seconds=i / 15 + jitter[i]) for i in range(45)]
    frame = textured()
    for t in times:
        buffer.add(t, frame)
    kept = [t for t, _ in buffer.between(times[0], times[-1])]
    assert len(kept) == 30
    assert max((b - a).total_seconds() for a, b in itertools.pairwise(kept)) < 0.15
    # After a gap, and after the clock was set back a minute, the clip goes on at its rate from there.
    for start in (times[-1] + timedelta(seconds=5), times[-1] - timedelta(seconds=60)):
        later = [start + timedelta(seconds=i / 15) for i in range(15)]
        for t in later:
            buffer.add(t, frame)
        assert len(buffer.between(later[0], later[-1])) == 10
    every = ClipBuffer(SIZE, width=320)
    for t in [*times, times[0]]:  # every frame, even one stamped earlier than the last
        every.add(t, frame)
    assert len(every) == 46
    with pytest.raises(ValidationError, match="at least 2"):
        ClipConfig(fps=0.5)


def test_a_clip_is_a_playable_mp4_at_the_measured_rate(tmp_path):
    buffer = ClipBuffer(SIZE, width=320)
    for i in range(30):
        buffer.add(OFFLINE_START + timedelta(seconds=i / 15), textured(i))
    path = tmp_path / "clip.mp4"
    write_mp4(path, buffer.between(OFFLINE_START, OFFLINE_START + timedelta(seconds=10)), "auto", lambda f: f)
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 30 and round(capture.get(cv2.CAP_PROP_FPS)) == 15
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (320, 180)
    assert usable_codec("auto") in ("avc1", "mp4v")


def test_everything_outside_the_bins_is_blurred_at_any_size():
    frame = textured()
    redact = Redactor(BINS, SIZE, enabled=True)
    out = redact(frame)
    inside, outside = (slice(110, 290), slice(210, 490)), (slice(0, 90), slice(0, 640))
    assert np.array_equal(out[inside], frame[inside])
    assert sharpness(out[outside]) < sharpness(frame[outside]) / 50
    small = cv2.resize(frame, (320, 180))
    assert sharpness(redact(small)[0:45]) < sharpness(small[0:45]) / 20
    odd = cv2.resize(frame, (333, 187))  # not a multiple of the whole-number first shrinking step
    edges = redact(odd)
    assert edges.shape == odd.shape
    assert sharpness(edges[:, -7:]) < sharpness(odd[:, -7:]) / 20
    assert sharpness(edges[-7:, :]) < sharpness(odd[-7:, :]) / 20
    assert redact.__class__(BINS, SIZE, enabled=False)(frame) is frame


def test_a_clip_keeps_the_cameras_colours(tmp_path):
    """The clip is converted to the encoder's YUV before encoding: a swapped or mis-scaled
    channel would show the bins in the wrong colour."""
    colours = [(40, 140, 40), (30, 30, 200), (150, 110, 30), (110, 110, 110)]  # BGR: the four bin colours
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    for i, colour in enumerate(colours):
        frame[:, i * 160 : (i + 1) * 160] = colour
    buffer = ClipBuffer(SIZE, width=320)
    for i in range(10):
        buffer.add(OFFLINE_START + timedelta(seconds=i / 15), frame)
    path = tmp_path / "clip.mp4"
    write_mp4(path, buffer.between(OFFLINE_START, OFFLINE_START + timedelta(seconds=10)), "auto", lambda f: f)
    ok, decoded = cv2.VideoCapture(str(path)).read()
    assert ok
    for i, colour in enumerate(colours):
        middle = decoded[40:140, i * 80 + 20 : i * 80 + 60].reshape(-1, 3).mean(axis=0)
        assert np.abs(middle - colour).max() < 8, (colour, middle)


def test_a_flagged_event_gets_snapshot_crop_and_clip_written_durably(tmp_path):
    layout = Layout(tmp_path).create()
    writer = EvidenceWriter(layout, BINS, SIZE, ClipConfig())
    frames = [
        (OFFLINE_START + timedelta(seconds=i / 10), cv2.imencode(".jpg", textured(i))[1].tobytes()) for i in range(20)
    ]
    event_id = uuid.uuid4()
    files = writer.write(event_id, 0, textured(), Box(300, 150, 60, 40), "battery 0.93", frames)
    assert [f.evidence.kind for f in files] == [EvidenceKind.SNAPSHOT, EvidenceKind.CROP, EvidenceKind.CLIP]
    for f in files:
        data = f.path.read_bytes()
        assert f.path.parent == layout.evidence and f.path.name == f.evidence.name
        assert f.evidence.size == len(data) and f.evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert list(layout.tmp.iterdir()) == []
    snapshot = cv2.imdecode(np.frombuffer(files[0].path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert snapshot.shape == (360, 640, 3) and sharpness(snapshot[0:80]) < sharpness(textured()[0:80]) / 50
    crop = cv2.imdecode(np.frombuffer(files[1].path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[:2] == (40 + 2 * 5, 60 + 2 * 7)


def test_an_unflagged_event_keeps_only_its_crop(tmp_path):
    writer = EvidenceWriter(Layout(tmp_path).create(), BINS, SIZE, ClipConfig())
    files = writer.write(uuid.uuid4(), 0, textured(), Box(300, 150, 60, 40), "", None)
    assert [f.evidence.kind for f in files] == [EvidenceKind.CROP]
