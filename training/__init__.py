"""Training loop, augmentation, ONNX export and INT8 quantisation."""
