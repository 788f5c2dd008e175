"""Event segmentation: motion inside a polygon, hysteresis, one disposal → one segment."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np

from binwatch.edge.motion import Motion, MotionDetector
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.segment import Role, Segmenter

FPS = 10


def feed(fractions, start_frames=2, settle_s=1.0, max_event_s=30.0, on=0.02):
    """Run a segmenter over per-frame fractions; return (roles, segments as (start, end) frame indices)."""
    segmenter = Segmenter(on, start_frames, settle_s, max_event_s)
    roles, segments = [], []
    for i, fraction in enumerate(fractions):
        role, segment = segmenter.update(OFFLINE_START + timedelta(seconds=i / FPS), fraction)
        roles.append(role)
        if segment:
            segments.append((_index(segment.started_at), _index(segment.ended_at), segment.settled))
    closed = segmenter.close()
    if closed:
        segments.append((_index(closed.started_at), _index(closed.ended_at), closed.settled))
    return roles, segments


def _index(t):
    return round((t - OFFLINE_START).total_seconds() * FPS)


def test_one_disposal_is_one_segment_from_first_motion_to_last():
    fractions = [0.0] * 10 + [0.3] * 12 + [0.0] * 15
    roles, segments = feed(fractions)
    assert segments == [(10, 21, True)]
    assert roles[:10] == [Role.REFERENCE] * 10 and roles[25] is Role.STILL


def test_a_single_flicker_starts_nothing():
    _, segments = feed([0.0] * 5 + [0.5] + [0.0] * 5 + [0.5] + [0.0] * 20)
    assert segments == []


def test_a_pause_shorter_than_settle_does_not_split_a_disposal():
    # The hand stops over the opening for 0.6 s, then withdraws: still one disposal.
    fractions = [0.0] * 5 + [0.2] * 8 + [0.0] * 6 + [0.2] * 5 + [0.0] * 15
    _, segments = feed(fractions)
    assert segments == [(5, 23, True)]


def test_between_the_thresholds_motion_continues_but_does_not_start():
    # Hysteresis: 0.015 is below the on-threshold (0.02) but above the off-threshold (0.01).
    _, segments = feed([0.0] * 5 + [0.015] * 10 + [0.0] * 15)
    assert segments == []
    _, segments = feed([0.0] * 5 + [0.05] * 3 + [0.015] * 20 + [0.0] * 15)
    assert segments == [(5, 27, True)]


def test_two_disposals_apart_are_two_segments():
    fractions = [0.0] * 5 + [0.3] * 6 + [0.0] * 12 + [0.3] * 6 + [0.0] * 12
    _, segments = feed(fractions)
    assert segments == [(5, 10, True), (23, 28, True)]


def test_endless_motion_is_cut_and_no_new_segment_starts_until_quiet():
    fractions = [0.0] * 3 + [0.3] * 60 + [0.0] * 2 + [0.3] * 4 + [0.0] * 12
    _, segments = feed(fractions, max_event_s=2.0)
    assert segments[0] == (3, 23, False)
    # After the cut the bin waits for quiet (frame 63) before it arms again.
    assert segments[1:] == [(65, 68, True)]


def test_close_reports_a_disposal_in_progress():
    _, segments = feed([0.0] * 3 + [0.3] * 5)
    assert segments == [(3, 7, False)]
    _, segments = feed([0.0] * 3 + [0.3] * 5 + [0.0] * 3)
    assert segments == [(3, 7, True)]


def test_a_coat_passing_over_the_opening_keeps_the_disposal_open_until_it_has_gone():
    # Inside the plain coat nothing changes from frame to frame, but its edges move around the opening.
    segmenter = Segmenter(0.02, 2, 1.0, 30.0)
    steps = [(0.0, 0.0)] * 5 + [(0.3, 0.3)] * 3 + [(0.0, 0.2)] * 20 + [(0.3, 0.3)] * 3 + [(0.0, 0.0)] * 15
    roles, segments = [], []
    for i, (inside, around) in enumerate(steps):
        role, segment = segmenter.update(OFFLINE_START + timedelta(seconds=i / FPS), inside, around)
        roles.append(role)
        if segment:
            segments.append((_index(segment.started_at), _index(segment.ended_at), segment.settled, i))
    assert segments == [(5, 30, True, 40)]  # one disposal, ended 1 s after the band calmed
    assert roles[10] is Role.STILL  # the covered opening is a candidate view, but not the last one
    # While idle, a busy band keeps the reference from being replaced by whatever stands there.
    assert Segmenter(0.02, 2, 1.0, 30.0).update(OFFLINE_START, 0.0, 0.3)[0] is Role.MOTION


def test_motion_is_measured_inside_each_polygon_and_around_it():
    size = (640, 360)
    left = [(20, 20), (300, 20), (300, 300), (20, 300)]
    right = [(340, 20), (620, 20), (620, 300), (340, 300)]
    detector = MotionDetector(size, [left, right], pixel_delta=18)
    rng = np.random.default_rng(0)
    frame = rng.integers(90, 110, (size[1], size[0], 3), dtype=np.uint8)
    assert detector.update(frame) == [Motion(0.0, 0.0)] * 2
    noisy = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
    assert detector.update(noisy) == [Motion(0.0, 0.0)] * 2  # sensor noise is not motion
    moved = noisy.copy()
    cv2.rectangle(moved, (60, 60), (200, 200), (230, 230, 230), -1)  # inside the left opening
    cv2.rectangle(moved, (400, 320), (600, 355), (0, 0, 0), -1)  # just below the right one
    left_motion, right_motion = detector.update(moved)
    assert 0.2 < left_motion.inside < 0.35 and left_motion.around == 0.0
    assert right_motion.inside == 0.0 and right_motion.around > 0.1
    assert detector.update(moved) == [Motion(0.0, 0.0)] * 2  # an object lying still is no longer motion
