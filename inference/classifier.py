"""Run an exported binwatch ONNX model with onnxruntime: no PyTorch, nothing but the file.

The model file carries its labels, categories, taxonomy version, preprocessing and
version in its metadata (``binwatch.*`` keys); a file without them, or made for a taxonomy
this binwatch does not know, is refused with a clear message. A model's labels are its own
(a model of an older taxonomy has fewer items) and map to categories through the taxonomy.
Its calibration (``binwatch.calibration``, optional) is applied to every probability it returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from binwatch.datasets import taxonomy
from binwatch.datasets.preprocess import Preprocess
from binwatch.inference.calibration import Calibration, tempered

META_PREFIX = "binwatch."
RELEASE_DIR = Path(__file__).resolve().parent.parent / "model" / "release"


class ModelFileError(ValueError):
    """The file is not a usable binwatch model."""


@dataclass(frozen=True)
class ModelMetadata:
    labels: list[str]
    categories: list[str]
    taxonomy_version: str
    preprocess: Preprocess
    version: str
    precision: str = "fp32"
    metrics: dict = field(default_factory=dict)
    calibration: Calibration = Calibration()

    @property
    def to_category(self) -> np.ndarray:
        return taxonomy.category_matrix(self.labels, self.categories)

    def calibrated(self, item_probs: np.ndarray, category_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The graph's outputs → calibrated (item, category) probabilities (as they are at T = 1)."""
        if self.calibration.temperature == 1.0:
            return item_probs, category_probs
        return tempered(item_probs, self.to_category, self.calibration.temperature)

    def to_props(self) -> dict[str, str]:
        """As ONNX ``metadata_props`` (string → string)."""
        values = {
            "labels": json.dumps(self.labels),
            "categories": json.dumps(self.categories),
            "taxonomy_version": self.taxonomy_version,
            "preprocess": json.dumps(self.preprocess.to_dict()),
            "version": self.version,
            "precision": self.precision,
            "metrics": json.dumps(self.metrics),
            "calibration": json.dumps(self.calibration.to_dict()),
        }
        return {META_PREFIX + k: v for k, v in values.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], name: str) -> ModelMetadata:
        try:
            meta = cls(
                labels=json.loads(props[META_PREFIX + "labels"]),
                categories=json.loads(props[META_PREFIX + "categories"]),
                taxonomy_version=props[META_PREFIX + "taxonomy_version"],
                preprocess=Preprocess.from_dict(json.loads(props[META_PREFIX + "preprocess"])),
                version=props[META_PREFIX + "version"],
                precision=props.get(META_PREFIX + "precision", "fp32"),
                metrics=json.loads(props.get(META_PREFIX + "metrics", "{}")),
                calibration=Calibration.from_dict(json.loads(props.get(META_PREFIX + "calibration", "{}"))),
            )
        except KeyError as exc:
            raise ModelFileError(f"{name}: not a binwatch model (metadata {exc.args[0]!r} missing)") from None
        except (ValueError, TypeError) as exc:
            raise ModelFileError(f"{name}: malformed binwatch metadata ({exc})") from None
        taxonomy.check_version(meta.taxonomy_version, f"model {name}", meta.labels)
        return meta


@dataclass(frozen=True)
class ItemPrediction:
    item: str
    item_score: float
    category: str
    category_score: float
    category_scores: dict[str, float]
    item_probs: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "category": self.category,
            "category_score": round(self.category_score, 4),
            "item": self.item,
            "item_score": round(self.item_score, 4),
            "category_scores": {k: round(v, 4) for k, v in self.category_scores.items()},
        }


def summarize(item_probs: np.ndarray, category_probs: np.ndarray, meta: ModelMetadata) -> ItemPrediction:
    """One probability row pair → the top item and the top category (which may disagree:
    three 'other' items at 0.3 each outweigh one 'recyclable' item at 0.4)."""
    i, c = int(item_probs.argmax()), int(category_probs.argmax())
    return ItemPrediction(
        item=meta.labels[i],
        item_score=float(item_probs[i]),
        category=meta.categories[c],
        category_score=float(category_probs[c]),
        category_scores={name: float(p) for name, p in zip(meta.categories, category_probs, strict=True)},
        item_probs=item_probs,
    )


OUTPUTS = 2  # item probabilities, category probabilities


def _fits(shape: list, wanted: list[int | None]) -> bool:
    """Whether a graph's tensor shape can be ``wanted`` (None: any size); named dimensions are free."""
    return len(shape) == len(wanted) and all(
        w is None or not isinstance(d, int) or d == w for d, w in zip(shape, wanted, strict=True)
    )


class Classifier:
    """An ONNX item/category classifier. ``threads=0`` lets onnxruntime choose."""

    def __init__(self, path: str | Path, threads: int = 0):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: no such model file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelFileError(f"{self.path}: onnxruntime cannot load it ({exc})") from exc
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = ModelMetadata.from_props(props, str(self.path))
        self._check_graph()
        self.input_name = self.session.get_inputs()[0].name

    def _check_graph(self) -> None:
        """The graph's input and outputs against its metadata: a mismatch is refused on loading, not met
        as an onnxruntime error at the first prediction, or as wrong labels when there are more of them."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        size = self.meta.preprocess.size
        if len(inputs) != 1 or inputs[0].type != "tensor(float)" or not _fits(inputs[0].shape, [None, 3, size, size]):
            shown = [f"{i.type} {i.shape}" for i in inputs]
            raise ModelFileError(f"{self.path}: its input is {shown}, but its metadata says images of 3×{size}×{size}")
        if len(outputs) != OUTPUTS:
            raise ModelFileError(
                f"{self.path}: it has {len(outputs)} outputs, not {OUTPUTS} (item and category probabilities)"
            )
        named = (len(self.meta.labels), len(self.meta.categories))
        if not all(_fits(o.shape, [None, n]) for o, n in zip(outputs, named, strict=True)):
            raise ModelFileError(
                f"{self.path}: it gives outputs of shapes {[o.shape for o in outputs]}, but its metadata names "
                f"{named[0]} items and {named[1]} categories"
            )

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def preprocess(self) -> Preprocess:
        return self.meta.preprocess

    def probabilities(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed N×3×S×S float32 → calibrated (item probabilities, category probabilities)."""
        item_probs, category_probs = self.session.run(None, {self.input_name: batch})
        return self.meta.calibrated(item_probs, category_probs)

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 32) -> list[ItemPrediction]:
        """RGB uint8 images of any size → one prediction each."""
        out: list[ItemPrediction] = []
        for start in range(0, len(images), batch_size):
            batch = self.preprocess.batch(list(images[start : start + batch_size]))
            items, categories = self.probabilities(batch)
            out.extend(summarize(i, c, self.meta) for i, c in zip(items, categories, strict=True))
        return out


def default_model_path() -> Path:
    """The shipped INT8 release model."""
    candidates = sorted(RELEASE_DIR.glob("*-int8.onnx"))
    if not candidates:
        raise ModelFileError(f"no release model in {RELEASE_DIR}; pass --model")
    return candidates[-1]
