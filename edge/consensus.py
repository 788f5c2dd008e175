"""Several crops of one disposal, one verdict.

As NVR software does for its classifiers, a single frame does not decide: the
probabilities of all crops are averaged, and the share of crops whose own top answer
agrees with the average is kept so that a flag can demand a majority, not one lucky frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from binwatch.datasets import taxonomy
from binwatch.events.schema import Prediction, category_key
from binwatch.inference.classifier import Classifier, ItemPrediction, ModelMetadata, summarize


@dataclass(frozen=True)
class Consensus:
    top: ItemPrediction  # of the averaged probabilities
    category_agreement: float  # share of crops whose top category is ``top.category``
    contaminant_probability: float  # averaged mass on the Art. 16(3) kitchen-bin contaminants
    contaminant_agreement: float  # share of crops whose top item is such a contaminant
    frames: int
    abstain_below: float | None = None  # the model's calibrated confidence below which it accuses no one

    def probability_not(self, category: str) -> float:
        return 1.0 - self.top.category_scores[category]

    def prediction(self) -> Prediction:
        return Prediction(
            item=self.top.item,
            item_score=round(self.top.item_score, 4),
            category=category_key(self.top.category),
            category_score=round(self.top.category_score, 4),
            category_scores={category_key(k): round(v, 4) for k, v in self.top.category_scores.items()},
            frames=self.frames,
        )


def classify(classifier: Classifier, crops: Sequence[np.ndarray]) -> Consensus:
    """RGB crops of one item → their consensus (at least one crop)."""
    item_probs, category_probs = classifier.probabilities(classifier.preprocess.batch(list(crops)))
    return combine(item_probs, category_probs, classifier.meta)


def combine(item_probs: np.ndarray, category_probs: np.ndarray, meta: ModelMetadata) -> Consensus:
    top = summarize(item_probs.mean(axis=0), category_probs.mean(axis=0), meta)
    contaminant = np.array([taxonomy.is_kitchen_contaminant(label) for label in meta.labels])
    per_crop_category = category_probs.argmax(axis=1)
    return Consensus(
        top=top,
        category_agreement=float(np.mean(per_crop_category == meta.categories.index(top.category))),
        contaminant_probability=float(item_probs.mean(axis=0)[contaminant].sum()),
        contaminant_agreement=float(np.mean(contaminant[item_probs.argmax(axis=1)])),
        frames=len(item_probs),
        abstain_below=meta.calibration.abstain_below,
    )
