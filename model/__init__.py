"""The network (timm EfficientNet-Lite0), its pretrained weights and the checkpoint format."""
