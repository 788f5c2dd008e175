"""How bright the camera's picture is right now, and how noisy, so that no threshold is fixed in
grey levels of one exposure or one time of day.

Auto-exposure moves the whole picture at once (a jump of 30 % in a frame or two), evening
light darkens it and raises the noise. ``Exposure`` estimates, per frame, the gain of the
picture: its median grey level at the first frame, over ``MID_GREY``, times its change since,
measured against a slowly updated reference of the same small grey frame (the median ratio over
pixels that are neither clipped nor too dark to measure: a person in the picture moves fewer
than half of them). Dividing by the gain "normalises" a frame to a picture whose median is mid
grey, whatever the light: every threshold downstream is a contrast in those units. The noise is
the median absolute difference between two consecutive normalised frames; a dark picture,
brightened, is noisier, and the thresholds rise with it.
"""

from __future__ import annotations

import cv2
import numpy as np

STRIDE = 2  # every other row and column of the small frame is enough for a median
DARK, BRIGHT = 12, 245  # grey levels outside which a ratio says nothing about the gain
REFERENCE_RATE = 0.02  # per frame: the reference follows slow change of the scene itself
NOISE_RATE = 0.05  # per frame: smoothing of the noise estimate
NOISE_FLOOR = 0.5  # grey levels: H.264 repeats still blocks exactly, which would read as no noise
MID_GREY = 128.0
LEAST_GAIN = 0.05  # a nearly black picture is not brightened without limit
MAD_TO_SIGMA = 1.4826


class Exposure:
    """Gain and noise of each frame, from its small grey copy."""

    def __init__(self) -> None:
        self._reference: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self._anchor = 1.0  # the first frame's median over mid grey
        self._measured = 0  # frame pairs the noise was measured on
        self.gain = 1.0
        self.noise = NOISE_FLOOR  # standard deviation of one pixel of a normalised small frame

    def update(self, grey: np.ndarray) -> float:
        """Measure this frame (the small grey frame, uint8); returns its gain."""
        sample = grey[::STRIDE, ::STRIDE].astype(np.float32)
        if self._reference is None or self._reference.shape != sample.shape:
            self._anchor = max(LEAST_GAIN, float(np.median(sample)) / MID_GREY)
            self._reference, self._previous, self.gain = sample / self._anchor, None, self._anchor
            return self.gain
        expected = self._reference * self.gain
        usable = (sample > DARK) & (sample < BRIGHT) & (expected > DARK) & (expected < BRIGHT)
        if np.count_nonzero(usable) > 0.1 * usable.size:
            self.gain = max(LEAST_GAIN, float(np.median(sample[usable] / self._reference[usable])))
        normalised = sample / self.gain
        if self._previous is not None:
            # Two consecutive frames differ by noise alone where nothing moves: the median sees those.
            spread = max(NOISE_FLOOR, float(np.median(np.abs(normalised - self._previous))) * MAD_TO_SIGMA / np.sqrt(2))
            self.noise = spread if self._measured == 0 else self.noise + NOISE_RATE * (spread - self.noise)
            self._measured += 1
        steady = np.abs(normalised - self._reference) < 4 * max(self.noise, 2.0)
        self._reference += REFERENCE_RATE * steady * (normalised - self._reference)
        self._previous = normalised
        return self.gain

    def reset(self) -> None:
        """After a gap in the stream the previous frame says nothing about noise."""
        self._previous = None


CLIPPED = 250  # a sensor value this high may stand for anything brighter


def exposure_stepped(new_gain: float, old_gain: float, threshold: float) -> bool:
    """Whether the exposure changed so much between two frames that a pixel whose sensor value did not
    follow it (clipped, crushed to black, an edge the coder drew anew) moves by more than ``threshold``
    in the normalised picture: at most its full scale times the step. Motion then may be the light's."""
    return 255.0 * abs(1.0 / new_gain - 1.0 / old_gain) > threshold


def difference(
    new: np.ndarray, new_gain: float | np.ndarray, old: np.ndarray, old_gain: float | np.ndarray
) -> np.ndarray:
    """|new − old| in normalised units (float32, per channel), where a clipped value counts only as
    the lower bound it is: a pixel clipped in both frames has not changed, and one clipped in one
    frame has changed only by as much as the other frame is darker than its bound. Raising the
    exposure clips highlights; that is no change of the scene."""
    delta = signed_difference(new, new_gain, old, old_gain)  # a new array: made absolute in place
    return np.abs(delta, out=delta)


def signed_difference(
    new: np.ndarray, new_gain: float | np.ndarray, old: np.ndarray, old_gain: float | np.ndarray
) -> np.ndarray:
    """new − old in normalised units (float32, per channel), clipped values counting as ``difference`` says."""
    # float32 in, float32 out: ``copy=False`` spares the copies of arrays that are float32 already.
    a = (new.astype(np.float32, copy=False) / np.asarray(new_gain, np.float32)).astype(np.float32, copy=False)
    b = (old.astype(np.float32, copy=False) / np.asarray(old_gain, np.float32)).astype(np.float32, copy=False)
    delta = cv2.subtract(a, b)
    new_clipped, old_clipped = new >= CLIPPED, old >= CLIPPED
    if new_clipped.any() or old_clipped.any():
        delta = np.where(new_clipped & ~old_clipped, np.maximum(delta, 0), delta)
        delta = np.where(old_clipped & ~new_clipped, np.minimum(delta, 0), delta)
        delta = np.where(new_clipped & old_clipped, 0, delta).astype(np.float32)
    return delta


# BGR to brightness and the two colour differences (ITU-R BT.601, as H.264 codes them).
_LUMA_CHROMA = np.array(
    [[0.114, 0.587, 0.299], [0.5, -0.331, -0.169], [-0.081, -0.419, 0.5]],
    np.float32,
)


def brightness_and_colour(change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A signed BGR change split as a video coder splits it: |Δ brightness| (luma) and the larger
    |Δ colour difference| (Cb or Cr), each float32. A coder codes colour at a quarter of the
    pixels (4:2:0) and redraws each with an error of its own, so each is judged by its own noise."""
    ycc = cv2.transform(change, _LUMA_CHROMA)
    return np.abs(ycc[..., 0]), np.maximum(np.abs(ycc[..., 1]), np.abs(ycc[..., 2]))


def channel_max(image: np.ndarray) -> np.ndarray:
    """The largest of the three channels per pixel; as ``image.max(axis=2)``, twenty times faster
    (numpy reduces over the last axis of a small array one pixel at a time)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


COLOURED = 4.0  # colour difference from the picture's own tint (its median) that a coloured thing shows
COLOURED_SHARE = 0.005  # of the picture: a dim green bin in a corner at night is 1 %, an infrared picture 0
COLOUR_WIDTH = 64  # pixels across: the picture's colour, not its noise


def in_colour(frame: np.ndarray) -> bool:
    """Whether the camera sees colour. At night many cameras switch to infrared and send a grey picture
    (an encoder may tint it evenly); the model learnt categories from colour photos (a green peel, a red
    battery), and on grey ones it reads them wrongly with confidence. A colour picture shows some coloured
    thing, however dim or small: the bins are coloured by category. Counting the pixels that differ in colour
    from the picture's tint, not their mean, keeps a mostly grey scene with one dim bin in colour."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        return False
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (COLOUR_WIDTH, max(1, round(COLOUR_WIDTH * h / w))), interpolation=cv2.INTER_AREA)
    chroma = cv2.transform(small.astype(np.float32), _LUMA_CHROMA)[..., 1:].reshape(-1, 2)
    off_tint = np.abs(chroma - np.median(chroma, axis=0)).sum(axis=1)
    return float(np.mean(off_tint > COLOURED)) >= COLOURED_SHARE
