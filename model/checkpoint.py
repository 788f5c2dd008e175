"""The checkpoint format: weights plus everything needed to use them without guessing.

A checkpoint carries its labels, the taxonomy version, the preprocessing, the validation
metrics and, once fitted, its calibration (temperature and abstain threshold, see
``inference/calibration.py``); ``last.pt`` also carries the optimiser state for ``--resume``.
Checkpoints written before a field existed load with its default. ``load`` checks the info and
that the weights fit the network it names, so that no user of a checkpoint meets a damaged one.
"""

from __future__ import annotations

import pickle
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import torch

from binwatch.datasets import taxonomy
from binwatch.datasets.preprocess import Preprocess
from binwatch.model.network import ARCH, ItemAndCategory, create_model

FORMAT = "binwatch-checkpoint/1"


@dataclass
class ModelInfo:
    labels: list[str]
    preprocess: Preprocess
    version: str
    arch: str = ARCH
    taxonomy_version: str = taxonomy.TAXONOMY_VERSION
    categories: list[str] = field(default_factory=lambda: list(taxonomy.CATEGORY_KEYS))
    metrics: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    freeze_blocks: int = 0  # how it was trained: a teacher's stored features are cut at the same block

    def to_dict(self) -> dict:
        return {
            "labels": self.labels,
            "preprocess": self.preprocess.to_dict(),
            "version": self.version,
            "arch": self.arch,
            "taxonomy_version": self.taxonomy_version,
            "categories": self.categories,
            "metrics": self.metrics,
            "calibration": self.calibration,
            "freeze_blocks": self.freeze_blocks,
        }

    @classmethod
    def from_dict(cls, data: object) -> ModelInfo:
        """The info as stored; a ValueError says which field is missing, unknown or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"its info is a {type(data).__name__}, not a mapping")
        hints = typing.get_type_hints(cls) | {"preprocess": dict}  # stored as its dict
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"its info lacks {', '.join(missing)}")
        unknown = sorted(str(name) for name in data if name not in hints)
        if unknown:
            raise ValueError(f"its info has unknown field(s) {', '.join(unknown)}")
        for name, value in data.items():
            kind, of = typing.get_origin(hints[name]) or hints[name], typing.get_args(hints[name])
            if not isinstance(value, kind) or of and not all(isinstance(v, of[0]) for v in value):
                what = kind.__name__ + (f" of {of[0].__name__}" if of else "")
                raise ValueError(f"its info's {name} is {value!r:.60}, not a {what}")
        try:
            preprocess = Preprocess.from_dict(data["preprocess"])
        except KeyError as exc:
            raise ValueError(f"its preprocess lacks {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"its preprocess is not valid: {exc}") from None
        return cls(**{**data, "preprocess": preprocess})


def save(path: Path, state_dict: dict, info: ModelInfo, train_state: dict | None = None) -> None:
    """Write atomically, so a kill mid-save leaves the previous checkpoint intact."""
    payload = {"format": FORMAT, "info": info.to_dict(), "state_dict": state_dict}
    if train_state is not None:
        payload["train_state"] = train_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load(path: str | Path) -> dict:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:  # what torch raises for damaged files
        raise ValueError(f"{path}: not a readable checkpoint, truncated or corrupt ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a binwatch checkpoint")
    try:
        info = ModelInfo.from_dict(payload.get("info"))
        if sorted(info.categories) != sorted(taxonomy.CATEGORY_KEYS):
            raise ValueError(f"its categories {info.categories} are not {', '.join(taxonomy.CATEGORY_KEYS)}")
        check_weights(payload.get("state_dict"), info)
    except ValueError as exc:
        raise ValueError(f"{path}: not a binwatch checkpoint: {exc}") from None
    taxonomy.check_version(info.taxonomy_version, f"checkpoint {path}", info.labels)
    return payload


def check_weights(state_dict: object, info: ModelInfo) -> None:
    """Refuse weights that do not fit the network ``info`` names, in one line where
    ``load_state_dict`` would list every tensor (the network is built on the meta device: no memory)."""
    if state_dict is None:
        raise ValueError("it has no state_dict")
    if not isinstance(state_dict, dict):
        raise ValueError(f"its state_dict is a {type(state_dict).__name__}, not a mapping of tensors")
    with torch.device("meta"):
        expected = create_model(len(info.labels), pretrained=False, arch=info.arch).state_dict()
    problems = {
        "missing": [k for k in expected if k not in state_dict],
        "unexpected": [str(k) for k in state_dict if k not in expected],
        "of the wrong shape": [
            k
            for k in expected
            if k in state_dict
            and (not isinstance(state_dict[k], torch.Tensor) or state_dict[k].shape != expected[k].shape)
        ],
    }
    found = [
        f"{len(keys)} {what} ({keys[0]}{', …' if len(keys) > 1 else ''})" for what, keys in problems.items() if keys
    ]
    if found:
        raise ValueError(
            f"its weights do not fit a {info.arch} with {len(info.labels)} labels: tensors {'; '.join(found)}"
        )


def build(payload: dict) -> tuple[ItemAndCategory, ModelInfo]:
    """The eval-mode network with item and category outputs, and its info."""
    info = ModelInfo.from_dict(payload["info"])
    net = create_model(len(info.labels), pretrained=False, arch=info.arch)
    net.load_state_dict(payload["state_dict"])
    model = ItemAndCategory(net, info.labels, info.categories).eval()
    return model, info
