"""The opening's background: what reaches over the rim, what lies inside, and no ghosts."""

from __future__ import annotations

import cv2
import numpy as np

from binwatch.edge.foreground import STILL_S, OpeningWatch
from binwatch.edge.motion import MotionDetector
from tests.edge.scene import BAG, DATA

SIZE = (640, 360)
POLYGON = [(200, 100), (440, 100), (440, 260), (200, 260)]
RIM = (30, 150, 60)  # BGR of a green bin's rim


def frame(rng, draw=None, gain=1.0) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), 130, np.uint8)
    cv2.rectangle(image, (180, 80), (460, 280), RIM, -1)
    cv2.fillPoly(image, [np.asarray(POLYGON)], BAG)
    if draw:
        draw(image)
    lit = image.astype(np.float32) * gain
    return np.clip(lit + rng.normal(0, 2.5, image.shape), 0, 255).astype(np.uint8)


def arm(image, hand=(320, 180)):
    """A sleeve from below the frame, over the rim, to a hand in the opening."""
    cv2.line(image, (hand[0] + 40, SIZE[1] + 20), hand, (140, 80, 30), 34)
    cv2.circle(image, hand, 18, (120, 160, 205), -1)


def item(image, at=(300, 150)):
    image[at[1] : at[1] + 50, at[0] : at[0] + 50] = cv2.resize(cv2.imread(str(DATA / "battery.jpg")), (50, 50))


class Watched:
    """A motion detector and one opening's watch, fed frame by frame."""

    def __init__(self):
        self.motion = MotionDetector(SIZE, 18)
        self.watch = OpeningWatch(POLYGON, self.motion.scale, self.motion.size, 18)
        self.t = 0.0

    def see(self, image, step_s=0.1):
        self.t += step_s
        self.small = self.motion.update(image)
        return self.watch.update(self.small, self.t)


def kept_over(seed: int, draw, seconds: float):
    """A watch that saw the opening clear, then ``draw`` (given the frame's index) for ``seconds``: its rng, the
    watch and the last observation."""
    rng, watched = np.random.default_rng(seed), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    for k in range(round(10 * seconds)):
        seen = watched.see(frame(rng, lambda image, k=k: draw(image, k)))
    return rng, watched, seen


def test_an_arm_over_the_rim_reaches_in_and_an_item_lying_inside_does_not():
    rng, watched = np.random.default_rng(0), Watched()
    for _ in range(5):
        assert not watched.see(frame(rng)).over_rim
    reaching = watched.see(frame(rng, arm))
    assert reaching.over_rim and reaching.reaching_in > 0.05
    assert reaching.reaching[watched.watch.inside].any() and reaching.reaching[watched.watch.rim].any()
    for _ in range(5):
        lying = watched.see(frame(rng, item))
    assert not lying.over_rim and lying.foreground > 0.03 and lying.reaching_in == 0
    assert lying.standing_out[watched.watch.inside].any()


def test_only_a_hand_beyond_the_openings_centre_covers_its_far_half():
    # A head over the near part of the opening, from below the frame, and an arm past it to a hand at the back.
    def head(image):
        cv2.ellipse(image, (320, SIZE[1]), (120, 160), 0, 0, 360, (150, 150, 150), -1)

    def head_and_arm(image):
        head(image)
        arm(image, hand=(340, 130))

    rng, watched = np.random.default_rng(0), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    leaning = watched.see(frame(rng, head))
    assert leaning.reaching_in > 0.1 and leaning.reaching_far == 0
    reaching = watched.see(frame(rng, head_and_arm))
    assert reaching.reaching_far > 0.05


def test_a_shadow_across_the_rim_reaches_in_until_it_has_gone():
    rng, watched = np.random.default_rng(1), Watched()
    for _ in range(5):
        watched.see(frame(rng))

    def shadow(image):
        region = image[150:360, 260:380]
        region[:] = (region * 0.55).astype(np.uint8)

    assert watched.see(frame(rng, shadow)).over_rim
    assert not watched.see(frame(rng)).over_rim


def test_an_exposure_jump_makes_nothing_stand_out():
    rng, watched = np.random.default_rng(2), Watched()
    for _ in range(5):
        watched.see(frame(rng, item))
    for gain in (1.35, 0.7, 1.1):
        seen = watched.see(frame(rng, item, gain=gain))
        assert not seen.over_rim and seen.foreground < 0.01 and seen.moving < 0.01


def test_somebody_who_stood_long_enough_to_be_taken_in_leaves_no_ghost():
    rng, watched = np.random.default_rng(3), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    watched.watch.hold()  # a disposal begins
    for _ in range(40):  # 40 s of a still arm, a frame a second: the background takes it in
        watched.see(frame(rng, arm), step_s=1.0)
    assert not watched.see(frame(rng, arm)).over_rim
    gone = watched.see(frame(rng))
    assert not gone.over_rim and gone.foreground < 0.01


def test_somebody_still_there_when_a_disposal_settles_leaves_no_ghost_when_they_go():
    rng, watched = np.random.default_rng(4), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    watched.watch.hold()
    for _ in range(40):  # taken in: they stand out no longer, and the opening seems clear
        watched.see(frame(rng, arm), step_s=1.0)
    watched.watch.settle(watched.small)  # the disposal settles with them still there
    gone = watched.see(frame(rng))
    assert not gone.over_rim and gone.foreground < 0.01
    for _ in range(3):  # what is laid in the opening afterwards stands out as before
        lying = watched.see(frame(rng, item))
    assert not lying.over_rim and lying.foreground > 0.03


def heap(image, depth=170):
    """Contents tipped in and heaped above the rim: over the opening from its far side, ``depth`` rows of the
    frame (the whole default: most of it), spilling over the far rim."""
    image[70 : 70 + depth, 190:450] = cv2.resize(cv2.imread(str(DATA / "cardboard.jpg")), (260, depth))


def test_something_over_the_rim_that_keeps_still_is_deposited_there_and_no_body():
    rng, watched = np.random.default_rng(4), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    assert watched.see(frame(rng, heap)).over_rim  # it just came: it may be an arm
    for _ in range(round(10 * (STILL_S - 1))):
        seen = watched.see(frame(rng, heap))
    assert seen.over_rim and not seen.deposited.any()
    for _ in range(20):
        seen = watched.see(frame(rng, heap))
    assert not seen.over_rim and seen.reaching_in == 0  # still for STILL_S: heaped, holding nothing open
    assert seen.deposited[watched.watch.rim].any() and seen.deposited[watched.watch.inside].any()
    # Concluded: the heap is the bin's look, and its part beyond the opening is kept as the bin's.
    watched.watch.settle(watched.small)
    assert watched.watch.heaped.any() and not watched.watch.heaped[watched.watch.inside].any()
    assert not watched.see(frame(rng, heap)).standing_out.any()
    # An arm reaching onto the heap is a body again; the emptying forgets the heap.
    assert watched.see(frame(rng, lambda image: (heap(image), arm(image)))).over_rim
    watched.watch.emptied()
    assert not watched.watch.heaped.any()


def test_contents_heaped_over_most_of_the_opening_are_deposited_though_the_background_took_part_of_them_in():
    # Dark sacks heaped over a dark bag (little contrast), over the far rim, where one piece slid on for 6 s:
    # meanwhile the background took the rest in slowly, until it stood out of less than half the opening, and
    # the heap looked like a body beside the bin for as long as it lay there (overflow 35: 30 s, until the
    # disposal was cut, and the next one into the bin with it). Judged by the change since the disposal began,
    # it covers most of the opening.
    photo = cv2.resize(cv2.imread(str(DATA / "cardboard.jpg")), (260, 170)).astype(np.float32)
    sacks = np.clip(np.float32(BAG) + 0.3 * (photo - np.float32(BAG)), 0, 255).astype(np.uint8)

    def heaped(image, k):
        image[70:240, 190:450] = sacks
        x = 250 + 2 * min(k, 60)  # the piece that slides on until 6 s
        image[150:170, x : x + 20] = (200, 200, 220)

    rng, watched = np.random.default_rng(4), Watched()
    for _ in range(5):
        watched.see(frame(rng))
    watched.watch.hold()  # the disposal begins
    for k in range(round(10 * (6 + STILL_S + 3))):
        seen = watched.see(frame(rng, lambda image, k=k: heaped(image, k)))
        if k >= 10 * (6 + STILL_S) + 2:
            assert not seen.over_rim and seen.deposited[watched.watch.rim].any(), k
    assert seen.foreground < 0.4  # it stands out of less than half the opening by now


def low_heap(image):
    """Contents heaped over the far part of the opening, less than half of it, and above its far rim."""
    heap(image, depth=100)


def test_what_kept_still_over_the_rim_until_a_disposal_was_cut_short_holds_the_opening_no_longer():
    # Contents heaped over less than half the opening, part of them beyond the rim, look like a body standing
    # still over a part of the bin: they hold the disposal open until it is cut. Before, they went on holding the
    # opening busy until the background took them in (40-70 s in the overflow scenes), and every disposal in
    # that time was lost without an event.
    rng, watched, seen = kept_over(6, lambda image, _: low_heap(image), STILL_S + 2)
    assert seen.over_rim and not seen.deposited.any()  # still, but it may be somebody standing there
    watched.watch.release(watched.small)  # the disposal is cut short
    seen = watched.see(frame(rng, low_heap))
    assert not seen.over_rim and not seen.standing_out.any()
    assert watched.see(frame(rng, lambda image: (low_heap(image), arm(image)))).over_rim  # the next one reaches in
    for _ in range(3):  # and when it goes (the bin emptied, the person gone), it leaves no ghost
        gone = watched.see(frame(rng))
    assert not gone.over_rim and gone.foreground < 0.01


def test_a_cut_takes_in_nothing_that_moved_within_the_last_seconds():
    def moving(image, k):  # a hand that keeps moving, a few pixels to and fro
        arm(image, hand=(320 + 4 * (k % 3), 180))

    rng, watched, seen = kept_over(7, moving, STILL_S + 2)
    assert seen.over_rim
    watched.watch.release(watched.small)
    last = (320 + 4 * ((round(10 * (STILL_S + 2)) - 1) % 3), 180)
    assert watched.see(frame(rng, lambda image: arm(image, hand=last))).reaching_in > 0.05  # as it was: a body still


def test_an_arm_that_keeps_still_over_part_of_the_opening_is_still_a_body():
    _, _, seen = kept_over(5, lambda image, _: arm(image), STILL_S + 2)
    assert seen.over_rim and not seen.deposited.any()
