"""Segmentation: when a disposal starts and when the opening is clear again; motion and exposure."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from binwatch.edge.light import Exposure, difference
from binwatch.edge.motion import MotionDetector
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.segment import CLEAR_S, REACH_S, Role, Segmenter

FPS = 10
DATA = Path(__file__).parent / "data"


def feed(steps, start_frames=2, settle_s=1.0, max_event_s=30.0, on=0.02):
    """Run a segmenter over per-frame (moving, over_rim, reaching_in[, moving_ring]) steps (a bare number:
    moving); return (roles, segments as (start, end, settled, reached_in) frame indices)."""
    segmenter = Segmenter(on, start_frames, settle_s, max_event_s)
    roles, segments = [], []
    for i, step in enumerate(steps):
        moving, over, reaching, ring = (*step, 0.0)[:4] if isinstance(step, tuple) else (step, False, 0.0, 0.0)
        t = OFFLINE_START + timedelta(seconds=i / FPS)
        role, segment = segmenter.update(t, moving, over, reaching, moving_ring=ring)
        roles.append(role)
        if segment:
            segments.append((_index(segment.started_at), _index(segment.ended_at), segment.settled, segment.reached_in))
    closed = segmenter.close()
    if closed:
        segments.append((_index(closed.started_at), _index(closed.ended_at), closed.settled, closed.reached_in))
    return roles, segments


def _index(t):
    return round((t - OFFLINE_START).total_seconds() * FPS)


ARM = (0.3, True, 0.2)  # an arm moving in the opening, over the rim
STILL_ARM = (0.0, True, 0.15)  # the same arm, keeping still
QUIET = 0.0


def test_one_disposal_is_one_segment_from_first_motion_to_last():
    roles, segments = feed([QUIET] * 10 + [ARM] * 12 + [QUIET] * 15)
    assert segments == [(10, 21, True, True)]
    assert roles[:10] == [Role.REFERENCE] * 10 and roles[25] is Role.STILL


def test_a_single_flicker_starts_nothing():
    _, segments = feed([QUIET] * 5 + [0.5] + [QUIET] * 5 + [0.5] + [QUIET] * 20)
    assert segments == []


def test_a_hand_keeping_still_over_the_opening_keeps_the_disposal_open():
    # Still for 3 s (three times settle_s), in the dark too dim for motion: still over the rim.
    roles, segments = feed([QUIET] * 5 + [ARM] * 8 + [STILL_ARM] * 30 + [ARM] * 4 + [QUIET] * 15)
    assert segments == [(5, 46, True, True)]
    assert roles[20] is Role.MOTION  # a still hand over the rim is never a candidate "after" view


def test_the_opening_must_be_clear_for_a_moment_after_the_last_motion():
    # Motion stopped long ago, but something stays over the rim until frame 40: the end waits for it.
    _, segments = feed([QUIET] * 5 + [ARM] * 5 + [(0.0, True, 0.0)] * 30 + [QUIET] * 20)
    assert segments == [(5, 39, True, True)]


def test_something_reaching_in_too_dim_to_move_starts_a_disposal():
    _, segments = feed([QUIET] * 5 + [(0.0, True, 0.1)] * 6 + [QUIET] * 15)
    assert segments == [(5, 10, True, True)]


def test_motion_that_never_came_over_the_rim_is_marked_so():
    # The contents settling, or an insect: nothing reached in, so nothing can have been thrown in.
    _, segments = feed([QUIET] * 5 + [0.2] * 4 + [QUIET] * 15)
    assert segments == [(5, 8, True, False)]


def test_an_item_thrown_in_from_a_step_away_came_in_through_the_ring():
    # At 15 fps a throw crosses the rim between two frames: the ring around the opening moves, then the opening.
    thrown = [(0.0, False, 0.0, 0.05), (0.3, False, 0.0, 0.0), (0.2, False, 0.0, 0.0)]
    _, segments = feed([QUIET] * 5 + thrown + [QUIET] * 15)
    assert segments == [(6, 7, True, True)]
    # The ring moving long before (a passer-by), or only a little: the contents settling, as before.
    _, segments = feed([QUIET] * 5 + [(0.0, False, 0.0, 0.05)] + [QUIET] * 5 + thrown[1:] + [QUIET] * 15)
    assert segments == [(11, 12, True, False)]
    _, segments = feed([QUIET] * 5 + [(0.0, False, 0.0, 0.01)] + thrown[1:] + [QUIET] * 15)
    assert segments == [(6, 7, True, False)]


def test_between_the_thresholds_motion_continues_but_does_not_start():
    # Hysteresis: 0.015 is below the on-threshold (0.02) but above the off-threshold (0.01).
    _, segments = feed([QUIET] * 5 + [0.015] * 10 + [QUIET] * 15)
    assert segments == []
    _, segments = feed([QUIET] * 5 + [0.05] * 3 + [0.015] * 20 + [QUIET] * 15)
    assert segments == [(5, 27, True, False)]


def test_two_disposals_apart_are_two_segments():
    _, segments = feed([QUIET] * 5 + [ARM] * 6 + [QUIET] * 12 + [ARM] * 6 + [QUIET] * 12)
    assert segments == [(5, 10, True, True), (23, 28, True, True)]


def test_endless_motion_is_cut_and_no_new_segment_starts_until_quiet():
    _, segments = feed([QUIET] * 3 + [ARM] * 60 + [QUIET] * 2 + [ARM] * 4 + [QUIET] * 12, max_event_s=2.0)
    assert segments[0] == (3, 23, False, True)
    # After the cut the bin waits for quiet (frame 63) before it arms again.
    assert segments[1:] == [(65, 68, True, True)]


def test_after_a_cut_a_hand_coming_starts_a_disposal_though_the_opening_stays_covered():
    # A swaying shadow or a bystander keeps a third of the opening covered, barely moving, and the disposal
    # going on is cut; a hand's motion after a calm is a disposal of its own, not lost until the cover goes.
    shade = (0.004, True, 0.3)
    steps = [QUIET] * 3 + [ARM] * 5 + [shade] * 40 + [(0.3, True, 0.5)] * 4 + [shade] * 40
    _, segments = feed(steps, max_event_s=2.0)
    assert segments[:2] == [(3, 23, False, True), (48, 68, False, True)]
    # Without the hand, the shade alone starts nothing after the cut.
    _, segments = feed([QUIET] * 3 + [ARM] * 5 + [shade] * 84, max_event_s=2.0)
    assert segments == [(3, 23, False, True)]


def test_close_reports_a_disposal_in_progress():
    _, segments = feed([QUIET] * 3 + [ARM] * 5)
    assert segments == [(3, 7, False, True)]
    _, segments = feed([QUIET] * 3 + [ARM] * 5 + [QUIET] * 3)
    assert segments == [(3, 7, True, True)]


def test_while_idle_something_over_the_rim_keeps_the_reference_from_being_replaced():
    roles, _ = feed([(0.0, True, 0.01)] * 3 + [QUIET] * 3)
    assert roles == [Role.MOTION] * 3 + [Role.REFERENCE] * 3
    assert CLEAR_S < 1.0


def _scene(rng, shift=0) -> np.ndarray:
    frame = np.full((360, 640, 3), 110, np.uint8)
    for i in range(8):
        cv2.rectangle(frame, (40 + 75 * i, 40), (90 + 75 * i, 320), (60 + 20 * i, 200 - 15 * i, 90), -1)
    if shift:
        cv2.rectangle(frame, (100 + shift, 150), (200 + shift, 250), (240, 240, 240), -1)
    return np.clip(frame + rng.normal(0, 2.5, frame.shape), 0, 255).astype(np.uint8)


def reaches(far_shares, on=0.02):
    """The reaches (first and last frame index) of one disposal over per-frame shares of the far half
    covered; a torso keeps a quarter of the opening covered all along."""
    segmenter = Segmenter(on, 2, 1.0, 30.0)
    for i, far in enumerate([*far_shares, 0.0, 0.0]):
        segmenter.update(OFFLINE_START + timedelta(seconds=i / FPS), 0.3, True, max(0.25, far), far)
    segment = segmenter.close()
    assert segment is not None
    return [(_index(a), _index(b)) for a, b in segment.reaches]


def test_a_hand_that_goes_into_the_far_half_twice_is_two_reaches():
    hand = [0.3] * 10
    assert reaches([0.0] * 5 + hand + [0.0] * 8 + hand) == [(5, 14), (23, 32)]


def test_a_hand_that_hesitates_in_the_far_half_is_one_reach_until_it_has_left_it_for_a_while():
    # Pulled part way back it still covers a third of what it covered: it has not left.
    assert reaches([0.0] * 3 + [0.3] * 8 + [0.12] * 5 + [0.3] * 8) == [(3, 23)]
    # Out of it for less than the opening must be clear: it has not left either; for that long, it has.
    out = round(CLEAR_S * FPS)
    assert reaches([0.0] * 3 + [0.3] * 8 + [0.005] * (out - 1) + [0.3] * 8) == [(3, 3 + 8 + out - 1 + 7)]
    assert reaches([0.0] * 3 + [0.3] * 8 + [0.005] * (out + 1) + [0.3] * 8) == [(3, 10), (12 + out, 19 + out)]


def test_what_stays_over_the_far_half_while_the_hand_is_out_does_not_join_two_reaches():
    # A head over a sliver of the far half, below a third of what the hand covered, while it fetches the next item.
    out = [0.05] * (round(CLEAR_S * FPS) + 2)
    assert reaches([0.0] * 3 + [0.3] * 8 + out + [0.3] * 8) == [(3, 10), (11 + len(out), 18 + len(out))]
    # Only a rise to that third again is the hand back: the head coming nearer is not.
    assert reaches([0.0] * 3 + [0.3] * 8 + out + [0.08] * 8) == [(3, 10)]
    # Below that third for just under CLEAR_S the hand has not left; for CLEAR_S it has.
    clear = round(CLEAR_S * FPS)
    assert len(reaches([0.0] * 3 + [0.3] * 8 + [0.05] * (clear - 1) + [0.3] * 8)) == 1
    assert len(reaches([0.0] * 3 + [0.3] * 8 + [0.05] * clear + [0.3] * 8)) == 2


def test_a_reach_begins_where_the_hand_rises_above_what_stayed_not_where_the_head_flickered():
    # One frame of the head at the third the hand left behind starts no reach that the head then carries on.
    head = [0.05] * 6 + [0.1] + [0.05] * 20
    assert reaches([0.0] * 3 + [0.3] * 8 + head + [0.3] * 8) == [(3, 10), (11 + len(head), 18 + len(head))]


def test_a_reach_after_the_far_half_was_clear_is_never_joined_to_the_one_before():
    # Between them the far half was clear: what stayed after the second hand's approach (a head) says nothing.
    after = [0.0] * 6 + [0.2] * 3 + [0.05] * 6 + [0.12] * 8
    assert len(reaches([0.0] * 3 + [0.3] * 8 + after)) == 2


def test_the_edge_of_a_body_over_a_sliver_of_the_far_half_is_no_reach_beside_a_hand():
    # Somebody walking up covers a sliver of the far half for a moment; then the hand reaches in.
    assert reaches([0.0] * 3 + [0.06] * 8 + [0.0] * 5 + [0.3] * 10) == [(16, 25)]


def test_something_that_crosses_the_far_half_quicker_than_a_hand_lets_go_is_no_reach():
    quick = [0.3] * (round(REACH_S * FPS) - 2)
    assert reaches([0.0] * 5 + quick + [0.0] * 8 + [0.3] * 10) == [(5 + len(quick) + 8, 5 + len(quick) + 17)]


# Measured by the agent over frames of a rendered scene: per frame, the share of the opening moving,
# whether something was over the rim, and the shares of the opening and of its far half it covered.
# Oblique scene hard 13, bin hazardous-2, 31.13 to 34.87 s at 15 fps, one item: the resident bends over
# the opening, the head over its far half, then the hand goes in past it.
HEAD_THEN_HAND = [
    (0.0237, 1, 0.0827, 0.0000),
    (0.0564, 1, 0.1902, 0.0000),
    (0.0516, 1, 0.2734, 0.0000),
    (0.0411, 1, 0.3267, 0.0031),
    (0.0379, 1, 0.3340, 0.0688),
    (0.0084, 1, 0.3135, 0.0753),
    (0.0037, 1, 0.3124, 0.0742),
    (0.0005, 1, 0.3098, 0.0689),
    (0.0053, 1, 0.3056, 0.0689),
    (0.0011, 1, 0.3024, 0.0667),
    (0.0026, 1, 0.3019, 0.0679),
    (0.0005, 1, 0.2998, 0.0541),
    (0.0021, 1, 0.2940, 0.0510),
    (0.0042, 1, 0.2882, 0.0434),
    (0.0053, 1, 0.2898, 0.0339),
    (0.0084, 1, 0.3298, 0.1103),
    (0.0300, 1, 0.3493, 0.1442),
    (0.0474, 1, 0.4104, 0.1835),
    (0.0796, 1, 0.3398, 0.0127),
    (0.0448, 1, 0.3646, 0.0095),
    (0.0406, 1, 0.3714, 0.0138),
    (0.0406, 1, 0.5564, 0.3143),
    (0.0490, 1, 0.6117, 0.4078),
    (0.0263, 1, 0.6185, 0.4217),
    (0.0448, 1, 0.6291, 0.4457),
    (0.0464, 1, 0.5969, 0.3998),
    (0.0179, 1, 0.5991, 0.4042),
    (0.0448, 1, 0.6175, 0.4387),
    (0.0348, 1, 0.6106, 0.4277),
    (0.0527, 1, 0.5964, 0.4059),
    (0.0358, 1, 0.5948, 0.4146),
    (0.0464, 1, 0.5859, 0.3887),
    (0.0421, 1, 0.5495, 0.3184),
    (0.0411, 1, 0.5369, 0.2874),
    (0.0358, 1, 0.5163, 0.2299),
    (0.0253, 1, 0.4926, 0.2040),
    (0.0374, 1, 0.4663, 0.1783),
    (0.0421, 1, 0.4278, 0.1660),
    (0.0437, 1, 0.3957, 0.1459),
    (0.0374, 1, 0.3519, 0.1324),
    (0.0400, 1, 0.3177, 0.1059),
    (0.0263, 1, 0.2766, 0.0785),
    (0.0174, 1, 0.2756, 0.0636),
    (0.0068, 1, 0.2682, 0.0541),
    (0.0095, 1, 0.2645, 0.0498),
    (0.0032, 1, 0.2608, 0.0530),
    (0.0063, 1, 0.2582, 0.0489),
    (0.0021, 1, 0.2229, 0.0011),
    (0.0090, 1, 0.2313, 0.0000),
    (0.0385, 1, 0.2692, 0.0296),
    (0.0690, 1, 0.2977, 0.0095),
    (0.0838, 1, 0.2740, 0.0000),
    (0.0732, 1, 0.2434, 0.0031),
    (0.0901, 1, 0.2239, 0.0063),
    (0.0580, 1, 0.0448, 0.0000),
    (0.0153, 1, 0.0000, 0.0000),
    (0.0005, 0, 0.0000, 0.0000),
]


def measured_reaches(steps, fps=15.0):
    """The reaches of the one disposal over measured (moving, over_rim, reaching_in, reaching_far) frames."""
    segmenter = Segmenter(0.02, 2, 1.0, 30.0)
    segments = []
    for i, (moving, over, reaching_in, far) in enumerate([*steps, *[(0.0, 0, 0.0, 0.0)] * 20]):
        _, segment = segmenter.update(OFFLINE_START + timedelta(seconds=i / fps), moving, bool(over), reaching_in, far)
        segments += [segment] if segment else []
    assert len(segments) == 1
    return segments[0].reaches


def test_a_head_over_the_far_half_is_no_reach_of_its_own_beside_the_hand():
    # The head bending over, then the arm going in past it, leave the far half clear for 0.2 s: less
    # than the opening must be clear for a disposal to end, and less than a hand takes to fetch another item.
    assert len(measured_reaches(HEAD_THEN_HAND)) == 1


def test_a_hand_that_rises_little_above_what_stayed_over_the_far_half_went_on_from_the_reach_before():
    # A head bent over the far half (30 % of it), then over less of it while the hand goes in: the hand covers
    # less than three times what stayed, so it is the one reach that began with the head. Three times or more: two.
    head, stayed = [0.3] * 14, [0.08] * 10
    assert len(reaches([0.0] * 3 + head + stayed + [0.15] * 8)) == 1
    assert len(reaches([0.0] * 3 + head + stayed + [0.3] * 8)) == 2


def _measured(name):
    """Frames measured by the agent over a rendered scene (``data/far-half-reaches.json``, see its SOURCES.md)."""
    data = json.loads((DATA / "far-half-reaches.json").read_text())
    return data[name], data["fps"]


def test_two_drops_with_the_head_over_the_far_half_between_them_are_two_reaches():
    # Both items came to light only together; the head kept 3-5 % of the far half covered between the reaches.
    frames, fps = _measured("head_stays_between_two_drops")
    assert len(measured_reaches(frames, fps)) == 2


def test_a_head_bending_over_before_the_hand_goes_in_is_still_one_reach():
    # The head covers the far half by a fifth for a moment, then a few percent, then the hand goes in: the head
    # stayed over a third of its own most for less than a hand stays to let something go.
    frames, fps = _measured("head_then_one_drop")
    assert len(measured_reaches(frames, fps)) == 1


def test_a_hand_that_leaves_the_far_half_for_longer_than_a_head_and_arm_crossing_is_two_reaches():
    hand = [0.3] * 10
    brief = [0.0] * (round(CLEAR_S * FPS) - 1)
    assert len(reaches([0.0] * 5 + hand + brief + hand)) == 1
    assert len(reaches([0.0] * 5 + hand + [0.0] * round(CLEAR_S * FPS) + hand)) == 2


def test_motion_is_what_changes_between_frames_not_noise_nor_exposure():
    rng = np.random.default_rng(0)
    detector = MotionDetector((640, 360), pixel_delta=18)
    assert detector.update(_scene(rng)).moving.sum() == 0  # the first frame has no baseline
    assert detector.update(_scene(rng)).moving.sum() == 0  # sensor noise is not motion
    moved = detector.update(_scene(rng, shift=40))
    assert 0.03 < moved.moving.mean() / 255 < 0.1  # the white square appeared: 4 % of the frame
    brighter = np.clip(_scene(rng, shift=40).astype(np.float32) * 1.4, 0, 255).astype(np.uint8)
    jumped = detector.update(brighter)  # auto-exposure: the whole picture 40 % brighter at once
    assert jumped.moving.mean() / 255 < 0.002 and abs(jumped.gain / moved.gain - 1.4) < 0.05


def test_exposure_measures_gain_and_noise_and_normalises_a_dark_picture():
    rng = np.random.default_rng(1)
    dark, exposure = Exposure(), Exposure()
    day = cv2.cvtColor(_scene(rng), cv2.COLOR_BGR2GRAY)
    evening = (day * 0.3).astype(np.uint8)
    assert abs(dark.update(evening) - exposure.update(day) * 0.3) < 0.03  # gain: the median over mid grey
    for _ in range(3):
        exposure.update(cv2.cvtColor(_scene(rng), cv2.COLOR_BGR2GRAY))
    quiet = exposure.noise
    for _ in range(40):
        noisy = np.clip(day + rng.normal(0, 8, day.shape), 0, 255).astype(np.uint8)
        exposure.update(cv2.resize(noisy, None, fx=1, fy=1))
    assert exposure.noise > 3 * quiet


def test_a_clipped_pixel_counts_only_as_the_bound_it_is():
    white = np.full((2, 2, 3), 255, np.uint8)
    grey = np.full((2, 2, 3), 200, np.uint8)
    assert difference(white, 1.3, white, 1.0).max() == 0  # white under more light is still white
    assert difference(white, 1.0, grey, 1.0).max() == 55  # brighter than 200 by at least 55
    assert difference(grey, 1.0, white, 1.0).max() == 55


def test_a_camera_gap_is_no_time_in_the_far_half():
    # One frame of a hand, the camera away for 3 s, one more frame: never half a second in view.
    segmenter = Segmenter(0.02, 2, 1.0, 30.0)
    at = [0.0, 0.1, 0.2, 3.2, 3.3, 3.4, 3.5, 3.6]
    far = [0.0, 0.0, 0.3, 0.3, 0.0, 0.0, 0.0, 0.0]
    for i, (t, f) in enumerate(zip(at, far, strict=True)):
        if i == 3:
            segmenter.after_gap()
        segmenter.update(OFFLINE_START + timedelta(seconds=t), 0.3, True, max(0.25, f), f)
    segment = segmenter.close()
    assert segment is not None and segment.reaches == ()
