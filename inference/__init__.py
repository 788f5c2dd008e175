"""Running an exported model without PyTorch: metadata, preprocessing, prediction, evaluation."""
