"""Scores a supervisor can trust: temperature scaling and the confidence below which the edge abstains.

A network trained with label smoothing on one set of photos is not calibrated on another: its
0.8 is not right 80 % of the time on a new camera. One temperature ``T`` (item logits divided by
``T``), fitted on sources the model never trained on, fixes most of that without changing any
prediction. The graph outputs probabilities, so ``tempered`` divides their logarithms (the logits
up to a constant) and renormalises, the items' and the categories' each. The categories are not
summed again from softened items: that would change the top category, for softened items of a
category with many items (recyclable has 11) outweigh one confident item of a category with few
(hazardous has 5). Done that way, a temperature fitted on the other held-out sources took the
leave-one-source-out mean from 0.340 to 0.221 and loose pills from hazardous to recyclable.

The abstain threshold is the lowest calibrated category confidence at which the predictions a
model acts on are still right ``precision`` of the time; below it the edge accuses no one and
asks a supervisor (``edge/flags.py``). When no confidence gives that precision on held-out sources,
the threshold is 1.0 and the model abstains always: a fitted model that cannot be trusted accuses no
one. Both travel in the model's metadata (``binwatch.calibration``); a model without them keeps its
raw scores and never abstains.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from binwatch.inference.metrics import negative_log_likelihood

MIN_COVERED = 20  # a precision measured on fewer predictions than this is not a basis for a threshold


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    abstain_below: float | None = None  # calibrated top-category probability; None: never, 1.0: always abstain
    precision: float | None = None  # the precision the threshold was chosen for
    fitted_on: str = ""  # what it was fitted on: held-out sources and image count

    def __post_init__(self):
        if not _is_number(self.temperature):
            raise ValueError(f"temperature {self.temperature!r} is not a number")
        if not 0.05 <= self.temperature <= 20:
            raise ValueError(f"temperature {self.temperature} out of range (0.05 to 20)")
        for name in ("abstain_below", "precision"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} {value!r} is not a probability")
        if not isinstance(self.fitted_on, str):
            raise ValueError(f"fitted_on {self.fitted_on!r} is not text")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Calibration:
        """As stored (None: no calibration); a ValueError says which field is wrong."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"expected an object with {', '.join(FIELDS)}, not a {type(data).__name__}")
        unknown = set(data) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown calibration field(s) {', '.join(sorted(map(str, unknown)))}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> Calibration:
        """A calibration JSON (``binwatch loso`` writes one); a malformed one is a ValueError naming the file."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except ValueError as exc:  # JSON and Unicode errors are ValueErrors too
            raise ValueError(f"{path}: not a calibration: {exc}") from None


FIELDS = [f.name for f in fields(Calibration)]


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def tempered(item_probs: np.ndarray, to_category: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Item probabilities and their category sums, each softened (T > 1) or sharpened (T < 1):
    the top item and the top category stay what they were."""
    category_probs = item_probs @ to_category
    if temperature == 1.0:
        return item_probs, category_probs
    return _scaled(item_probs, temperature), _scaled(category_probs, temperature)


def _scaled(probs: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def fit_temperature(item_probs: np.ndarray, y_category: np.ndarray, to_category: np.ndarray) -> float:
    """The temperature that minimises the category NLL (what the flags act on): a golden-section
    search over log T in [1/8, 8], which the NLL is unimodal in."""
    if len(y_category) == 0:
        raise ValueError("no predictions to fit a temperature on")

    def nll(log_t: float) -> float:
        return negative_log_likelihood(tempered(item_probs, to_category, float(np.exp(log_t)))[1], y_category)

    lo, hi = np.log(1 / 8), np.log(8.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def coverage_curve(category_probs: np.ndarray, y_category: np.ndarray, points: int = 21) -> list[dict]:
    """Precision (category accuracy of the predictions acted on) and coverage (their share) for
    confidence thresholds from 0 to the most confident prediction: the trade-off a threshold picks from."""
    confidence = category_probs.max(axis=1)
    correct = category_probs.argmax(axis=1) == y_category
    rows = []
    for threshold in np.unique(np.round(np.linspace(0.0, 1.0, points), 4)):
        acted = confidence >= threshold
        rows.append(
            {
                "threshold": float(threshold),
                "coverage": float(acted.mean()) if len(acted) else 0.0,
                "precision": float(correct[acted].mean()) if acted.any() else float("nan"),
                "images": int(acted.sum()),
            }
        )
    return rows


def abstains(confidence, abstain_below: float | None):
    """Whether a prediction of this calibrated ``confidence`` (a number or an array) is left to a
    supervisor: below the threshold, and at any confidence when the threshold is 1.0."""
    confidence = np.asarray(confidence)
    if abstain_below is None:
        return np.zeros(confidence.shape, bool)
    return (confidence < abstain_below) | (abstain_below >= 1.0)


def rule_text(abstain_below: float | None) -> str:
    """The abstain rule in words, for tables and logs."""
    if abstain_below is None:
        return "never abstains"
    if abstain_below >= 1.0:
        return "abstains always (no confidence reaches the precision)"
    return f"abstains below {abstain_below:.3f}"


def abstain_threshold(category_probs: np.ndarray, y_category: np.ndarray, precision: float) -> float:
    """The lowest confidence such that the predictions at or above it are right at least
    ``precision`` of the time (the most coverage for that precision); 1.0, abstain always, when
    even the most confident ``MIN_COVERED`` predictions miss it."""
    confidence = category_probs.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    correct = (category_probs.argmax(axis=1) == y_category)[order]
    running = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    ok = np.flatnonzero((running >= precision) & (np.arange(1, len(correct) + 1) >= MIN_COVERED))
    if len(ok) == 0:
        return 1.0
    k = int(ok.max())
    if k == len(order) - 1:
        return 0.0  # everything meets the precision: never abstain
    return float(confidence[order][k])


def fit(
    item_probs: np.ndarray, y_category: np.ndarray, to_category: np.ndarray, precision: float, fitted_on: str
) -> tuple[Calibration, dict]:
    """Temperature and abstain threshold from held-out predictions, and what they did there."""
    from binwatch.inference.metrics import expected_calibration_error

    temperature = fit_temperature(item_probs, y_category, to_category)
    raw = item_probs @ to_category
    _, calibrated = tempered(item_probs, to_category, temperature)
    threshold = abstain_threshold(calibrated, y_category, precision)
    calibration = Calibration(round(temperature, 4), threshold, precision, fitted_on)
    confident = ~abstains(calibrated.max(axis=1), threshold)
    correct = calibrated.argmax(axis=1) == y_category
    summary = {
        "images": len(y_category),
        "ece_before": expected_calibration_error(raw, y_category),
        "ece_after": expected_calibration_error(calibrated, y_category),
        "coverage": float(confident.mean()),
        "precision": float(correct[confident].mean()) if confident.any() else None,
    }
    return calibration, summary
